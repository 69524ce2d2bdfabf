"""The MCP endpoint, driven by the SDK's own client over HTTP against devplat's WSGI application.

A real server (Django's threaded WSGI server, as `runserver` uses, serving `devplat.wsgi.application`) runs on a
free loopback port; the tests talk to it with `mcp.client.streamable_http` and `ClientSession`, with real tokens,
about inventory rows committed to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connection
from django.test import Client as DjangoClient
from django.utils import timezone
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver.exceptions import ToolError

from control_plane.choices import ChangeTypeChoices, EdgeRelationChoices, HealthChoices
from control_plane.mcp import audit, tools
from control_plane.tests.inventory_factories import (
    XRD_SCHEMA,
    InventoryWorld,
    ResourceChangeFactory,
    ResourceEdgeFactory,
    ResourceFactory,
    inventory_world,
)
from devplat.core.actor import Face, actor_for
from devplat.core.api.throttling import TokenRateThrottle
from governance.models import AuditEvent
from identity.tests.factories import ApiTokenFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOOL_NAMES = {
    "search_resources",
    "get_resource",
    "explain_health",
    "resource_tree",
    "changes_since",
    "list_capabilities",
    "request_capability",
}


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def mcp_url() -> Iterator[str]:
    """devplat's WSGI application on a free loopback port, served by Django's threaded server (what runserver
    runs), so a request passes exactly the stack a deployment has: middleware, URL routing, the view."""
    from devplat.wsgi import application

    httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    httpd.set_app(application)
    thread = threading.Thread(target=httpd.serve_forever, name="mcp-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/mcp/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def session(url: str, token: str, use: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Open an MCP session with `token` as the SDK's client does, run `use(session)`, and return what it returns."""

    async def run() -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    return await use(client)

    return asyncio.run(run())


@dataclass
class Answer:
    is_error: bool
    text: str

    @property
    def data(self) -> Any:
        assert not self.is_error, self.text
        return json.loads(self.text)


def call(url: str, token: str, tool: str, **arguments: Any) -> Answer:
    result = session(url, token, lambda client: client.call_tool(tool, arguments))
    (content,) = result.content
    return Answer(result.is_error, content.text)


@dataclass
class World(InventoryWorld):
    """The shared inventory story plus a token per caller (`tokens[who]`)."""

    tokens: dict[str, Any]


@pytest.fixture
def world(platform_admin, team_with_members) -> World:
    """`inventory_world` (payments' Deployments and database stack with an unowned subnet, the search team's
    ConfigMap, the XRD), change-feed entries for both teams, and a token per caller."""
    inventory = inventory_world(payments=team_with_members["team"], search=team_with_members["other_team"])
    ResourceChangeFactory(
        resource=inventory.instance,
        condition_transitions=[
            {"type": "Synced", "from": "True", "to": "False", "reason": "ReconcileError", "message": "db.x1 is invalid"}
        ],
    )
    ResourceChangeFactory(resource=inventory.settings, change_type=ChangeTypeChoices.ADDED, changed_paths=["data"])
    ResourceChangeFactory(resource=inventory.api, changed_paths=["spec", "status"])
    tokens = {
        "developer": ApiTokenFactory(owner=team_with_members["developer"]),
        "outsider": ApiTokenFactory(owner=team_with_members["outsider"]),
        "loner": ApiTokenFactory(owner=UserFactory(username="loner")),
        "admin": ApiTokenFactory(owner=platform_admin),
    }
    return World(**vars(inventory), tokens=tokens)


def token(world: World, who: str) -> str:
    return world.tokens[who].plaintext


def names(answer: Answer) -> set[str]:
    return {f"{row['kind']}/{row['name']}" for row in answer.data.get("results", [])}


# --- the tool list ---------------------------------------------------------------------------------------------------


