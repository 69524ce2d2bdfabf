"""The identity API: /me, teams, tokens. Object-level (R12) and property-level (R13) authorization, token auth (R11)."""

from __future__ import annotations

import datetime
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers as drf_serializers
from rest_framework.test import APIClient

from governance.models import AuditEvent
from identity import services, tokens
from identity.api import serializers as identity_serializers
from identity.api.urls import urlpatterns as identity_urlpatterns
from identity.models import ApiToken, Membership, NamespaceOwnership, Team
from identity.tests.factories import ApiTokenFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_FORMAT = re.compile(r"^dp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
PROBLEM = "application/problem+json"


def bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    return body


# --- the permission matrix (R12) -------------------------------------------------------------------------------------

ROLES = ("platform_admin", "team_admin", "developer", "viewer", "outsider", "anonymous")


@dataclass
class World:
    """Two teams: `payments` (an admin, a developer, a viewer, an extra developer, a bot with a token) and `search`
    (the outsider, a bot with a token); a platform admin who belongs to neither; a user in no team."""

    clients: dict[str, APIClient]
    users: dict[str, Any]
    payments: Team
    search: Team
    payments_bot_token: ApiToken
    search_bot_token: ApiToken


@pytest.fixture
def world(team_with_members, platform_admin, token_client) -> World:
    payments, search = team_with_members["team"], team_with_members["other_team"]
    MembershipFactory(team=payments, user=UserFactory(username="pay-extra"), role="developer")
    UserFactory(username="newcomer")
    services.namespace_assign(team=payments, namespace="payments-dev")
    services.namespace_assign(team=search, namespace="search-dev")
    payments_bot_token = ApiTokenFactory(owner=services.team_service_account(team=payments), scope="read")
    search_bot_token = ApiTokenFactory(owner=services.team_service_account(team=search), scope="read")
    users = {
        "platform_admin": platform_admin,
        "team_admin": team_with_members["admin"],
        "developer": team_with_members["developer"],
        "viewer": team_with_members["viewer"],
        "outsider": team_with_members["outsider"],
    }
    clients = {role: token_client(user, scope="admin") for role, user in users.items()}
    clients["anonymous"] = APIClient()
    return World(clients, users, payments, search, payments_bot_token, search_bot_token)


def operations() -> list[tuple[str, str]]:
    """(route name, HTTP method) for every operation the identity router and views serve, read from the URL conf."""
    found = set()
    for pattern in identity_urlpatterns:
        callback = pattern.callback
        if hasattr(callback, "actions"):
            methods = list(callback.actions)  # DRF adds `head` here once a GET has been served
        else:
            view = callback.view_class
            methods = [m for m in view.http_method_names if hasattr(view, m)]
        found.update((pattern.name, method) for method in methods if method not in ("head", "options"))
    return sorted(found)


def _all(ok: int, anonymous: int = 401) -> dict[str, int]:
    return {role: ok for role in ROLES if role != "anonymous"} | {"anonymous": anonymous}


# Expected status per operation and role, for `payments` objects (the outsider belongs to `search`). Admin-scope
# tokens throughout, so only object- and function-level authorization decide.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("me", "get"): _all(200),
    ("team-list", "get"): _all(200),
    ("team-list", "post"): _all(403) | {"platform_admin": 201},
    ("team-detail", "get"): _all(200) | {"outsider": 404},
    ("team-detail", "put"): _all(405),
    ("team-detail", "patch"): _all(403) | {"platform_admin": 200, "team_admin": 200, "outsider": 404},
    ("team-detail", "delete"): _all(403) | {"platform_admin": 204, "outsider": 404},
    ("team-members", "post"): _all(403) | {"platform_admin": 200, "team_admin": 200, "outsider": 404},
    ("team-remove-member", "delete"): _all(403) | {"platform_admin": 204, "team_admin": 204, "outsider": 404},
    ("team-namespaces", "post"): _all(403) | {"platform_admin": 201, "outsider": 404},
    ("team-release-namespace", "delete"): _all(403) | {"platform_admin": 204, "outsider": 404},
    ("token-list", "get"): _all(200),
    ("token-list", "post"): _all(201),
    # The target is the payments service account's token: its team's admins manage it, nobody else sees it.
    ("token-detail", "get"): _all(404) | {"platform_admin": 200, "team_admin": 200},
    ("token-detail", "delete"): _all(404) | {"platform_admin": 204, "team_admin": 204},
}

