"""The authorization matrix (R12 a), generated: every route and method under /api/v1/ as the schema enumerates them,
called by a member of team A, a member of team B, a user in no team, a platform admin and nobody.

What is checked, for every route the URL conf has when the test runs:
- anonymous calls are 401, and writes with a token of a scope below the view's `write_scope` are 403, whoever
  holds it (scopes, not roles);
- a list holds exactly the rows of its admin's list that the caller may see (so never another team's or nobody's);
- a detail route answers 200 for an object the caller may see and 404 for one they may not (404, so ids cannot be
  probed), and writes to an object they see but may not change are 403;
- no successful response shows a caller the mark of a team they are not in, or of unowned rows, whatever its shape.

Who may see what is written out below per model (`VISIBLE`), independently of the code under test. A route this
file cannot classify fails with what to add here, so a new route is never left unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.test import APIClient
from rest_framework.views import APIView

from devplat.tests.api_world import (
    API_PREFIX,
    MARKS,
    SCOPES,
    XRD_NAME,
    Caller,
    Endpoint,
    World,
    api_endpoints,
    build_world,
    fill,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = list(api_endpoints())
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def everyone(caller: Caller, obj: Any) -> bool:
    return True


def nobody(caller: Caller, obj: Any) -> bool:
    return False


def in_team(caller: Caller, obj: Any) -> bool:
    return obj.team_id in caller.teams


# Who, besides platform admins, may see a row of each model exposed by the API: the rules of RELIABILITY R12 and the
# querysets' docstrings, restated. A model missing here fails the routes that expose it until it is taught.
VISIBLE: dict[str, Callable[[Caller, Any], bool]] = {
    "identity.Team": lambda caller, team: team.pk in caller.teams,
    "identity.ApiToken": lambda caller, token: token.owner_id == caller.user.pk,  # no caller administers a team
    "control_plane.Cluster": everyone,
    "control_plane.ResourceType": everyone,
    "control_plane.SyncRun": everyone,
    "control_plane.Resource": in_team,
    "control_plane.ResourceChange": in_team,
    "control_plane.ProvisioningRequest": in_team,
}
# ...and may change (or act on) one they can see. The callers are developers: no team admins among them.
CHANGEABLE: dict[str, Callable[[Caller, Any], bool]] = {
    "identity.Team": nobody,
    "identity.ApiToken": lambda caller, token: token.owner_id == caller.user.pk,
    "control_plane.Cluster": nobody,
    "control_plane.ResourceType": nobody,
    "control_plane.SyncRun": nobody,
    "control_plane.Resource": nobody,
    "control_plane.ResourceChange": nobody,
    "control_plane.ProvisioningRequest": in_team,  # the callers are developers, who request for their teams
}


@dataclass(frozen=True)
class Taught:
    """A detail route whose lookup is not a model row: the values to try, and who may see each."""

    values: Callable[[World], dict[str, Callable[[Caller], bool]]]


# Detail routes keyed by something other than a row of the view's model.
TAUGHT: dict[str, Taught] = {
    # The capability catalog is every signed-in user's (only instance counts are per team).
    "/api/v1/capabilities/{name}/": Taught(
        lambda world: {XRD_NAME: lambda caller: True, "xnothings.example.org": lambda caller: False}
    ),
}


class Unclassified(Exception):
    """The matrix does not know how to check this route."""


@dataclass(frozen=True)
class Route:
    """What the matrix knows of an endpoint: the model its rows are, and how its path picks one."""

    endpoint: Endpoint
    kind: str  # "list" (rows of `model`), "collection" (anything else without a lookup), "detail", "taught"
    model: type[models.Model] | None = None
    lookup_field: str = "pk"


def item_model(view: type) -> type[models.Model] | None:
    serializer = getattr(view, "serializer_class", None)
    if isinstance(serializer, type) and issubclass(serializer, serializers.ModelSerializer):
        return serializer.Meta.model
    return None


def classify(endpoint: Endpoint) -> Route:
    teach = "Teach devplat/tests/test_api_matrix.py about it"
    if endpoint.path in TAUGHT:
        return Route(endpoint, "taught")
    model = item_model(endpoint.view)
    if model is not None and model._meta.label not in VISIBLE:
        raise Unclassified(f"{endpoint.id} serves {model._meta.label} rows. {teach}: add who may see them to VISIBLE.")
    if not endpoint.params:
        return Route(endpoint, "list" if endpoint.action == "list" and model is not None else "collection", model)
    view = endpoint.view
    lookup_field = getattr(view, "lookup_field", None)
    lookup_kwarg = getattr(view, "lookup_url_kwarg", None) or lookup_field
    queryset = getattr(view, "queryset", None)
    if (
        not issubclass(view, GenericAPIView)
        or endpoint.params[0] != lookup_kwarg
        or model is None
        or queryset is None
        or queryset.model is not model
    ):
        raise Unclassified(
            f"{endpoint.id}: its path parameter {endpoint.params[0]!r} is not the lookup of a {model} row its view "
            f"serves. {teach}: add the route to TAUGHT with the values to try and who may see each."
        )
    return Route(endpoint, "detail", model, str(lookup_field))


# --- calling ---------------------------------------------------------------------------------------------------------


def client_for(caller: Caller | None, scope: str = "read") -> APIClient:
    client = APIClient()
    if caller is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {caller.tokens[scope]}")
    return client


def call(client: APIClient, method: str, path: str) -> Any:
    if method in WRITES:
        return getattr(client, method.lower())(path, {}, format="json")
    return getattr(client, method.lower())(path)


class Findings(list[str]):
    def expect(self, response: Any, status: int, who: str, what: str) -> bool:
        if response.status_code != status:
            self.append(f"{who}: {what} answered {response.status_code}, expected {status}: {response.content[:300]!r}")
            return False
        return True

    def no_marks(self, response: Any, caller: Caller, what: str) -> None:
        body = response.content.decode()
        for mark in caller.hidden_marks:
            if mark in body:
                at = body.index(mark)
                context = body[max(0, at - 120) : at + 60]
                self.append(f"{caller.name}: {what} shows {mark!r} (not theirs): ...{context}...")


def list_rows(client: APIClient, path: str, findings: Findings, who: str) -> list[Any] | None:
    """Every row of a list, following `next` links at the largest page size."""
    rows: list[Any] = []
    url: str | None = f"{path}?page_size={settings.DEVPLAT_MAX_PAGE_SIZE}"
    while url:
        response = client.get(url)
        if not findings.expect(response, 200, who, f"GET {path}"):
            return None
        body = response.json()
        if isinstance(body, list):
            return rows + body
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            findings.append(f"GET {path}: a list body is a list or a page with `results`; got {str(body)[:200]}")
            return None
        rows += body["results"]
        url = body.get("next") if isinstance(body.get("next"), str) else None
    return rows


def key_field(route: Route) -> str:
    """The member of a row's JSON that identifies it: its lookup (`id` for lookups by primary key)."""
    return "id" if route.lookup_field in ("pk", "id") else route.lookup_field