def test_list_tools_shows_the_tools_with_descriptions_input_schemas_and_which_one_writes(world, mcp_url):
    listed = session(mcp_url, token(world, "developer"), lambda client: client.list_tools())
    by_name = {tool.name: tool for tool in listed.tools}
    assert set(by_name) == TOOL_NAMES
    for tool in by_name.values():
        assert len(tool.description) > 80, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint is (tool.name != "request_capability")
        assert tool.annotations.destructive_hint is False
        assert "ctx" not in tool.input_schema["properties"]
    search = by_name["search_resources"].input_schema["properties"]
    assert "Kubernetes label selector" in search["label_selector"]["description"]
    assert search["limit"]["maximum"] == tools.SEARCH_LIMIT_MAX
    assert set(by_name["explain_health"].input_schema["properties"]) == {"id", "kind", "name", "namespace", "cluster"}
    assert by_name["changes_since"].input_schema["properties"]["limit"]["maximum"] == tools.CHANGES_LIMIT_MAX


def test_the_sdks_high_level_client_negotiates_the_modern_protocol_and_is_served_and_audited(world, mcp_url):
    """`mcp.Client` probes `server/discover` and speaks the 2026-07-28 per-request protocol, a different path
    through the SDK's transport than the initialize handshake; it gets the same tools, answers and audit."""
    developer = world.tokens["developer"]

    async def run() -> tuple[str, Any]:
        headers = {"Authorization": f"Bearer {developer.plaintext}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(mcp_url, http_client=http)) as client:
                return client.protocol_version, await client.call_tool("get_resource", {"id": world.api.pk})

    version, result = asyncio.run(run())
    assert version == "2026-07-28"
    assert json.loads(result.content[0].text)["name"] == "api"
    row = AuditEvent.objects.filter(action=audit.ACTION).order_by("-seq").first()
    assert (row.target_id, row.actor_token, row.after["outcome"]) == ("get_resource", developer.key_id, "ok")


# --- search_resources ------------------------------------------------------------------------------------------------


def test_search_resources_shows_own_team_rows_only(world, mcp_url):
    everything = call(mcp_url, token(world, "developer"), "search_resources", limit=100)
    assert names(everything) == {
        "Deployment/web",
        "Deployment/api",
        "Database/orders-db",
        "XDatabase/orders-db-x7k2p",
        "Instance/orders-db-x7k2p-rds",
    }
    assert everything.data["truncated"] is False

    broken = call(mcp_url, token(world, "developer"), "search_resources", health="degraded", kind="deployments")
    (row,) = broken.data["results"]
    assert row["id"] == world.api.pk
    assert row["cluster"] == "prod" and row["namespace"] == "payments" and row["team"] == "payments"
    assert row["reason"].startswith("ProgressDeadlineExceeded")

    other = call(mcp_url, token(world, "outsider"), "search_resources")
    assert names(other) == {"ConfigMap/settings"}


def test_search_resources_names_the_deepest_failure_of_a_failing_claim(world, mcp_url):
    answer = call(mcp_url, token(world, "developer"), "search_resources", kind="Database", name="orders-db")
    (row,) = answer.data["results"]
    assert row["tree_health"] == HealthChoices.DEGRADED
    assert row["failing"]["id"] == world.instance.pk
    assert "db.x1 is not a DB instance class" in row["failing"]["message"]


def test_search_resources_is_capped_and_pages_with_a_cursor(world, mcp_url):
    for n in range(7):
        ResourceFactory(cluster=world.prod, kind="ConfigMap", namespace="payments", name=f"cm-{n}", team=world.api.team)
    seen: list[int] = []
    after = 0
    pages = 0
    while True:
        page = call(mcp_url, token(world, "developer"), "search_resources", kind="ConfigMap", limit=3, after=after)
        data = page.data
        pages += 1
        seen += [row["id"] for row in data["results"]]
        assert data["count"] == len(data["results"]) <= 3
        if not data["truncated"]:
            assert "next_after" not in data
            break
        assert "after=next_after" in data["hint"]
        after = data["next_after"]
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7

    too_many = call(mcp_url, token(world, "developer"), "search_resources", limit=tools.SEARCH_LIMIT_MAX + 1)
    assert too_many.is_error and "limit" in too_many.text


def test_bad_input_is_a_tool_error_naming_the_argument(world, mcp_url):
    answer = call(mcp_url, token(world, "developer"), "search_resources", kind="Nonsense")
    assert answer.is_error
    assert "kind: No synced kind 'Nonsense'" in answer.text
    assert "Traceback" not in answer.text

    selector = call(mcp_url, token(world, "developer"), "search_resources", label_selector="app in (")
    assert selector.is_error and "label_selector:" in selector.text

    unnamed = call(mcp_url, token(world, "developer"), "get_resource", kind="Deployment")
    assert unnamed.is_error and "its id, or its kind and name" in unnamed.text


# --- get_resource ----------------------------------------------------------------------------------------------------


def test_get_resource_by_id_or_by_kind_and_name(world, mcp_url):
    by_id = call(mcp_url, token(world, "developer"), "get_resource", id=world.api.pk).data
    assert by_id["name"] == "api" and by_id["kind"] == "Deployment" and by_id["api_version"] == "apps/v1"
    assert by_id["uid"] == world.api.uid
    assert by_id["spec"] == {"replicas": 3}
    assert by_id["labels"] == {"app": "api", "tier": "backend"}

    by_name = call(
        mcp_url, token(world, "developer"), "get_resource", kind="instances", name="orders-db-x7k2p-rds"
    ).data
    assert by_name["id"] == world.instance.pk
    assert by_name["conditions"] == [
        {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "InvalidParameterValue"}
    ]


def test_get_resource_summarises_a_large_spec(world, mcp_url):
    big = ResourceFactory(
        cluster=world.prod,
        kind="ConfigMap",
        namespace="payments",
        name="big",
        team=world.api.team,
        spec={"blob": "x" * (tools.DOCUMENT_CHARS * 3), "other": 1},
    )
    answer = call(mcp_url, token(world, "developer"), "get_resource", id=big.pk)
    assert len(answer.text) < tools.DOCUMENT_CHARS
    assert answer.data["spec"]["truncated"] is True
    assert answer.data["spec"]["keys"] == ["blob", "other"]
    assert f"/api/v1/resources/{big.pk}/" in answer.data["spec"]["hint"]


def test_another_teams_object_is_not_found_as_a_missing_one_is(world, mcp_url):
    for tool in ("get_resource", "explain_health", "resource_tree"):
        hidden = call(mcp_url, token(world, "outsider"), tool, id=world.api.pk)
        missing = call(mcp_url, token(world, "outsider"), tool, id=world.api.pk + 10_000)
        assert hidden.is_error and missing.is_error
        assert hidden.text.replace(str(world.api.pk), "N") == missing.text.replace(str(world.api.pk + 10_000), "N")

    by_name = call(mcp_url, token(world, "outsider"), "get_resource", kind="Deployment", name="api")
    assert by_name.is_error and "No Deployment named 'api'" in by_name.text


def test_a_user_in_no_team_sees_nothing_owned(world, mcp_url):
    loner = token(world, "loner")
    assert call(mcp_url, loner, "search_resources").data["results"] == []
    assert call(mcp_url, loner, "get_resource", id=world.claim.pk).is_error
    assert call(mcp_url, loner, "changes_since").data["changes"] == []
    (capability,) = call(mcp_url, loner, "list_capabilities").data["capabilities"]
    assert "instances" not in capability  # the catalog is public; who has instances is not


def test_a_platform_admin_sees_unowned_rows(world, mcp_url):
    answer = call(mcp_url, token(world, "admin"), "search_resources", kind="Instance")
    assert names(answer) == {"Instance/orders-db-x7k2p-rds", "Instance/orders-db-x7k2p-subnet"}


# --- explain_health and resource_tree --------------------------------------------------------------------------------


def test_explain_health_names_the_deepest_failure_its_conditions_and_recent_changes(world, mcp_url):
    answer = call(mcp_url, token(world, "developer"), "explain_health", kind="Database", name="orders-db").data
    assert answer["resource"]["id"] == world.claim.pk
    assert answer["verdict"].startswith("Database orders-db is degraded: the deepest failure is Instance")
    assert "db.x1 is not a DB instance class" in answer["verdict"]
    failing = answer["failing"]
    assert failing["resource"]["id"] == world.instance.pk
    assert failing["conditions"][0]["reason"] == "ReconcileError"
    (change,) = failing["recent_changes"]
    assert change["conditions"][0]["to"] == "False"
    assert answer["conditions"][0]["message"] == "waiting for the composite"


def test_explain_health_of_a_healthy_resource_says_so(world, mcp_url):
    answer = call(mcp_url, token(world, "developer"), "explain_health", id=world.web.pk).data
    assert answer["verdict"] == "Deployment web is healthy."
    assert "failing" not in answer


def test_resource_tree_shows_what_the_caller_may_see_with_the_failure(world, mcp_url):
    answer = call(mcp_url, token(world, "developer"), "resource_tree", id=world.claim.pk).data
    tree = answer["tree"]
    assert (tree["kind"], tree["name"]) == ("Database", "orders-db")
    (composite,) = tree["children"]
    assert composite["relation"] == EdgeRelationChoices.CLAIMS
    assert [child["name"] for child in composite["children"]] == ["orders-db-x7k2p-rds"]  # the subnet is nobody's
    assert answer["failing"]["id"] == world.instance.pk
    assert answer["nodes"] == 3 and "truncated" in answer and answer["truncated"] is False

    admin = call(mcp_url, token(world, "admin"), "resource_tree", id=world.claim.pk).data
    assert admin["nodes"] == 4


def test_a_large_tree_is_capped_top_levels_first(world, mcp_url):
    many = tools.TREE_NODES_SHOWN + 20
    for n in range(many):
        child = ResourceFactory(
            cluster=world.prod, kind="ConfigMap", namespace="payments", name=f"part-{n}", team=world.api.team
        )
        ResourceEdgeFactory(source=child, relation=EdgeRelationChoices.OWNED_BY, target=world.api)
    answer = call(mcp_url, token(world, "developer"), "resource_tree", id=world.api.pk).data
    assert answer["nodes"] == many + 1
    assert answer["truncated"] is True
    assert len(answer["tree"]["children"]) == tools.TREE_NODES_SHOWN - 1


# --- changes_since ---------------------------------------------------------------------------------------------------


def test_changes_since_follows_the_feed_with_a_cursor_and_only_own_team_entries(world, mcp_url):
    first = call(mcp_url, token(world, "developer"), "changes_since", limit=1).data
    assert first["truncated"] is True and first["count"] == 1
    (entry,) = first["changes"]
    assert entry["resource"]["id"] == world.instance.pk and entry["team"] == "payments"

    rest = call(mcp_url, token(world, "developer"), "changes_since", after=first["next_after"]).data
    assert [c["resource"]["name"] for c in rest["changes"]] == ["api"]  # the search team's entry is not shown
    assert rest["changes"][0]["paths"] == ["spec", "status"]

    nothing_new = call(mcp_url, token(world, "developer"), "changes_since", after=rest["next_after"]).data
    assert nothing_new["changes"] == [] and nothing_new["next_after"] == rest["next_after"]

    outsider = call(mcp_url, token(world, "outsider"), "changes_since").data
    assert [c["resource"]["name"] for c in outsider["changes"]] == ["settings"]


def test_changes_since_waits_for_a_new_entry(world, mcp_url):
    cursor = call(mcp_url, token(world, "developer"), "changes_since").data["next_after"]

    def change_later() -> None:
        try:
            ResourceChangeFactory(resource=world.api)
        finally:
            connection.close()  # this thread's own connection

    timer = threading.Timer(0.5, change_later)
    timer.start()
    try:
        waited = call(mcp_url, token(world, "developer"), "changes_since", after=cursor, wait=10).data
    finally:
        timer.join()
    assert [c["resource"]["id"] for c in waited["changes"]] == [world.api.pk]


# --- list_capabilities -----------------------------------------------------------------------------------------------


def test_list_capabilities_lists_xrds_and_describes_one_with_its_schema(world, mcp_url):
    listed = call(mcp_url, token(world, "developer"), "list_capabilities").data
    (capability,) = listed["capabilities"]
    assert capability["name"] == "xdatabases.example.org"
    assert capability["claim_kind"] == "Database" and capability["scope"] == "Cluster"
    assert "schema" not in capability
    assert {(i["team"], i["kind"], i["count"]) for i in capability["instances"]} == {
        ("payments", "XDatabase", 1),
        ("payments", "Database", 1),
    }

    one = call(mcp_url, token(world, "developer"), "list_capabilities", name="xdatabases.example.org").data
    assert one["schema"] == XRD_SCHEMA

    unknown = call(mcp_url, token(world, "developer"), "list_capabilities", name="xnothing.example.org")
    assert unknown.is_error and "No capability named 'xnothing.example.org'" in unknown.text


# --- authentication and audit ----------------------------------------------------------------------------------------


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


BAD_AUTHORIZATIONS = [None, "Bearer dp_0123456789abcdef_wrong", "Bearer", "Bearer not-a-token", "Basic dXNlcjpwdw=="]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS)
def test_a_missing_or_bad_token_gets_401_problem_json(world, mcp_url, authorization):
    headers = dict(ACCEPT, **({"Authorization": authorization} if authorization else {}))
    response = httpx2.post(mcp_url, json=INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_a_revoked_token_gets_401(world, mcp_url):
    revoked = world.tokens["developer"]
    revoked.revoked_at = timezone.now()
    revoked.save(update_fields=["revoked_at"])
    response = httpx2.post(
        mcp_url, json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {revoked.plaintext}"}, timeout=10
    )
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_the_endpoint_answers_without_a_trailing_slash_and_refuses_other_methods(world, mcp_url):
    headers = {**ACCEPT, "Authorization": f"Bearer {token(world, 'developer')}"}
    answered = httpx2.post(mcp_url.rstrip("/"), json=INITIALIZE, headers=headers, timeout=10)
    assert answered.status_code == 200
    assert answered.json()["result"]["serverInfo"]["name"] == "devplat"
    for method in ("GET", "DELETE"):
        refused = httpx2.request(method, mcp_url, headers=headers, timeout=10)
        assert refused.status_code == 405
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_body_over_the_size_limit_gets_413_problem_json(world, mcp_url, settings):
    headers = {**ACCEPT, "Authorization": f"Bearer {token(world, 'developer')}", "Content-Type": "application/json"}
    body = json.dumps({**INITIALIZE, "padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = httpx2.post(mcp_url, content=body, headers=headers, timeout=10)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_mcp_requests_spend_the_tokens_api_rate(world, mcp_url, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", dict.fromkeys(("read", "provision", "admin"), "2/min"))
    headers = {**ACCEPT, "Authorization": f"Bearer {token(world, 'developer')}"}
    for _ in range(2):
        assert httpx2.post(mcp_url, json=INITIALIZE, headers=headers, timeout=10).status_code == 200
    throttled = httpx2.post(mcp_url, json=INITIALIZE, headers=headers, timeout=10)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert int(throttled.headers["retry-after"]) > 0


def test_a_query_cancelled_by_the_statement_timeout_is_a_tool_error_saying_to_narrow_it(world):
    """What a tool answers when PostgreSQL cancels one of its queries (the API's statement timeout, R17)."""
    user = world.tokens["developer"].owner
    caller = tools.Caller(user=user, actor=actor_for(user, face=Face.MCP))

    def slow(_user: Any) -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '50ms'")
            try:
                cursor.execute("SELECT pg_sleep(2)")
            finally:
                cursor.execute("RESET statement_timeout")
        return {}

    with pytest.raises(ToolError) as raised:
        tools._run(caller, slow)
    assert str(raised.value) == tools.QUERY_CANCELLED


def test_tool_queries_and_the_audit_row_run_on_the_requests_own_connection(world):
    """The tools' ORM work runs on the thread serving the request, so it uses (and Django's request cycle closes)
    that thread's connection, under whatever execute wrappers the request has (the API's statement timeout)."""
    seen: list[tuple[str, str]] = []

    def record(execute, sql, params, many, context):
        seen.append((threading.current_thread().name, sql))
        return execute(sql, params, many, context)

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search_resources", "arguments": {}}}
    with connection.execute_wrapper(record):
        response = DjangoClient().post(
            "/mcp/",
            body,
            content_type="application/json",
            headers={**ACCEPT, "Authorization": f"Bearer {token(world, 'developer')}"},
        )
    assert response.status_code == 200
    answer = json.loads(response.json()["result"]["content"][0]["text"])
    assert "api" in {row["name"] for row in answer["results"]}
    here = threading.current_thread().name
    assert any("control_plane_resource" in sql for _, sql in seen)
    assert any(sql.startswith('INSERT INTO "governance_auditevent"') for _, sql in seen)
    assert {thread for thread, _ in seen} == {here}


def test_an_unknown_host_is_refused(world, mcp_url):
    headers = {**ACCEPT, "Authorization": f"Bearer {token(world, 'developer')}", "Host": "evil.example.com"}
    response = httpx2.post(mcp_url, json=INITIALIZE, headers=headers, timeout=10)
    assert response.status_code == 400


def test_every_tool_call_is_audited_under_its_token(world, mcp_url):
    developer = world.tokens["developer"]
    before = AuditEvent.objects.filter(action=audit.ACTION).count()

    async def use(client: ClientSession) -> None:
        await client.call_tool("search_resources", {"health": "degraded"})
        await client.call_tool("get_resource", {"id": world.settings.pk})  # another team's: not found
        await client.call_tool("search_resources", {"limit": 0})  # refused by the input schema: no tool ran
        await client.call_tool("drop_tables", {})  # no such tool
        await client.list_tools()  # not a tool call

    session(mcp_url, developer.plaintext, use)
    rows = list(AuditEvent.objects.filter(action=audit.ACTION).order_by("seq"))[before:]
    assert [row.target_id for row in rows] == ["search_resources", "get_resource", "search_resources", "drop_tables"]
    for row in rows:
        assert row.actor_token == developer.key_id
        assert row.actor_username == "pay-developer"
        assert row.face == Face.MCP
        assert row.target_type == "mcp.tool"
    assert rows[0].after == {"arguments": {"health": "degraded"}, "outcome": "ok"}
    assert rows[1].after["outcome"] == "error"
    assert "No resource with id" in rows[1].after["error"]
    assert rows[2].after["arguments"] == {"limit": 0} and "limit" in rows[2].after["error"]
    assert "Unknown tool" in rows[3].after["error"]
    assert len({row.request_id for row in rows}) == len(rows)  # each call is its own HTTP request


def test_audited_arguments_are_capped(world, mcp_url):
    long_query = "x" * (audit.ARGUMENTS_CHARS * 2)
    call(mcp_url, token(world, "developer"), "search_resources", q=long_query)
    row = AuditEvent.objects.filter(action=audit.ACTION).order_by("-seq").first()
    assert row.after["arguments"] == {"truncated": True, "chars": len(json.dumps({"q": long_query}))}
