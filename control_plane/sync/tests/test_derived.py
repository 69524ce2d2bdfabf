"""What the sync derives as it writes, checked on the demo platform: teams, edges, health and the tree rollup."""

from __future__ import annotations

import pytest

from control_plane.models import Resource, ResourceChange, ResourceEdge
from control_plane.sandbox.seed import RDS_ERROR
from control_plane.sync.engine import sync_window
from identity.models import NamespaceOwnership
from identity.services import namespace_assign, namespace_release
from identity.tests.factories import TeamFactory

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def synced(demo, cluster):
    checkout = TeamFactory(name="checkout")
    namespace_assign(team=checkout, namespace="team-checkout")
    report = sync_window(cluster, seconds=20, once=True)
    assert report is not None and report.errors == {}
    return cluster


def live(**filters) -> Resource:
    return Resource.objects.get(deleted_at__isnull=True, **filters)


def test_a_failing_managed_resource_degrades_its_composites_and_names_the_deepest_failure(synced):
    instance = live(kind="Instance", namespace="team-checkout")
    assert (instance.health, instance.synced) == ("degraded", False)
    assert "InvalidParameterCombination" in instance.health_reason

    database = live(kind="Database", name="checkout-db")
    assert database.health == "progressing"  # its own Ready=False Creating
    assert database.tree_health == "degraded"
    assert database.failing_id == instance.pk
    assert "InvalidParameterCombination" in database.failing_message
    assert RDS_ERROR[:40] in database.failing_message

    healthy = live(kind="Database", name="orders-db")
    assert (healthy.health, healthy.tree_health, healthy.failing_id) == ("healthy", "healthy", None)


def test_references_become_edges(synced):
    database = live(kind="Database", name="checkout-db")
    composed = set(
        ResourceEdge.objects.filter(source=database, relation="composes").values_list("target_kind", "target_name")
    )
    assert ("Instance", "checkout-db-5xq8n") in composed
    instance = live(kind="Instance", namespace="team-checkout")
    relations = set(ResourceEdge.objects.filter(source=instance).values_list("relation", flat=True))
    assert {"owned-by", "uses-secret", "uses-provider-config"} <= relations


def test_team_comes_from_namespace_ownership_then_the_team_label(synced):
    assert live(kind="Instance", namespace="team-checkout").team.name == "checkout"
    assert live(kind="Namespace", name="team-checkout").team.name == "checkout"  # its devplat.io/team label
    settings = {"kind": "ConfigMap", "namespace": "team-payments", "name": "app-settings"}  # no team label
    assert live(**settings).team is None  # team-payments is owned by nobody yet
    assert live(kind="Database", name="orders-db").team is None  # its label names a team that does not exist

    payments = TeamFactory(name="payments")
    assert live(kind="Database", name="orders-db").team_id == payments.pk  # the label now names a team
    namespace_assign(team=payments, namespace="team-payments")
    assert live(**settings).team_id == payments.pk
    history = ResourceChange.objects.filter(resource=live(**settings))
    assert history.exists()
    assert set(history.values_list("team_id", flat=True)) == {payments.pk}, "its history is the new owner's too"
    namespace_release(ownership=NamespaceOwnership.objects.get(namespace="team-payments"))
    assert live(**settings).team is None
    assert live(kind="Database", name="orders-db").team_id == payments.pk


def test_a_cluster_scoped_composite_belongs_to_its_claims_namespace(synced):
    search = TeamFactory(name="search")
    namespace_assign(team=search, namespace="team-search")
    composite = live(kind="XPostgreSQLInstance")
    assert (composite.namespace, composite.labels["crossplane.io/claim-namespace"]) == ("", "team-search")
    assert composite.team_id == search.pk