def row_key(row: Any, route: Route) -> Any:
    field = key_field(route)
    if not isinstance(row, dict) or field not in row:
        raise Unclassified(f"{route.endpoint.id}: its items are not objects with {field!r}: teach the matrix them.")
    return row[field]


def rows_of(route: Route) -> list[models.Model]:
    assert route.model is not None
    return list(route.model._default_manager.order_by("pk"))


def key_of(obj: models.Model, route: Route) -> Any:
    return obj.pk if key_field(route) == "id" else getattr(obj, route.lookup_field)


# --- the matrix ------------------------------------------------------------------------------------------------------


@pytest.fixture
def world(db) -> World:
    return build_world()


def test_the_api_has_the_routes_the_matrix_walks():
    """Guards the generator: an empty walk would pass every check below."""
    paths = {endpoint.path for endpoint in ENDPOINTS}
    assert {"/api/v1/me/", "/api/v1/teams/", "/api/v1/clusters/{name}/"} <= paths
    assert len(ENDPOINTS) >= 20


def test_every_route_under_api_v1_is_a_drf_view_the_matrix_walks():
    """A plain Django view under /api/v1/ would not be enumerated with the schema, and so would go unchecked."""

    def walk(patterns: list[Any], prefix: str) -> list[tuple[str, Any]]:
        found = []
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.append((route, pattern.callback))
        return found

    routes = walk(get_resolver().url_patterns, "")
    api = [(route, callback) for route, callback in routes if route.startswith("api/v1/")]
    assert api
    for route, callback in api:
        view = getattr(callback, "cls", None)
        assert isinstance(view, type) and issubclass(view, APIView), f"{route} is not a DRF view: teach the matrix"
    walked = {endpoint.view for endpoint in ENDPOINTS}
    assert {callback.cls for _, callback in api} <= walked


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.id)
def test_authorization_matrix(endpoint: Endpoint, world: World):
    try:
        route = classify(endpoint)
    except Unclassified as exc:
        pytest.fail(str(exc))
    findings = Findings()
    method = endpoint.method
    callers = list(world.callers.values())

    anonymous = call(client_for(None), method, fill(endpoint, "1"))
    findings.expect(anonymous, 401, "anonymous", f"{method} {endpoint.path}")

    if method in WRITES:
        check_writes(route, callers, findings)
    else:
        try:
            check_reads(route, world, callers, findings)
        except Unclassified as exc:
            pytest.fail(str(exc))
    assert not findings, "\n".join(findings)