BODIES = {
    ("team-list", "post"): {"name": "billing"},
    ("team-detail", "put"): {"display_name": "P", "description": "d"},
    ("team-detail", "patch"): {"description": "changed"},
    ("team-members", "post"): {"username": "newcomer", "role": "developer"},
    ("team-namespaces", "post"): {"namespace": "payments-new"},
    ("token-list", "post"): {"scope": "read", "description": "matrix"},
}


def url_for(world: World, name: str) -> str:
    kwargs = {
        "me": {},
        "team-list": {},
        "token-list": {},
        "token-detail": {"pk": world.payments_bot_token.pk},
        "team-remove-member": {"name": "payments", "username": "pay-extra"},
        "team-release-namespace": {"name": "payments", "namespace": "payments-dev"},
    }.get(name, {"name": "payments"})
    return reverse(f"identity-api:{name}", kwargs=kwargs)


def state() -> dict[str, Any]:
    """Everything an identity write could change."""
    return {
        "teams": sorted(Team.objects.values_list("name", "display_name", "description")),
        "members": sorted(Membership.objects.values_list("team__name", "user__username", "role")),
        "namespaces": sorted(NamespaceOwnership.objects.values_list("team__name", "namespace")),
        "tokens": sorted(ApiToken.objects.values_list("key_id", "revoked_at")),
        "audit": AuditEvent.objects.count(),
    }


def test_the_matrix_covers_every_identity_route_and_method():
    assert set(operations()) == set(EXPECTED)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), operations())
