"""Every inventory list costs the same number of queries for a page of 3 rows as for a page of 40 (STYLE.md: guard
hot endpoints with `django_assert_max_num_queries`), for a team member and for a platform admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from control_plane.choices import EdgeRelationChoices, HealthChoices
from control_plane.tests import test_api_inventory as shared
from control_plane.tests.inventory_factories import (
    CompositeFactory,
    InventoryWorld,
    ManagedResourceFactory,
    ResourceChangeFactory,
    ResourceEdgeFactory,
    ResourceTypeFactory,
    SyncRunFactory,
    XrdFactory,
    add_deployments,
)
from control_plane.tree import rollup

pytestmark = pytest.mark.django_db
world, clients = shared.world, shared.clients
MORE = 40


def more_deployments(world: InventoryWorld) -> None:
    add_deployments(world, MORE)


def more_changes(world: InventoryWorld) -> None:
    for n in range(MORE):
        ResourceChangeFactory(resource=world.web if n % 2 else world.claim)


def more_failing_trees(world: InventoryWorld) -> None:
    roots = []
    for n in range(MORE // 4):
        composite = CompositeFactory(cluster=world.prod, name=f"db-{n}", team=world.web.team)
        child = ManagedResourceFactory(
            cluster=world.prod,
            name=f"db-{n}-rds",
            health=HealthChoices.DEGRADED,
            health_reason="broken",
            team=world.web.team,
        )
        ResourceEdgeFactory(source=composite, relation=EdgeRelationChoices.COMPOSES, target=child)
        roots.append(composite.pk)
    rollup(roots)


def more_types(world: InventoryWorld) -> None:
    for n in range(MORE):
        ResourceTypeFactory(cluster=world.prod, group="example.org", kind=f"Widget{n}")


def more_runs(world: InventoryWorld) -> None:
    for _ in range(MORE):
        SyncRunFactory(cluster=world.prod, resource_type=world.web.resource_type)


def more_capabilities(world: InventoryWorld) -> None:
    for n in range(MORE // 4):
        XrdFactory(
            cluster=world.prod,
            name=f"xwidgets{n}.example.org",
            ready=None,
            spec={"group": "example.org", "names": {"kind": f"XWidget{n}", "plural": f"xwidgets{n}"}, "versions": []},
        )


def more_history(world: InventoryWorld) -> None:
    for _ in range(MORE):
        ResourceChangeFactory(resource=world.claim)


def more_children(world: InventoryWorld) -> None:
    for n in range(MORE):
        child = ManagedResourceFactory(cluster=world.prod, name=f"part-{n}", team=world.web.team if n % 3 else None)
        ResourceEdgeFactory(source=world.composite, relation=EdgeRelationChoices.COMPOSES, target=child)


# (name, url or a function of the world giving it, query parameters, how to add rows, the most queries it may cost).
# A member's budget: the token, 1 for the user's grants (restrict), 1 for a label selector's index probe, one per
# name a filter resolves (cluster, kind, team), then the endpoint's own: the page (types, runs); the page and which
# of its rows' failures are hidden, when a row has one (resources); the newest id and the page
# (changes); the counts, the names of their clusters and teams, the failing trees and which of their failures
# are visible (health); the XRDs and one count
# (capabilities); the resource and its entries (history); the resource, the tree walk and its members (tree).
ENDPOINTS: list[tuple[str, Any, dict[str, Any], Callable[[InventoryWorld], None], int]] = [
    ("resources", "/api/v1/resources/", {"page_size": 100}, more_deployments, 5),
    (
        "resources-filtered",
        "/api/v1/resources/",
        {
            "kind": "deployments",
            "namespace": "payments",
            "cluster": "prod",
            "team": "payments",
            "label_selector": "app in (web,api)",
            "fields": "id,cluster,team,name,labels",
            "page_size": 100,
        },
        more_deployments,
        7,
    ),
    ("changes", "/api/v1/changes/", {"after": 0, "page_size": 100, "kind": "Deployment"}, more_changes, 6),
    ("health", "/api/v1/health/", {}, more_failing_trees, 8),
    ("resource-types", "/api/v1/resource-types/", {"page_size": 100}, more_types, 2),
    ("sync-runs", "/api/v1/sync-runs/", {"page_size": 100, "cluster": "prod"}, more_runs, 3),
    ("capabilities", "/api/v1/capabilities/", {}, more_capabilities, 5),
    ("history", lambda w: f"/api/v1/resources/{w.claim.pk}/history/", {"limit": 100}, more_history, 5),
    ("tree", lambda w: f"/api/v1/resources/{w.claim.pk}/tree/", {}, more_children, 6),
]


def count_queries(client: Any, url: str, params: dict[str, Any]) -> tuple[int, int]:
    client.get(url, params)  # warm up: a token's last-used time is written on its first use only
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.content)


@pytest.mark.parametrize("role", ["member", "admin"])
@pytest.mark.parametrize(("name", "url", "params", "grow", "budget"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_a_list_costs_the_same_queries_for_few_rows_as_for_many(
    world, clients, django_assert_max_num_queries, role, name, url, params, grow, budget
):
    client = clients[role]
    url = url(world) if callable(url) else url
    few, small = count_queries(client, url, params)
    grow(world)
    many, large = count_queries(client, url, params)

    assert large > small  # the bigger answer really holds more rows
    assert many == few
    with django_assert_max_num_queries(budget):
        client.get(url, params)