def check_writes(route: Route, callers: list[Caller], findings: Findings) -> None:
    endpoint, method = route.endpoint, route.endpoint.method
    objects = rows_of(route) if route.kind == "detail" else [None]
    # The scopes below the one the view's writes need (IsAuthenticatedWithScope): refused whoever holds the token.
    needed = getattr(endpoint.view, "write_scope", "admin")
    too_small = SCOPES[: SCOPES.index(needed)]
    assert "read" in too_small
    for caller in callers:
        for scope in too_small:
            for obj in objects:
                path = fill(endpoint, key_of(obj, route) if obj is not None else None)
                response = call(client_for(caller, scope), method, path)
                findings.expect(response, 403, caller.name, f"{method} {path} with a {scope} token")
        if route.kind != "detail" or caller.is_admin:
            continue  # what may be created, and what admins may do, is each app's own API tests' to check
        label = route.model._meta.label  # type: ignore[union-attr]
        for obj in objects:
            path = fill(endpoint, key_of(obj, route))
            if not VISIBLE[label](caller, obj):
                expected = 404
            elif not CHANGEABLE[label](caller, obj):
                expected = 403
            else:
                continue  # a write that would succeed: not sent, so the other checks keep their world
            response = call(client_for(caller, "admin"), method, path)
            findings.expect(response, expected, caller.name, f"{method} {path} ({obj!r}) with an admin token")


def check_reads(route: Route, world: World, callers: list[Caller], findings: Findings) -> None:
    endpoint = route.endpoint
    if route.kind == "list":
        check_list(route, world, callers, findings)
    elif route.kind == "collection":
        path = fill(endpoint)
        for caller in callers:
            response = client_for(caller).get(path)
            if findings.expect(response, 200, caller.name, f"GET {path}"):
                findings.no_marks(response, caller, f"GET {path}")
    elif route.kind == "taught":
        for value, may_see in TAUGHT[endpoint.path].values(world).items():
            for caller in callers:
                path = fill(endpoint, value)
                response = client_for(caller).get(path)
                if findings.expect(response, 200 if may_see(caller) else 404, caller.name, f"GET {path}"):
                    findings.no_marks(response, caller, f"GET {path}")
    else:
        check_detail(route, callers, findings)


def check_list(route: Route, world: World, callers: list[Caller], findings: Findings) -> None:
    path = fill(route.endpoint)
    admin = next(caller for caller in callers if caller.is_admin)
    admin_rows = list_rows(client_for(admin), path, findings, admin.name)
    if admin_rows is None:
        return
    listed = {row_key(row, route) for row in admin_rows}
    assert route.model is not None
    rows = {key_of(obj, route): obj for obj in rows_of(route)}
    label = route.model._meta.label
    # The world's own rows of this model (every owner's) are in the admin's list: the check below is not vacuous.
    planted = {key_of(obj, route) for objs in world.owned.values() for obj in objs if isinstance(obj, route.model)}
    if not planted <= listed:
        findings.append(f"admin: GET {path} leaves out rows a platform admin sees: {sorted(planted - listed)}")
    for caller in callers:
        if caller.is_admin:
            continue
        caller_rows = list_rows(client_for(caller), path, findings, caller.name)
        if caller_rows is None:
            continue
        got = {row_key(row, route) for row in caller_rows}
        expected = {key for key in listed if key in rows and VISIBLE[label](caller, rows[key])}
        if got - expected:
            findings.append(f"{caller.name}: GET {path} lists rows they may not see: {sorted(got - expected)}")
        if expected - got:
            findings.append(f"{caller.name}: GET {path} leaves out rows of theirs: {sorted(expected - got)}")
        body = json.dumps(caller_rows)
        for mark in caller.hidden_marks:
            if mark in body:
                findings.append(f"{caller.name}: GET {path} shows {mark!r}, which is not theirs")


def check_detail(route: Route, callers: list[Caller], findings: Findings) -> None:
    endpoint = route.endpoint
    label = route.model._meta.label  # type: ignore[union-attr]
    for obj in rows_of(route):
        path = fill(endpoint, key_of(obj, route))
        for caller in callers:
            may_see = VISIBLE[label](caller, obj) or caller.is_admin
            response = client_for(caller).get(path)
            if not findings.expect(response, 200 if may_see else 404, caller.name, f"GET {path} ({obj!r})"):
                continue
            if not may_see:
                continue
            findings.no_marks(response, caller, f"GET {path}")
            if endpoint.action == "retrieve":
                body = response.json()
                if body.get(key_field(route)) != key_of(obj, route):
                    findings.append(f"{caller.name}: GET {path} answered with another object: {str(body)[:200]}")


def test_the_marks_are_where_the_matrix_looks_for_them(world: World):
    """The leak check looks for marks: each team's member sees their own team's, so the marks are really in the
    bodies of what the API returns, and their absence elsewhere means something."""
    for owner in ("a", "b"):
        caller = world.callers[f"team-{owner}"]
        body = client_for(caller).get(f"{API_PREFIX}teams/").content.decode()
        assert MARKS[owner] in body
    admin = client_for(world.callers["admin"]).get(f"{API_PREFIX}teams/").content.decode()
    assert MARKS["a"] in admin
    assert MARKS["b"] in admin