def test_permission_matrix(world, name, method, role):
    expected = EXPECTED[(name, method)][role]
    before = state()
    client = world.clients[role]
    response = getattr(client, method)(url_for(world, name), BODIES.get((name, method)), format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == PROBLEM
        assert state() == before, "a refused request changed something"
        if expected == 401:
            assert response["WWW-Authenticate"] == 'Bearer realm="devplat"'
    elif method != "get":
        assert state() != before, "an accepted write changed nothing"


VISIBLE_TEAMS = {
    "platform_admin": {"payments", "search"},
    "team_admin": {"payments"},
    "developer": {"payments"},
    "viewer": {"payments"},
    "outsider": {"search"},
}
VISIBLE_TOKEN_OWNERS = {
    "platform_admin": {
        "root-admin",
        "pay-admin",
        "pay-developer",
        "pay-viewer",
        "search-dev",
        "payments-bot",
        "search-bot",
    },
    "team_admin": {"pay-admin", "payments-bot"},
    "developer": {"pay-developer"},
    "viewer": {"pay-viewer"},
    "outsider": {"search-dev"},
}


@pytest.mark.parametrize("role", VISIBLE_TEAMS)
def test_team_list_holds_only_the_callers_teams(world, role):
    response = world.clients[role].get("/api/v1/teams/")
    assert response.status_code == 200
    assert {team["name"] for team in response.json()["results"]} == VISIBLE_TEAMS[role]


@pytest.mark.parametrize("role", VISIBLE_TOKEN_OWNERS)
def test_token_list_holds_only_the_callers_tokens_and_those_of_teams_they_administer(world, role):
    response = world.clients[role].get("/api/v1/tokens/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert {token["owner"] for token in results} == VISIBLE_TOKEN_OWNERS[role]
    expected_ids = set(
        ApiToken.objects.filter(owner__username__in=VISIBLE_TOKEN_OWNERS[role]).values_list("id", flat=True)
    )
    assert {token["id"] for token in results} == expected_ids


def test_another_teams_objects_answer_404_on_every_route(world):
    """The payments admin acting on `search`: not found, never forbidden, so team names cannot be probed."""
    client = world.clients["team_admin"]
    before = state()
    responses = [
        client.get("/api/v1/teams/search/"),
        client.patch("/api/v1/teams/search/", {"description": "x"}, format="json"),
        client.delete("/api/v1/teams/search/"),
        client.post("/api/v1/teams/search/members/", {"username": "newcomer"}, format="json"),
        client.delete("/api/v1/teams/search/members/search-dev/"),
        client.post("/api/v1/teams/search/namespaces/", {"namespace": "x"}, format="json"),
        client.delete("/api/v1/teams/search/namespaces/search-dev/"),
        client.get(f"/api/v1/tokens/{world.search_bot_token.pk}/"),
        client.delete(f"/api/v1/tokens/{world.search_bot_token.pk}/"),
        client.post("/api/v1/tokens/", {"team": "search"}, format="json"),
    ]
    for response in responses:
        assert_problem(response, 404)
    assert state() == before
    # ...and a team that does not exist at all answers the same.
    missing = client.get("/api/v1/teams/no-such-team/").json()
    assert client.get("/api/v1/teams/search/").json()["detail"] == missing["detail"]


def test_a_visible_team_you_may_not_change_answers_403_with_what_to_do(world):
    body = assert_problem(world.clients["developer"].patch("/api/v1/teams/payments/", {"description": "x"}), 403)
    assert "team admin" in body["detail"]


# --- /me -------------------------------------------------------------------------------------------------------------


def test_me_describes_the_caller_their_teams_and_the_token_used(world):
    client = world.clients["developer"]
    body = client.get("/api/v1/me/").json()
    assert body["username"] == "pay-developer"
    assert body["email"] == "pay-developer@example.com"
    assert body["is_platform_admin"] is False
    assert [(t["team"], t["role"]) for t in body["teams"]] == [("payments", "developer")]
    assert body["token"]["key_id"] == client.token.key_id
    assert body["token"]["scope"] == "admin"
    assert "token" not in body["token"]
    assert client.token.plaintext not in json.dumps(body)


def test_me_for_a_platform_admin_session(world):
    client = APIClient()
    client.force_login(world.users["platform_admin"])
    body = client.get("/api/v1/me/").json()
    assert body["is_platform_admin"] is True
    assert body["teams"] == []
    assert body["token"] is None


# --- teams -----------------------------------------------------------------------------------------------------------


def test_team_retrieve_shows_members_with_roles_and_namespaces(world):
    body = world.clients["viewer"].get("/api/v1/teams/payments/").json()
    assert body["name"] == "payments"
    assert {(m["username"], m["role"]) for m in body["members"]} == {
        ("pay-viewer", "viewer"),
        ("pay-developer", "developer"),
        ("pay-admin", "admin"),
        ("pay-extra", "developer"),
        ("payments-bot", "developer"),
    }
    assert body["namespaces"] == ["payments-dev"]


def test_team_list_filters_by_name(world):
    response = world.clients["platform_admin"].get("/api/v1/teams/?name=search")
    assert [team["name"] for team in response.json()["results"]] == ["search"]


def test_team_create_by_a_platform_admin_makes_the_team_and_audits_who_did_it(world):
    client = world.clients["platform_admin"]
    response = client.post(
        "/api/v1/teams/",
        {"name": "billing", "display_name": "Billing", "description": "invoices"},
        format="json",
        HTTP_X_REQUEST_ID="req-billing-1",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["display_name"], body["description"]) == ("billing", "Billing", "invoices")
    assert body["members"] == []
    assert body["namespaces"] == []
    team = Team.objects.get(name="billing")
    assert body["id"] == team.pk
    assert team.group.name == "team:billing"
    event = AuditEvent.objects.get(action="team.create", target_id=str(team.pk))
    assert (event.actor_username, event.face, event.actor_token, event.request_id) == (
        "root-admin",
        "api",
        client.token.key_id,
        "req-billing-1",
    )


def test_team_create_refuses_a_taken_or_invalid_name(world):
    client = world.clients["platform_admin"]
    assert "name" in assert_problem(client.post("/api/v1/teams/", {"name": "payments"}, format="json"), 400)["errors"]
    assert "name" in assert_problem(client.post("/api/v1/teams/", {"name": "Not Dns"}, format="json"), 400)["errors"]
    assert "name" in assert_problem(client.post("/api/v1/teams/", {}, format="json"), 400)["errors"]
    assert Team.objects.count() == 2


def test_team_partial_update_by_a_team_admin(world):
    response = world.clients["team_admin"].patch(
        "/api/v1/teams/payments/", {"display_name": "Payments!", "description": "cards"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["description"]) == ("Payments!", "cards")
    world.payments.refresh_from_db()
    assert (world.payments.display_name, world.payments.description) == ("Payments!", "cards")


def test_team_destroy_by_a_platform_admin_removes_it(world):
    assert world.clients["platform_admin"].delete("/api/v1/teams/payments/").status_code == 204
    assert not Team.objects.filter(name="payments").exists()
    world.payments_bot_token.refresh_from_db()
    assert world.payments_bot_token.revoked_at is not None
    assert bearer(world.payments_bot_token.plaintext).get("/api/v1/me/").status_code == 401


def test_members_post_adds_then_changes_a_role(world):
    client = world.clients["team_admin"]
    response = client.post("/api/v1/teams/payments/members/", {"username": "newcomer"}, format="json")
    assert response.status_code == 200
    assert (response.json()["username"], response.json()["role"]) == ("newcomer", "developer")
    response = client.post("/api/v1/teams/payments/members/", {"username": "newcomer", "role": "admin"}, format="json")
    assert response.json()["role"] == "admin"
    assert Membership.objects.get(team=world.payments, user__username="newcomer").role == "admin"
    newcomer = type(world.users["viewer"]).objects.get(username="newcomer")
    assert newcomer.has_perm("identity.change_team", world.payments)


def test_members_post_refuses_unknown_users_and_roles(world):
    client = world.clients["team_admin"]
    body = assert_problem(client.post("/api/v1/teams/payments/members/", {"username": "ghost"}, format="json"), 400)
    assert "ghost" in body["detail"]
    body = assert_problem(
        client.post("/api/v1/teams/payments/members/", {"username": "newcomer", "role": "owner"}, format="json"), 400
    )
    assert "role" in body["errors"]
    assert not Membership.objects.filter(user__username="newcomer").exists()


def test_members_delete_removes_a_member_and_refuses_non_members_and_unknown_users(world):
    client = world.clients["team_admin"]
    assert client.delete("/api/v1/teams/payments/members/pay-extra/").status_code == 204
    assert not Membership.objects.filter(user__username="pay-extra").exists()
    assert "not a member" in assert_problem(client.delete("/api/v1/teams/payments/members/newcomer/"), 400)["detail"]
    assert_problem(client.delete("/api/v1/teams/payments/members/ghost/"), 404)


def test_namespaces_post_and_delete_by_a_platform_admin(world):
    client = world.clients["platform_admin"]
    response = client.post("/api/v1/teams/payments/namespaces/", {"namespace": "payments-prod"}, format="json")
    assert response.status_code == 201
    assert response.json()["namespace"] == "payments-prod"
    assert NamespaceOwnership.objects.get(namespace="payments-prod").team == world.payments
    assert client.delete("/api/v1/teams/payments/namespaces/payments-prod/").status_code == 204
    assert not NamespaceOwnership.objects.filter(namespace="payments-prod").exists()
    assert_problem(client.delete("/api/v1/teams/payments/namespaces/payments-prod/"), 404)
    assert_problem(client.delete("/api/v1/teams/payments/namespaces/search-dev/"), 404)  # search's, not payments'


def test_namespaces_post_conflict_names_the_owning_team(world):
    client = world.clients["platform_admin"]
    body = assert_problem(
        client.post("/api/v1/teams/payments/namespaces/", {"namespace": "search-dev"}, format="json"), 400
    )
    assert "'search'" in body["detail"]
    assert "namespace" in body["errors"]
    assert NamespaceOwnership.objects.get(namespace="search-dev").team == world.search


# --- tokens ----------------------------------------------------------------------------------------------------------


def test_token_create_shows_the_secret_once_and_never_again(world):
    client = world.clients["developer"]
    response = client.post("/api/v1/tokens/", {"scope": "read", "description": "ci"}, format="json")
    assert response.status_code == 201
    created = response.json()
    plaintext = created["token"]
    assert TOKEN_FORMAT.match(plaintext)
    assert created["owner"] == "pay-developer"
    assert created["status"] == "active"
    assert plaintext.startswith(f"dp_{created['key_id']}_")
    assert bearer(plaintext).get("/api/v1/me/").json()["token"]["id"] == created["id"]

    detail = client.get(f"/api/v1/tokens/{created['id']}/")
    listing = client.get("/api/v1/tokens/")
    for response in (detail, listing):
        assert response.status_code == 200
        assert plaintext not in response.content.decode()
        assert tokens.parse(plaintext).secret not in response.content.decode()
    assert "token" not in detail.json()
    assert all("token" not in row for row in listing.json()["results"])
    assert ApiToken.objects.get(pk=created["id"]).created_by == world.users["developer"]


def test_token_create_for_a_team_is_owned_by_its_service_account_and_needs_team_admin(world):
    response = world.clients["team_admin"].post("/api/v1/tokens/", {"team": "payments", "scope": "read"}, format="json")
    assert response.status_code == 201
    assert response.json()["owner"] == "payments-bot"
    assert ApiToken.objects.get(pk=response.json()["id"]).created_by == world.users["team_admin"]
    assert (
        "admin"
        in assert_problem(world.clients["developer"].post("/api/v1/tokens/", {"team": "payments"}, format="json"), 403)[
            "detail"
        ]
    )


def test_token_create_refuses_a_past_expiry_and_an_unknown_scope(world):
    client = world.clients["developer"]
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    assert (
        "expires_at"
        in assert_problem(client.post("/api/v1/tokens/", {"expires_at": past}, format="json"), 400)["errors"]
    )
    assert "scope" in assert_problem(client.post("/api/v1/tokens/", {"scope": "root"}, format="json"), 400)["errors"]


def test_token_revoke_via_delete_stops_the_token_at_once(world):
    client = world.clients["developer"]
    created = client.post("/api/v1/tokens/", {"scope": "read"}, format="json").json()
    assert bearer(created["token"]).get("/api/v1/me/").status_code == 200
    assert client.delete(f"/api/v1/tokens/{created['id']}/").status_code == 204
    assert ApiToken.objects.get(pk=created["id"]).status == "revoked"
    assert_problem(bearer(created["token"]).get("/api/v1/me/"), 401)
    assert client.get(f"/api/v1/tokens/{created['id']}/").json()["status"] == "revoked"


def test_token_list_filters_by_scope(world):
    client = world.clients["developer"]
    client.post("/api/v1/tokens/", {"scope": "read"}, format="json")
    scopes = [t["scope"] for t in client.get("/api/v1/tokens/?scope=read").json()["results"]]
    assert scopes == ["read"]
    assert_problem(client.get("/api/v1/tokens/?scope=root"), 400)


def test_unknown_or_non_numeric_token_ids_answer_404(world):
    client = world.clients["platform_admin"]
    assert_problem(client.get("/api/v1/tokens/999999999/"), 404)
    assert_problem(client.get("/api/v1/tokens/abc/"), 404)


# --- token authentication --------------------------------------------------------------------------------------------


def _expired() -> str:
    token = ApiTokenFactory()
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    return token.plaintext


def _revoked() -> str:
    token = ApiTokenFactory()
    services.token_revoke(token=token)
    return token.plaintext


def _wrong_secret() -> str:
    token = ApiTokenFactory()
    return f"dp_{token.key_id}_{tokens.generate().secret}"


def _inactive_owner() -> str:
    token = ApiTokenFactory(owner=UserFactory())
    type(token.owner).objects.filter(pk=token.owner.pk).update(is_active=False)
    return token.plaintext


BAD_CREDENTIALS = {
    "expired": lambda: f"Bearer {_expired()}",
    "revoked": lambda: f"Bearer {_revoked()}",
    "wrong secret": lambda: f"Bearer {_wrong_secret()}",
    "inactive owner": lambda: f"Bearer {_inactive_owner()}",
    "unknown": lambda: f"Bearer {tokens.generate()}",
    "malformed": lambda: "Bearer not-a-devplat-token",
    "malformed key id": lambda: "Bearer dp_XYZ_" + "a" * 43,
    "no token after Bearer": lambda: "Bearer ",
    "token keyword": lambda: f"Token {_revoked()}",
}


@pytest.mark.parametrize("case", BAD_CREDENTIALS)
def test_bad_tokens_get_401_problem_with_a_www_authenticate_challenge(case):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=BAD_CREDENTIALS[case]())
    for response in (client.get("/api/v1/me/"), client.get("/api/v1/teams/"), client.post("/api/v1/tokens/", {})):
        body = assert_problem(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="devplat"'
        assert body["code"] == "authentication_failed"


def test_the_401_says_why_without_telling_which_part_was_wrong():
    assert "expired" in bearer(_expired()).get("/api/v1/me/").json()["detail"]
    assert "revoked" in bearer(_revoked()).get("/api/v1/me/").json()["detail"]
    unknown = bearer(str(tokens.generate())).get("/api/v1/me/").json()["detail"]
    assert bearer(_wrong_secret()).get("/api/v1/me/").json()["detail"] == unknown


def test_no_credentials_at_all_is_401_not_authenticated():
    response = APIClient().get("/api/v1/me/")
    assert assert_problem(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="devplat"'


@pytest.mark.parametrize(("scope", "can_write"), [("read", False), ("provision", False), ("admin", True)])
def test_token_scope_limits_writes(world, token_client, scope, can_write):
    client = token_client(world.users["developer"], scope=scope)
    assert client.get("/api/v1/teams/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post("/api/v1/tokens/", {"scope": "read"}, format="json")
    if can_write:
        assert response.status_code == 201
    else:
        assert "scope" in assert_problem(response, 403)["detail"]
        assert_problem(client.delete(f"/api/v1/tokens/{client.token.pk}/"), 403)
        client.token.refresh_from_db()
        assert client.token.revoked_at is None


def test_a_read_token_of_a_team_admin_cannot_change_the_team(world, token_client):
    client = token_client(world.users["team_admin"], scope="read")
    assert_problem(client.patch("/api/v1/teams/payments/", {"description": "x"}, format="json"), 403)
    world.payments.refresh_from_db()
    assert world.payments.description == ""


def test_session_auth_works_for_reads_and_writes_without_scopes(world):
    client = APIClient()
    assert client.login(username="pay-developer", password="pw-for-tests")
    body = client.get("/api/v1/me/").json()
    assert (body["username"], body["token"]) == ("pay-developer", None)
    assert client.post("/api/v1/tokens/", {"scope": "admin"}, format="json").status_code == 201


def test_session_writes_need_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="pay-developer", password="pw-for-tests")
    assert client.get("/api/v1/me/").status_code == 200
    before = ApiToken.objects.count()
    body = assert_problem(client.post("/api/v1/tokens/", {"scope": "read"}, format="json"), 403)
    assert "CSRF" in body["detail"]
    assert ApiToken.objects.count() == before


# --- property-level authorization (R13) -------------------------------------------------------------------------------


def test_team_create_ignores_id_created_at_and_members(world):
    response = world.clients["platform_admin"].post(
        "/api/v1/teams/",
        {
            "name": "billing",
            "id": 424242,
            "created_at": "2001-01-01T00:00:00Z",
            "members": [{"username": "pay-developer", "role": "admin"}],
            "namespaces": ["payments-dev"],
        },
        format="json",
    )
    assert response.status_code == 201
    team = Team.objects.get(name="billing")
    assert team.pk != 424242
    assert team.created_at.year == timezone.now().year
    assert not team.memberships.exists()
    assert not team.namespaces.exists()
    assert NamespaceOwnership.objects.get(namespace="payments-dev").team == world.payments


def test_team_update_ignores_name_id_and_created_at(world):
    created = world.payments.created_at
    response = world.clients["team_admin"].patch(
        "/api/v1/teams/payments/",
        {"name": "hijacked", "id": 424242, "created_at": "2001-01-01T00:00:00Z", "description": "ok"},
        format="json",
    )
    assert response.status_code == 200
    team = Team.objects.get(pk=world.payments.pk)
    assert (team.name, team.created_at, team.description) == ("payments", created, "ok")
    assert not Team.objects.filter(name="hijacked").exists()


def test_token_create_ignores_an_owner_and_server_set_fields(world):
    response = world.clients["developer"].post(
        "/api/v1/tokens/",
        {
            "scope": "read",
            "owner": "root-admin",
            "owner_id": world.users["platform_admin"].pk,
            "created_by": world.users["platform_admin"].pk,
            "key_id": "0123456789abcdef",
            "digest": "0" * 64,
            "pepper_id": 99,
            "revoked_at": "2001-01-01T00:00:00Z",
            "id": 424242,
        },
        format="json",
    )
    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.owner == world.users["developer"]
    assert token.created_by == world.users["developer"]
    assert token.key_id != "0123456789abcdef"
    assert token.digest != "0" * 64
    assert token.pepper_id != 99
    assert token.revoked_at is None
    assert token.pk != 424242


def identity_serializer_classes() -> list[type[drf_serializers.BaseSerializer]]:
    return [
        cls
        for _, cls in inspect.getmembers(identity_serializers, inspect.isclass)
        if issubclass(cls, drf_serializers.BaseSerializer) and cls.__module__ == identity_serializers.__name__
    ]


def test_no_serializer_uses_all_fields_or_exclude():
    classes = identity_serializer_classes()
    assert len(classes) >= 8  # the introspection finds the serializers, so the checks below are not vacuous
    for cls in classes:
        meta = getattr(cls, "Meta", None)
        if meta is None:
            continue
        assert getattr(meta, "fields", None) != drf_serializers.ALL_FIELDS, cls
        assert isinstance(meta.fields, list | tuple), cls
        assert not hasattr(meta, "exclude"), cls


CREDENTIAL_FIELDS = {"digest", "pepper_id", "secret", "password"}


def test_no_serializer_exposes_credentials_and_server_set_fields_are_read_only():
    for cls in identity_serializer_classes():
        fields = cls().fields
        assert not CREDENTIAL_FIELDS & set(fields), cls
        for name in ("id", "owner", "created_at", "last_used_at", "status", "key_id", "members", "namespaces"):
            if name in fields:
                assert fields[name].read_only, f"{cls.__name__}.{name} is writable"
    # the one response that carries a token is the create response, and it is read-only there
    assert identity_serializers.ApiTokenIssuedSerializer().fields["token"].read_only
    assert "token" not in identity_serializers.ApiTokenSerializer().fields


def test_the_openapi_schema_has_no_credential_fields_in_responses(platform_admin):
    client = APIClient()
    client.force_login(platform_admin)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    components = schema["components"]["schemas"]
    assert "ApiToken" in components
    for name, component in components.items():
        # Write-only properties (a cluster's token on registration) are accepted, never returned.
        properties = {k: v for k, v in component.get("properties", {}).items() if not v.get("writeOnly")}
        assert not CREDENTIAL_FIELDS & set(properties), name
        if "token" in properties and name != "ApiTokenIssued":  # elsewhere `token` is the token's metadata
            assert properties["token"].get("type") != "string", name
            assert "#/components/schemas/ApiToken" in json.dumps(properties["token"]), name
