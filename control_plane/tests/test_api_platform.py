"""Platform state for agents: health counts and failing trees, synced types with their sync state, the sync ledger,
and the capability catalog with per-team instance counts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from control_plane.choices import SyncModeChoices
from control_plane.models import Resource, ResourceType
from control_plane.tests import test_api_inventory as shared
from control_plane.tests.factories import ClusterFactory
from control_plane.tests.inventory_factories import XRD_SCHEMA, CompositeFactory, SyncRunFactory, XrdFactory
from control_plane.tests.test_api_inventory import assert_problem, instance_failure

pytestmark = pytest.mark.django_db
world, clients, unowned_failure = shared.world, shared.clients, shared.unowned_failure


def get(client: Any, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def counts(**by_health: int) -> dict[str, int]:
    row = {"healthy": 0, "progressing": 0, "degraded": 0, "unknown": 0, **by_health}
    return {**row, "total": sum(row.values())}


# --- health ----------------------------------------------------------------------------------------------------------


def test_health_counts_what_a_member_may_see_per_cluster_and_team(world, clients):
    body = get(clients["member"], "/api/v1/health/")

    assert body["totals"] == counts(healthy=2, progressing=2, degraded=2)
    assert body["by_cluster"] == [
        {"cluster": "prod", **counts(healthy=1, progressing=2, degraded=2)},
        {"cluster": "staging", **counts(healthy=1)},
    ]
    assert body["by_team"] == [{"team": "payments", **counts(healthy=2, progressing=2, degraded=2)}]


def test_health_lists_failing_composites_and_claims_with_their_deepest_failure(world, clients):
    body = get(clients["member"], "/api/v1/health/")

    assert [entry["resource"]["id"] for entry in body["failing"]] == [world.claim.pk, world.composite.pk]
    claim = body["failing"][0]
    assert (claim["team"], claim["health"], claim["tree_health"]) == ("payments", "progressing", "degraded")
    assert (claim["message"], claim["failure_hidden"]) == (world.instance.health_reason, False)
    assert claim["deepest_failure"] == instance_failure(world)
    assert body["failing_truncated"] is False


def test_admins_see_unowned_rows_counted_under_no_team(world, clients):
    body = get(clients["admin"], "/api/v1/health/")

    assert body["totals"]["total"] == 9
    assert body["by_team"] == [
        {"team": "payments", **counts(healthy=2, progressing=2, degraded=2)},
        {"team": "search", **counts(healthy=1)},
        {"team": None, **counts(healthy=2)},  # the subnet and the XRD
    ]


@pytest.mark.parametrize("role", ["outsider", "loner"])
def test_health_of_other_callers_holds_none_of_the_payments_trouble(world, clients, role):
    body = get(clients[role], "/api/v1/health/")

    assert body["failing"] == []
    assert body["totals"] == (counts(healthy=1) if role == "outsider" else counts())


def test_a_failure_the_caller_may_not_see_is_not_named_in_health(unowned_failure, clients):
    mine = get(clients["member"], "/api/v1/health/")["failing"]
    admins = get(clients["admin"], "/api/v1/health/")["failing"]

    assert [(entry["deepest_failure"], entry["failure_hidden"]) for entry in mine] == [(None, True), (None, True)]
    assert mine[0]["message"] == "Creating"  # the claim's own reason, not the hidden subnet's
    assert "SubnetGone" not in str(mine)
    assert [entry["deepest_failure"]["name"] for entry in admins] == ["orders-db-x7k2p-subnet"] * 2


# --- resource types --------------------------------------------------------------------------------------------------


def test_resource_types_show_their_sync_state_to_every_signed_in_user(world, clients):
    ResourceType.objects.filter(cluster=world.prod, plural="deployments").update(
        cursor="81234",
        last_list_at=timezone.now() - datetime.timedelta(hours=1),
        last_event_at=timezone.now() - datetime.timedelta(seconds=30),
        lag_ms=45,
        object_count=2,
        last_error="watch: connection reset",
        error_count=1,
    )

    rows = get(clients["loner"], "/api/v1/resource-types/", kind="deployments", cluster="prod")["results"]

    assert len(rows) == 1
    row = rows[0]
    assert (row["key"], row["api_version"], row["cluster"], row["category"]) == (
        "deployments.apps",
        "apps/v1",
        "prod",
        "core",
    )
    assert (row["has_cursor"], row["lag_ms"], row["object_count"]) == (True, 45, 2)
    assert 30 <= row["cursor_age_seconds"] < 60
    assert (row["last_error"], row["error_count"]) == ("watch: connection reset", 1)
    assert len(get(clients["loner"], "/api/v1/resource-types/")["results"]) == ResourceType.objects.count()


def test_a_type_never_listed_has_no_cursor_and_no_age(world, clients):
    row = get(clients["member"], "/api/v1/resource-types/", kind="ConfigMap")["results"][0]

    assert (row["has_cursor"], row["cursor_age_seconds"]) == (False, None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cluster": "staging"}, {"deployments.apps"}),
        ({"kind": "Deployment"}, {"deployments.apps"}),
        ({"group": "core"}, {"configmaps"}),
        ({"category": "managed"}, {"instances.rds.aws.upbound.io"}),
        ({"category": "composite", "cluster": "prod"}, {"xdatabases.example.org"}),
    ],
)
def test_resource_type_filters(world, clients, params, expected):
    rows = get(clients["member"], "/api/v1/resource-types/", **params)["results"]

    assert {row["key"] for row in rows} == expected


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("category", "gadgets"), ("category", ""), ("kind", "Gadget"), ("cluster", "nowhere"), ("group", "x.io")],
)
def test_bad_resource_type_filters_are_a_400(world, clients, parameter, value):
    response = clients["member"].get("/api/v1/resource-types/", {parameter: value})

    assert_problem(response, 400, parameter=parameter)


def test_one_resource_type_by_id(world, clients):
    resource_type = world.instance.resource_type

    assert get(clients["member"], f"/api/v1/resource-types/{resource_type.pk}/")["kind"] == "Instance"
    assert_problem(clients["member"].get("/api/v1/resource-types/999999/"), 404)


# --- sync runs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def runs(world) -> dict[str, Any]:
    deployments = world.web.resource_type
    configmaps = world.settings.resource_type
    return {
        "prod-list": SyncRunFactory(cluster=world.prod, resource_type=deployments, mode=SyncModeChoices.LIST),
        "prod-watch": SyncRunFactory(cluster=world.prod, resource_type=deployments, mode=SyncModeChoices.WATCH),
        "staging-watch": SyncRunFactory(
            cluster=world.staging, resource_type=world.web_staging.resource_type, mode=SyncModeChoices.WATCH
        ),
        "configmaps-resync": SyncRunFactory(
            cluster=world.prod, resource_type=configmaps, mode=SyncModeChoices.RESYNC, error="410 Gone", repaired=2
        ),
    }


def test_sync_runs_are_newest_first_for_every_signed_in_user(runs, clients):
    rows = get(clients["loner"], "/api/v1/sync-runs/")["results"]

    assert [row["id"] for row in rows] == sorted((run.pk for run in runs.values()), reverse=True)
    resync = rows[0]
    assert (resync["cluster"], resync["type"], resync["mode"]) == ("prod", "configmaps", "resync")
    assert (resync["error"], resync["repaired"], resync["added"]) == ("410 Gone", 2, 3)
    assert resync["duration_seconds"] == pytest.approx(3, abs=0.5)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cluster": "staging"}, ["staging-watch"]),
        ({"type": "deployments.apps"}, ["staging-watch", "prod-watch", "prod-list"]),
        ({"type": "deployments", "cluster": "prod"}, ["prod-watch", "prod-list"]),
        ({"mode": "watch"}, ["staging-watch", "prod-watch"]),
        ({"type": "ConfigMap", "mode": "resync"}, ["configmaps-resync"]),
    ],
)
def test_sync_run_filters(runs, clients, params, expected):
    rows = get(clients["member"], "/api/v1/sync-runs/", **params)["results"]

    assert [row["id"] for row in rows] == [runs[name].pk for name in expected]


@pytest.mark.parametrize(
    ("parameter", "value"), [("mode", "sometimes"), ("mode", ""), ("type", "gadgets"), ("cluster", "x")]
)
def test_bad_sync_run_filters_are_a_400(runs, clients, parameter, value):
    assert_problem(clients["member"].get("/api/v1/sync-runs/", {parameter: value}), 400, parameter=parameter)


def test_one_sync_run_by_id(runs, clients):
    assert get(clients["member"], f"/api/v1/sync-runs/{runs['prod-list'].pk}/")["mode"] == "list"
    assert_problem(clients["member"].get("/api/v1/sync-runs/999999/"), 404)


# --- capabilities ----------------------------------------------------------------------------------------------------


def test_the_capability_catalog_describes_each_xrd_with_its_parameter_schema(world, clients):
    (capability,) = get(clients["member"], "/api/v1/capabilities/")["results"]

    assert capability == {
        "name": "xdatabases.example.org",
        "group": "example.org",
        "kind": "XDatabase",
        "plural": "xdatabases",
        "claim_kind": "Database",
        "claim_plural": "databases",
        "scope": "Cluster",
        "versions": [
            {"name": "v1alpha0", "served": True, "referenceable": False},
            {"name": "v1alpha1", "served": True, "referenceable": True},
        ],
        "version": "v1alpha1",
        "schema": XRD_SCHEMA,
        "ready": True,
        "clusters": ["prod"],
        "instances": [
            {"team": "payments", "kind": "Database", "count": 1},
            {"team": "payments", "kind": "XDatabase", "count": 1},
        ],
    }


@pytest.mark.parametrize("role", ["outsider", "loner"])
def test_everyone_sees_the_catalog_but_only_counts_of_instances_they_may_see(world, clients, role):
    (capability,) = get(clients[role], "/api/v1/capabilities/")["results"]

    assert (capability["name"], capability["instances"]) == ("xdatabases.example.org", [])


def test_admins_count_unowned_instances_too(world, clients):
    CompositeFactory(cluster=world.prod, name="orphan")

    admins = get(clients["admin"], "/api/v1/capabilities/xdatabases.example.org/")["instances"]
    mine = get(clients["member"], "/api/v1/capabilities/xdatabases.example.org/")["instances"]

    assert {"team": None, "kind": "XDatabase", "count": 1} in admins
    assert all(row["team"] == "payments" for row in mine)


def test_an_xrd_in_several_clusters_is_one_capability_described_by_the_newest(world, clients):
    spec = {**world.xrd.spec, "versions": [{"name": "v1", "served": True, "referenceable": True, "schema": {}}]}
    XrdFactory(
        cluster=ClusterFactory(name="edge"),
        version="v1",
        ready=None,
        spec={key: value for key, value in spec.items() if key != "scope"},
        last_seen_at=timezone.now() + datetime.timedelta(seconds=5),
    )

    (capability,) = get(clients["member"], "/api/v1/capabilities/")["results"]

    assert capability["clusters"] == ["edge", "prod"]
    assert (capability["version"], capability["schema"]) == ("v1", {})
    assert capability["scope"] == "LegacyCluster"  # a v1 XRD without a scope


def test_a_deleted_xrd_is_no_longer_offered(world, clients):
    Resource.objects.filter(pk=world.xrd.pk).update(deleted_at=timezone.now(), deleted_reason="deleted")

    assert get(clients["member"], "/api/v1/capabilities/")["results"] == []
    assert_problem(clients["member"].get("/api/v1/capabilities/xdatabases.example.org/"), 404)


def test_an_unknown_capability_is_404(world, clients):
    body = assert_problem(clients["member"].get("/api/v1/capabilities/xnothing.example.org/"), 404)

    assert "GET /api/v1/capabilities/" in body["detail"]
