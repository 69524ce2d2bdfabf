import pytest

from identity.models import Team


@pytest.mark.django_db
def test_team_members_see_their_team_and_not_others(team_with_members, token_client):
    client = token_client(team_with_members["developer"])
    response = client.get("/api/v1/teams/")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["results"]] == ["payments"]
    assert client.get("/api/v1/teams/search/").status_code == 404
    assert Team.objects.count() == 2
