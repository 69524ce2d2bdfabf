"""R17: what one caller can make the API spend, over every route the API has.

Rates per token scope (429 with Retry-After once spent), pages capped at DEVPLAT_MAX_PAGE_SIZE, bodies over the
upload limit refused with 413 before anything reads them, and queries cut off by PostgreSQL's statement_timeout
(503 with Retry-After) on API requests only.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from rest_framework.test import APIClient

from control_plane.tests.factories import ClusterFactory
from devplat.core.api.throttling import TokenRateThrottle
from devplat.core.tests.test_api_errors import assert_problem
from devplat.tests.api_world import World, api_endpoints, build_world, fill
from devplat.tests.support import database_url
from identity.choices import TokenScopeChoices
from identity.models import Team
from identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "PATCH", "DELETE")
RATES = {"read": "3/min", "provision": "2/min", "admin": "1/min", "session": "4/min", "anon": "1/min"}


def bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


# --- rates -----------------------------------------------------------------------------------------------------------


def per_second(rate: str) -> float:
    count, duration = TokenRateThrottle().parse_rate(rate)
    return count / duration


def test_every_token_scope_sessions_and_anonymous_calls_have_a_rate():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(TokenScopeChoices.values) | {"session", "anon"} <= set(rates)
    # Agents reading state poll most; a token that can change more is held to less.
    assert per_second(rates["read"]) >= per_second(rates["provision"]) >= per_second(rates["admin"])


def assert_throttled(response) -> None:
    body = assert_problem(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["retry_after"] >= int(response["Retry-After"])


@pytest.mark.parametrize(("scope", "allowed"), [("read", 3), ("provision", 2), ("admin", 1)])
def test_a_tokens_rate_is_its_scopes(monkeypatch, token_client, scope, allowed):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", RATES)
    user = UserFactory()
    client = token_client(user, scope=scope)
    for _ in range(allowed):
        assert client.get("/api/v1/me/").status_code == 200
    assert_throttled(client.get("/api/v1/me/"))
    # Each token counts on its own: another of the same user's tokens is not spent.
    assert token_client(user, scope=scope).get("/api/v1/me/").status_code == 200


def test_a_browser_session_has_the_session_rate(monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", RATES)
    client = APIClient()
    client.force_login(UserFactory())
    for _ in range(4):
        assert client.get("/api/v1/me/").status_code == 200
    assert_throttled(client.get("/api/v1/me/"))


def test_anonymous_calls_have_the_anonymous_rate(monkeypatch):
    """Only the schema is served to anonymous callers; they are counted per address."""
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", RATES)
    assert APIClient().get("/api/schema/").status_code == 200
    assert_throttled(APIClient().get("/api/schema/"))


# --- page sizes ------------------------------------------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    return build_world()


def paged_lists() -> list[str]:
    """Every list route that takes `page_size`, as the schema says."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, item in schema["paths"].items()
        if "{" not in path and any(p["name"] == "page_size" for p in item.get("get", {}).get("parameters", []))
    )


def items(response) -> list[Any]:
    body = response.json()
    return body if isinstance(body, list) else body["results"]


def test_page_size_is_capped_on_every_list(world, settings):
    admin = bearer(world.callers["admin"].tokens["read"])
    lists = paged_lists()
    assert {"/api/v1/teams/", "/api/v1/tokens/"} <= set(lists)
    everything = {}
    for path in lists:
        response = admin.get(f"{path}?page_size=1000000")
        assert response.status_code == 200, (path, response.content)
        everything[path] = len(items(response))
    settings.DEVPLAT_MAX_PAGE_SIZE = 2
    for path in lists:
        response = admin.get(f"{path}?page_size=1000000")
        assert response.status_code == 200, (path, response.content)
        assert len(items(response)) == min(everything[path], 2), path
    assert sum(count > 2 for count in everything.values()) >= 3  # the cap was really met on several lists


@pytest.mark.parametrize("size", ["0", "-3", "ten", "1.5"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400_naming_it(world, size):
    admin = bearer(world.callers["admin"].tokens["read"])
    for path in paged_lists():
        body = assert_problem(admin.get(f"{path}?page_size={size}"), 400, "invalid")
        assert list(body["errors"]) == ["page_size"], path


@pytest.mark.parametrize("cursor", ["__8=", base64.b64encode(b"o=-1&p=x").decode()], ids=["not-text", "forged"])
def test_a_cursor_the_api_never_gave_out_is_a_400_naming_it(token_client, cursor):
    body = assert_problem(token_client(UserFactory()).get(f"/api/v1/tokens/?cursor={cursor}"), 400, "invalid")
    assert list(body["errors"]) == ["cursor"]
    assert "next" in body["detail"]


# --- request bodies --------------------------------------------------------------------------------------------------


def test_a_20_mb_body_is_refused_with_413_on_every_write_route(world):
    """Refused before authentication, parsing or the view: the body is never read into memory."""
    body = b'{"description": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    writes = [endpoint for endpoint in api_endpoints() if endpoint.method in WRITES]
    assert len(writes) >= 8
    teams = Team.objects.count()
    for caller in (bearer(world.callers["admin"].tokens["admin"]), APIClient()):
        for endpoint in writes:
            path = fill(endpoint, "alpha-zq7a" if "{name}" in endpoint.path else "1")
            response = caller.generic(endpoint.method, path, body, content_type="application/json")
            problem = assert_problem(response, 413, "payload_too_large")
            assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in problem["detail"]
    assert Team.objects.count() == teams


# --- input that cannot mean anything ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["maybe", "null", "yes please", ""])
def test_a_boolean_filter_refuses_what_is_not_a_boolean(token_client, value):
    """Not silently dropped (which would answer with everything): a 400 naming the filter."""
    body = assert_problem(token_client(UserFactory()).get(f"/api/v1/clusters/?enabled={value}"), 400, "invalid")
    assert list(body["errors"]) == ["enabled"]


def test_a_boolean_filter_still_filters(token_client):
    ClusterFactory(name="on")
    ClusterFactory(name="off", enabled=False)
    client = token_client(UserFactory())
    for query, expected in [
        ("?enabled=true", ["on"]),
        ("?enabled=FALSE", ["off"]),
        ("?enabled=0", ["off"]),
        ("", ["on", "off"]),
    ]:
        names = [row["name"] for row in client.get(f"/api/v1/clusters/{query}").json()["results"]]
        assert names == expected, query


# --- text PostgreSQL cannot hold -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/resource-types/?cluster=prod%00"),
        ("get", "/api/v1/teams/?name=%00"),
        ("delete", "/api/v1/teams/payments/members/a%00b/"),
    ],
)
def test_a_nul_in_the_url_is_a_400_not_a_failed_query(token_client, method, path):
    client = token_client(UserFactory(platform_admin=True), scope="admin")
    body = assert_problem(getattr(client, method)(path), 400, "invalid")
    assert "NUL" in body["detail"]


