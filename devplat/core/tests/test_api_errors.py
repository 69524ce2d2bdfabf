"""The API base: RFC 9457 problem documents for every error, cursor pagination, request ids, query budgets."""

from __future__ import annotations

import json
import secrets
from http import HTTPStatus
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from devplat import urls as devplat_urls
from devplat.core.api.throttling import TokenRateThrottle
from identity import services
from identity.models import ApiToken
from identity.tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with the members every devplat error carries."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["type"].startswith("https://devplat.dev/problems/")
    assert body["type"] == "https://devplat.dev/problems/" + body["code"].replace("_", "-")
    if code is not None:
        assert body["code"] == code
    return body


@pytest.fixture
def admin_client(platform_admin, token_client) -> APIClient:
    return token_client(platform_admin, scope="admin")


# --- one error shape ------------------------------------------------------------------------------------------------


def test_400_for_a_body_that_is_not_json(admin_client):
    response = admin_client.post("/api/v1/teams/", data='{"name": ', content_type="application/json")
    body = assert_problem(response, 400, "parse_error")
    assert "JSON" in body["detail"]
    assert body["instance"] == "/api/v1/teams/"


def test_400_for_invalid_fields_lists_each_field(admin_client):
    response = admin_client.post("/api/v1/teams/", {"name": "Not A Label", "display_name": "x" * 101}, format="json")
    body = assert_problem(response, 400, "invalid")
    assert set(body["errors"]) == {"name", "display_name"}
    assert body["detail"].startswith("The request is invalid: ")
    assert "name:" in body["detail"]


def test_400_from_django_under_api_is_a_problem_too(admin_client):
    """A request Django itself refuses (here: a Host not in ALLOWED_HOSTS) still gets the API's error shape."""
    response = admin_client.get("/api/v1/teams/", HTTP_HOST="evil.example")
    assert_problem(response, 400)


def test_401_without_credentials():
    response = APIClient().get("/api/v1/teams/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="devplat"'


def test_403_for_what_the_caller_may_not_do(token_client):
    response = token_client(UserFactory(), scope="admin").post("/api/v1/teams/", {"name": "x"}, format="json")
    body = assert_problem(response, 403, "permission_denied")
    assert "platform admins" in body["detail"]


def test_404_for_an_unknown_object(admin_client):
    body = assert_problem(admin_client.get("/api/v1/teams/no-such-team/"), 404, "not_found")
    assert body["instance"] == "/api/v1/teams/no-such-team/"


@pytest.mark.parametrize("path", ["/api/v1/no-such-route/", "/api/v2/", "/api/v1/teams/UPPER/", "/api/nothing"])
def test_404_for_an_unknown_route_under_api_is_djangos_404_as_a_problem(admin_client, path):
    body = assert_problem(admin_client.get(path), 404)
    assert "/api/docs/" in body["detail"]


def test_404_outside_the_api_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("method", "path"), [("put", "/api/v1/teams/x/"), ("delete", "/api/v1/me/")])
def test_405_for_a_method_the_route_does_not_serve(admin_client, method, path):
    response = getattr(admin_client, method)(path, {}, format="json")
    body = assert_problem(response, 405, "method_not_allowed")
    assert method.upper() in body["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_413_for_a_json_body_over_the_limit(admin_client):
    response = admin_client.post("/api/v1/teams/", {"name": "big", "description": "x" * 4096}, format="json")
    body = assert_problem(response, 413, "payload_too_large")
    assert "smaller" in body["detail"]
    assert not services.Team.objects.filter(name="big").exists()
    # ...and a body under the limit is fine
    assert admin_client.post("/api/v1/teams/", {"name": "small"}, format="json").status_code == 201


def test_415_for_a_body_that_is_not_json(admin_client):
    response = admin_client.post("/api/v1/teams/", data="name=x", content_type="text/plain")
    body = assert_problem(response, 415, "unsupported_media_type")
    assert "text/plain" in body["detail"]


def test_429_with_retry_after_once_a_token_spends_its_rate(monkeypatch, token_client):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {**TokenRateThrottle.THROTTLE_RATES, "read": "3/min"})
    user = UserFactory()
    first, second = token_client(user), token_client(user)
    for _ in range(3):
        assert first.get("/api/v1/me/").status_code == 200
    response = first.get("/api/v1/me/")
    body = assert_problem(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["retry_after"] >= int(response["Retry-After"])
    # The limit is per token: the same user's other token still has its own allowance.
    assert second.get("/api/v1/me/").status_code == 200


def test_500_under_api_is_a_problem_and_html_elsewhere():
    factory = RequestFactory()
    response = devplat_urls.handler500(factory.get("/api/v1/teams/"))
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == 500
    assert body["title"] == "Internal Server Error"
    assert body["type"] == "https://devplat.dev/problems/internal-server-error"
    assert body["detail"]
    assert body["instance"] == "/api/v1/teams/"
    html = devplat_urls.handler500(factory.get("/admin/"))
    assert html.status_code == 500
    assert html["Content-Type"].startswith("text/html")


def test_the_url_conf_routes_errors_to_the_problem_handlers():
    assert devplat_urls.handler404.__module__ == "devplat.urls"
    assert devplat_urls.handler500.__module__ == "devplat.urls"
    assert devplat_urls.handler400.__module__ == "devplat.urls"


# --- pagination ------------------------------------------------------------------------------------------------------


def bulk_tokens(owner, count: int) -> list[int]:
    """`count` token rows straight into the table (their secrets are never used), returning their ids."""
    rows = ApiToken.objects.bulk_create(
        ApiToken(key_id=secrets.token_hex(8), pepper_id=1, digest=secrets.token_hex(32), owner=owner)
        for _ in range(count)
    )
    return sorted(row.pk for row in rows)


def test_lists_are_cursor_paginated_in_id_order_without_gaps_or_repeats(token_client):
    user = UserFactory()
    client = token_client(user)
    expected = sorted([*bulk_tokens(user, 20), client.token.pk])
    seen, url, pages = [], "/api/v1/tokens/?page_size=7", 0
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}  # a cursor page: no count, no page numbers
        assert len(body["results"]) <= 7
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        assert url is None or "cursor=" in url
    assert seen == expected
    assert pages == 3


