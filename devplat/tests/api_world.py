"""A populated platform for the generic API tests, and the list of the API's endpoints they walk.

Four callers: a member of team A, a member of team B, a user in no team and a platform admin, each with a token
per scope. Inventory rows of team A, of team B and of no team (with their types, edges, changes and a sync run),
plus an XRD every signed-in user may read about. Every row, team and user that only some callers may see carries
its owner's mark (`zq7a`, `zq7b`, `zq7u`) in its names, labels and messages, so a leak shows as the mark in a
response body, whatever the shape of that body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from drf_spectacular.generators import EndpointEnumerator

from control_plane.choices import ChangeTypeChoices, EdgeRelationChoices, HealthChoices
from control_plane.models import Cluster
from control_plane.provisioning.tests.factories import ProvisioningRequestFactory
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import (
    ClaimFactory,
    CompositeFactory,
    ManagedResourceFactory,
    ResourceChangeFactory,
    ResourceEdgeFactory,
    ResourceFactory,
    SyncRunFactory,
    XrdFactory,
    compose,
)
from control_plane.tree import rollup
from identity import services
from identity.models import Team
from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

API_PREFIX = "/api/v1/"
SCOPES = ("read", "provision", "admin")
MARKS = {"a": "zq7a", "b": "zq7b", "unowned": "zq7u"}
XRD_NAME = "xdatabases.example.org"
# Path parameters that narrow a collection instead of picking a row, and the world's value for each.
SCOPE_PARAMS = {"capability": XRD_NAME}


@dataclass
class Caller:
    """Someone calling the API, with a token of each scope (`tokens[scope]` is the plaintext)."""

    name: str
    user: Any
    teams: frozenset[int]
    tokens: dict[str, str]
    is_admin: bool = False

    @property
    def hidden_marks(self) -> tuple[str, ...]:
        """The marks of what this caller may not see: other teams' and nobody's."""
        if self.is_admin:
            return ()
        visible = {MARKS[owner] for owner in ("a", "b") if self.name == f"team-{owner}"}
        return tuple(mark for mark in MARKS.values() if mark not in visible)


@dataclass
class World:
    callers: dict[str, Caller]
    cluster: Cluster
    teams: dict[str, Team]
    # Rows by owner ("a", "b", "unowned"): the objects a detail route is tried with.
    owned: dict[str, list[models.Model]] = field(default_factory=dict)


def build_world() -> World:
    """Teams A and B (each owning a namespace), their members, a user in no team, a platform admin; then the
    inventory. Everything goes through the factories, so each row is valid as the sync would write it."""
    team_a, team_b = TeamFactory(name=f"alpha-{MARKS['a']}"), TeamFactory(name=f"bravo-{MARKS['b']}")
    for team in (team_a, team_b):
        services.namespace_assign(team=team, namespace=team.name)
    users = {
        "team-a": MembershipFactory(team=team_a, user=UserFactory(username=f"alice-{MARKS['a']}")).user,
        "team-b": MembershipFactory(team=team_b, user=UserFactory(username=f"bob-{MARKS['b']}")).user,
        "no-team": UserFactory(username="carol"),
        "admin": UserFactory(username="root-admin", platform_admin=True),
    }
    teams_of = {"team-a": frozenset({team_a.pk}), "team-b": frozenset({team_b.pk})}
    callers = {
        name: Caller(
            name=name,
            user=user,
            teams=teams_of.get(name, frozenset()),
            tokens={scope: ApiTokenFactory(owner=user, scope=scope).plaintext for scope in SCOPES},
            is_admin=name == "admin",
        )
        for name, user in users.items()
    }
    cluster = ClusterFactory(name="matrix")
    world = World(callers=callers, cluster=cluster, teams={"a": team_a, "b": team_b})
    world.owned = {
        "a": _stack(cluster, team_a),
        "b": [
            ResourceFactory(
                cluster=cluster,
                api_group="apps",
                kind="Deployment",
                namespace=team_b.name,
                name=f"web-{MARKS['b']}",
                labels={"app": "web", "owner": MARKS["b"]},
                health=HealthChoices.DEGRADED,
                health_reason=f"ProgressDeadlineExceeded: web-{MARKS['b']} has 0/2 replicas",
                team=team_b,
            )
        ],
        "unowned": [
            ResourceFactory(
                cluster=cluster,
                namespace=f"nobody-{MARKS['unowned']}",
                name=f"orphan-{MARKS['unowned']}",
                labels={"owner": MARKS["unowned"]},
            )
        ],
    }
    XrdFactory(cluster=cluster, name=XRD_NAME)  # no team's, yet the catalog every signed-in user reads
    for owner in ("a", "b", "unowned"):
        resource = world.owned[owner][0]
        change = ResourceChangeFactory(resource=resource, change_type=ChangeTypeChoices.ADDED)
        world.owned[owner].append(change)
    SyncRunFactory(cluster=cluster, resource_type=world.owned["a"][0].resource_type)  # type: ignore[attr-defined]
    for owner in ("a", "b"):
        world.owned[owner].append(
            ProvisioningRequestFactory(
                team=world.teams[owner],
                cluster=cluster,
                capability=XRD_NAME,
                api_version="example.org/v1alpha1",
                kind="XDatabase",
                name=f"orders-{MARKS[owner]}",
                parameters={"owner": MARKS[owner]},
            )
        )
    return world


def _stack(cluster: Cluster, team: Team) -> list[models.Model]:
    """Team A's Deployment and a database claim -> composite -> managed instance of its own, plus a subnet the
    composite made that no team owns and that is the tree's only failure: a caller of team A must see the stack
    but neither the subnet nor its message."""
    mark, hidden = MARKS["a"], MARKS["unowned"]
    web = ResourceFactory(
        cluster=cluster,
        api_group="apps",
        kind="Deployment",
        namespace=team.name,
        name=f"web-{mark}",
        labels={"app": "web", "owner": mark},
        team=team,
    )
    stack = {"cluster": cluster, "team": team, "health": HealthChoices.PROGRESSING, "ready": False, "synced": True}
    claim = ClaimFactory(namespace=team.name, name=f"db-{mark}", spec={"size": "small"}, **stack)
    composite = CompositeFactory(name=f"db-{mark}-x7k2p", **stack)
    managed = {"cluster": cluster, "api_group": "ec2.aws.upbound.io"}
    instance = ManagedResourceFactory(name=f"db-{mark}-rds", team=team, **managed)
    subnet = ManagedResourceFactory(
        kind="Subnet",
        name=f"net-{hidden}",
        health=HealthChoices.DEGRADED,
        health_reason=f"ReconcileError: subnet net-{hidden} overlaps 10.0.0.0/16",
        ready=False,
        synced=False,
        labels={"owner": hidden},
        **managed,
    )
    ResourceEdgeFactory(source=claim, relation=EdgeRelationChoices.CLAIMS, target=composite)
    compose(composite, instance, subnet)
    rollup([claim.pk, composite.pk])
    return [web, claim, composite, instance]


@dataclass(frozen=True)
class Endpoint:
    """One route and method of the API, as drf-spectacular enumerates them for the schema."""

    path: str  # with `{kwarg}` placeholders, as in the URL conf
    method: str
    view: type
    action: str | None
    initkwargs: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        """The path parameters that pick a row (those in SCOPE_PARAMS only narrow the collection)."""
        return [name for name in re.findall(r"{(\w+)}", self.path) if name not in SCOPE_PARAMS]


def api_endpoints() -> Iterator[Endpoint]:
    """Every route and method under /api/v1/: what the schema documents and the router serves."""
    for path, _, method, callback in EndpointEnumerator().get_api_endpoints():
        if path.startswith(API_PREFIX):
            actions = getattr(callback, "actions", None) or {}
            yield Endpoint(path, method, callback.cls, actions.get(method.lower()), dict(callback.initkwargs))


def fill(endpoint: Endpoint, lookup: Any = None) -> str:
    """The path with `lookup` for its first parameter and, for any other, a value their patterns accept."""
    path = endpoint.path
    for name, value in SCOPE_PARAMS.items():
        path = path.replace("{" + name + "}", value)
    for index, name in enumerate(endpoint.params):
        path = path.replace("{" + name + "}", str(lookup) if index == 0 else "x1", 1)
    return path