@pytest.mark.parametrize("text", [r"pay\u0000ments", r"\ud800"], ids=["nul", "lone-surrogate"])
def test_a_json_string_no_column_can_store_is_a_400_saying_where(token_client, text):
    client = token_client(UserFactory(platform_admin=True), scope="admin")
    document = '{"name": "payments", "labels": {"team": "TEXT"}}'.replace("TEXT", text)  # JSON escapes, as sent
    body = assert_problem(client.post("/api/v1/teams/", document, content_type="application/json"), 400)
    assert "labels.team" in body["detail"]
    assert not Team.objects.exists()


# --- the statement timeout -------------------------------------------------------------------------------------------


def session_timeout() -> str:
    """What the session has, asked through the driver: a query through Django would itself be set up first."""
    connection.ensure_connection()
    return str(connection.connection.execute("SHOW statement_timeout").fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_query_stuck_past_the_statement_timeout_answers_503_fast(settings, token_client):
    settings.DEVPLAT_API_STATEMENT_TIMEOUT_MS = 300
    client = token_client(UserFactory(platform_admin=True))
    assert client.get("/api/v1/teams/").status_code == 200
    with psycopg.connect(database_url()) as locker:  # another session holds the table the list reads
        locker.execute(f"LOCK TABLE {Team._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = client.get("/api/v1/teams/")
        waited = time.monotonic() - started
    body = assert_problem(response, 503, "query_timeout")
    assert response["Retry-After"] == str(body["retry_after"]) == "5"
    assert "Narrow the request" in body["detail"]
    assert waited < 3
    assert client.get("/api/v1/teams/").status_code == 200  # the lock is gone, and so is the error


@pytest.mark.django_db(transaction=True)
def test_the_statement_timeout_is_the_apis_alone(settings, token_client, client):
    """Workers, commands and migrations open connections without one; an API (or MCP) request sets it, and the next
    request outside the API that queries puts the server's default back."""
    settings.DEVPLAT_API_STATEMENT_TIMEOUT_MS = 1234
    assert session_timeout() == "0"
    api = token_client(UserFactory())
    assert api.get("/api/v1/me/").status_code == 200
    assert session_timeout() == "1234ms"
    assert client.get("/readyz").status_code == 200
    assert session_timeout() == "0"
    assert api.get("/api/v1/me/").status_code == 200
    assert session_timeout() == "1234ms"
    # A query outside any request (a test's teardown, a management command in-process) runs without it too.
    assert Team.objects.count() == 0
    assert session_timeout() == "0"
    # MCP is the API's other face, on the same port, reading through the same selectors.
    api.post("/mcp/", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, format="json")
    assert session_timeout() == "1234ms"


@pytest.mark.django_db(transaction=True)
def test_the_timeout_is_set_once_per_connection_not_once_per_request(settings, token_client):
    """The setting costs a round trip only when the connection's session does not have it: a value changed behind
    the middleware's back stays (so no request paid to set it again), and a new connection gets it again."""
    settings.DEVPLAT_API_STATEMENT_TIMEOUT_MS = 1234
    api = token_client(UserFactory())
    api.get("/api/v1/me/")
    connection.connection.execute("SET statement_timeout = 777")  # behind Django's back
    api.get("/api/v1/me/")
    assert session_timeout() == "777ms"
    connection.close()
    api.get("/api/v1/me/")
    assert session_timeout() == "1234ms"


def test_a_timeout_set_in_a_transaction_that_rolls_back_is_set_again(settings, token_client):
    """Inside a transaction the SET is transactional: after a rollback the next API request sets it again."""
    settings.DEVPLAT_API_STATEMENT_TIMEOUT_MS = 1234
    api = token_client(UserFactory())
    with transaction.atomic():
        assert api.get("/api/v1/me/").status_code == 200
        assert session_timeout() == "1234ms"
        transaction.set_rollback(True)
    assert session_timeout() == "0"
    assert api.get("/api/v1/me/").status_code == 200
    assert session_timeout() == "1234ms"