def test_the_default_page_size(token_client):
    user = UserFactory()
    client = token_client(user)
    bulk_tokens(user, 60)
    body = client.get("/api/v1/tokens/").json()
    assert len(body["results"]) == settings.REST_FRAMEWORK["PAGE_SIZE"]
    assert body["next"]


def test_page_size_is_capped_at_the_maximum(token_client):
    user = UserFactory()
    client = token_client(user)
    bulk_tokens(user, settings.DEVPLAT_MAX_PAGE_SIZE)  # one more than the maximum, with the client's token
    body = client.get("/api/v1/tokens/?page_size=1000000").json()
    assert len(body["results"]) == settings.DEVPLAT_MAX_PAGE_SIZE
    assert body["next"]
    assert len(client.get(body["next"]).json()["results"]) == 1


# --- request ids -----------------------------------------------------------------------------------------------------


def test_x_request_id_is_echoed(token_client):
    client = token_client(UserFactory())
    assert client.get("/api/v1/me/", HTTP_X_REQUEST_ID="agent-run-42.step_3")["X-Request-ID"] == "agent-run-42.step_3"
    assert client.get("/api/v1/no-such-route/", HTTP_X_REQUEST_ID="r-404")["X-Request-ID"] == "r-404"
    assert APIClient().get("/api/v1/me/", HTTP_X_REQUEST_ID="r-401")["X-Request-ID"] == "r-401"


def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(token_client):
    client = token_client(UserFactory())
    generated = {client.get("/api/v1/me/")["X-Request-ID"] for _ in range(2)}
    assert len(generated) == 2
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in generated)
    for unsafe in ("a b", "x" * 65, "<script>", "id\r\nSet-Cookie: x=1"[:20]):
        echoed = client.get("/api/v1/me/", HTTP_X_REQUEST_ID=unsafe)["X-Request-ID"]
        assert echoed != unsafe
        assert len(echoed) == 32


# --- query budgets on hot list endpoints -----------------------------------------------------------------------------


def populate_teams(count: int, member) -> None:
    """`count` teams, each with the member, two more people and a namespace."""
    start = services.Team.objects.count()
    for i in range(start, start + count):
        team = TeamFactory(name=f"team-{i:03d}")
        MembershipFactory(team=team, user=member, role="admin" if i % 2 else "viewer")
        MembershipFactory(team=team, user=UserFactory(username=f"dev-{i}"), role="developer")
        MembershipFactory(team=team, user=UserFactory(username=f"view-{i}"), role="viewer")
        services.namespace_assign(team=team, namespace=f"ns-{i:03d}")


def count_queries(client: APIClient, url: str) -> tuple[int, Any]:
    client.get(url)  # warm up: the token's last-used time is written on first use only
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


TEAM_LIST_BUDGET = 7  # token, 2 for global permissions, teams, members, their users, namespaces


@pytest.mark.parametrize("as_platform_admin", [True, False], ids=["platform-admin", "member"])
def test_team_list_costs_the_same_queries_for_2_teams_as_for_20(
    token_client, django_assert_max_num_queries, as_platform_admin
):
    caller = UserFactory(username="caller", platform_admin=as_platform_admin)
    client = token_client(caller)
    populate_teams(2, caller)
    few, body = count_queries(client, "/api/v1/teams/")
    assert len(body["results"]) == 2
    populate_teams(18, caller)
    many, body = count_queries(client, "/api/v1/teams/")
    assert len(body["results"]) == 20
    assert all(len(team["members"]) == 3 and len(team["namespaces"]) == 1 for team in body["results"])
    assert many == few
    with django_assert_max_num_queries(TEAM_LIST_BUDGET):
        client.get("/api/v1/teams/")


def test_token_list_and_me_cost_a_fixed_number_of_queries(token_client, django_assert_max_num_queries):
    user = UserFactory()
    client = token_client(user)
    populate_teams(3, user)
    few, _ = count_queries(client, "/api/v1/tokens/")
    bulk_tokens(user, 30)
    many, body = count_queries(client, "/api/v1/tokens/")
    assert len(body["results"]) == 31
    assert many == few
    me_few, _ = count_queries(client, "/api/v1/me/")
    populate_teams(10, user)
    me_many, body = count_queries(client, "/api/v1/me/")
    assert len(body["teams"]) == 13
    assert me_many == me_few
    with django_assert_max_num_queries(4):  # token, 2 for global permissions, tokens
        client.get("/api/v1/tokens/")
    with django_assert_max_num_queries(2):  # token, memberships with their teams
        client.get("/api/v1/me/")
