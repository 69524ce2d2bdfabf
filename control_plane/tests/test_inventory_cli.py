"""`devplat resources list|get|tree`, driven as a developer and an admin would, against inventory rows in PostgreSQL."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from control_plane.choices import EdgeRelationChoices
from control_plane.models import Resource
from control_plane.selectors import HIDDEN_FAILURE_MESSAGE, resources_for
from control_plane.tests import test_api_inventory as shared
from control_plane.tests.inventory_factories import ManagedResourceFactory, ResourceEdgeFactory, add_deployments
from devplat.tests.support import assert_error, call_devplat

# `--as root-admin` acts as the platform admin, so that user must exist.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_admin")]
world = shared.world  # `inventory_world`: payments' Deployments and database stack, search's ConfigMap, the XRD


def names(ran) -> list[str]:
    return [f"{row['cluster']}/{row['kind']}/{row['name']}" for row in json.loads(ran.out)]


# --- list ------------------------------------------------------------------------------------------------------------


def test_list_is_a_kubectl_like_table_sorted_by_cluster_namespace_kind_name(world):
    ran = call_devplat("resources", "list", "--kind", "deployments", "--as", "root-admin")

    assert (ran.code, ran.err) == (0, "")
    lines = ran.out.splitlines()
    assert lines[0].split() == ["CLUSTER", "NAMESPACE", "KIND", "NAME", "HEALTH", "READY", "SYNCED", "AGE"]
    assert [line.split()[:5] for line in lines[2:]] == [
        ["prod", "payments", "Deployment", "api", "degraded"],
        ["prod", "payments", "Deployment", "web", "healthy"],
        ["staging", "payments", "Deployment", "web", "healthy"],
    ]
    assert lines[2].split()[-1] == "1h"


def test_wide_adds_team_and_the_reason(world):
    ran = call_devplat(
        "resources", "list", "--kind", "Deployment", "--health", "degraded", "-o", "wide", "--as", "root-admin"
    )

    assert ran.code == 0, ran.err
    header, _, row = ran.out.splitlines()[:3]
    assert header.split()[-2:] == ["TEAM", "REASON"]
    assert "payments" in row
    assert row.endswith("ProgressDeadlineExceeded: 0/3 replicas available")


def test_a_developer_lists_only_what_their_team_owns(world):
    everything = names(call_devplat("resources", "list", "-o", "json", "--as", "root-admin"))
    mine = names(call_devplat("resources", "list", "-o", "json", "--as", "pay-developer"))
    outsider = names(call_devplat("resources", "list", "-o", "json", "--as", "search-dev"))

    theirs = {"prod/ConfigMap/settings"}
    nobodys = {"prod/Instance/orders-db-x7k2p-subnet", "prod/CompositeResourceDefinition/xdatabases.example.org"}
    assert theirs | nobodys <= set(everything)
    assert set(mine) == set(everything) - theirs - nobodys
    assert outsider == ["prod/ConfigMap/settings"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--kind", "deployments.apps", "--cluster", "staging"], ["staging/Deployment/web"]),
        (["--kind", "deployment", "-l", "tier in (backend,db)"], ["prod/Deployment/api"]),
        (["-l", "app!=web", "-n", "payments"], ["prod/Database/orders-db", "prod/Deployment/api"]),
        (["--kind", "xdatabases.example.org"], ["prod/XDatabase/orders-db-x7k2p"]),
        (["--kind", "Instance", "--health", "degraded"], ["prod/Instance/orders-db-x7k2p-rds"]),
        (["--team", "search", "-A"], ["prod/ConfigMap/settings"]),
    ],
)
def test_list_filters_combine(world, flags, expected):
    ran = call_devplat("resources", "list", *flags, "-o", "json", "--as", "root-admin")

    assert ran.code == 0, ran.err
    assert names(ran) == expected


def test_json_rows_carry_what_scripts_need(world):
    ran = call_devplat("resources", "list", "--kind", "Database", "-o", "json", "--as", "pay-viewer")

    [row] = json.loads(ran.out)
    assert row["apiVersion"] == "example.org/v1alpha1"
    assert (row["namespace"], row["health"], row["treeHealth"], row["team"]) == (
        "payments",
        "progressing",
        "degraded",
        "payments",
    )
    assert row["ready"] is False
    assert "spec" not in row


def test_listing_takes_the_same_queries_for_three_rows_or_thirty(world):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            ran = call_devplat("resources", "list", "--kind", "Deployment", "-o", "wide", "--as", "pay-developer")
        assert ran.code == 0, ran.err
        return len(queries)

    before = count()
    add_deployments(world, 27)

    assert count() == before


def test_an_unknown_kind_is_an_error_listing_the_known_ones(world):
    ran = call_devplat("resources", "list", "--kind", "Deploymnet", "--as", "pay-developer")

    assert_error(
        ran,
        1,
        "kind: No synced kind 'Deploymnet'",
        "Known kinds: CompositeResourceDefinition, ConfigMap, Database, Deployment, Instance, XDatabase",
    )


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["-l", "app in web"], "label_selector: invalid label selector 'app in web': expected '('"),
        (["-n", "payments", "-A"], "give either -n NAMESPACE or -A"),
        (["--cluster", "nope"], "No cluster named 'nope'. List them with `devplat clusters list`."),
    ],
)
def test_bad_filters_are_one_line_errors(world, flags, says):
    assert_error(call_devplat("resources", "list", *flags, "--as", "pay-developer"), 1, says)


def test_someone_must_act(world, monkeypatch):
    monkeypatch.delenv("DEVPLAT_USER", raising=False)

    assert_error(call_devplat("resources", "list"), 1, "say who is acting")


# --- get -------------------------------------------------------------------------------------------------------------


def test_get_shows_the_stored_object_with_what_devplat_derived(world):
    ran = call_devplat("resources", "get", "databases", "orders-db", "-n", "payments", "--as", "pay-viewer")

    assert ran.code == 0, ran.err
    document = yaml.safe_load(ran.out)
    assert (document["apiVersion"], document["kind"]) == ("example.org/v1alpha1", "Database")
    assert document["metadata"]["name"] == "orders-db"
    assert document["metadata"]["namespace"] == "payments"
    assert document["spec"] == {"parameters": {"size": "small"}}
    assert document["status"]["conditions"][0]["reason"] == "Creating"
    derived = document["devplat"]
    assert (derived["cluster"], derived["team"], derived["health"], derived["treeHealth"]) == (
        "prod",
        "payments",
        "progressing",
        "degraded",
    )
    assert derived["failing"] == "Instance/orders-db-x7k2p-rds"
    assert derived["edges"] == [
        {
            "relation": "claims",
            "id": world.composite.pk,
            "apiGroup": "example.org",
            "kind": "XDatabase",
            "namespace": "",
            "name": "orders-db-x7k2p",
        }
    ]


def test_get_of_a_name_in_two_clusters_asks_which_and_takes_cluster(world):
    ambiguous = call_devplat("resources", "get", "deploy", "web", "--as", "root-admin")
    # `deploy` is not a kind name (kubectl's short names are not stored): only full names are accepted.
    assert_error(ambiguous, 1, "No synced kind 'deploy'")

    ambiguous = call_devplat("resources", "get", "deployment", "web", "--as", "root-admin")
    assert_error(ambiguous, 1, "Several deployment objects are named 'web' (in prod/payments, staging/payments)")

    ran = call_devplat(
        "resources", "get", "deployment", "web", "--cluster", "staging", "-o", "json", "--as", "root-admin"
    )
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["devplat"]["cluster"] == "staging"


def test_get_of_something_missing_or_hidden_says_how_to_list(world):
    hidden = call_devplat("resources", "get", "ConfigMap", "settings", "-n", "search", "--as", "pay-developer")

    assert_error(
        hidden,
        1,
        "No ConfigMap named 'settings' in namespace search (or you may not see it). "
        "List them with `devplat resources list --kind ConfigMap -n search`.",
    )


# --- tree ------------------------------------------------------------------------------------------------------------


def test_tree_draws_the_claim_down_to_its_managed_resources_and_marks_the_deepest_failure(world):
    ran = call_devplat("resources", "tree", "Database", "orders-db", "--as", "root-admin")

    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0].split() == ["NAME", "NAMESPACE", "HEALTH", "READY", "SYNCED", "MESSAGE"]
    body = [line.rstrip() for line in lines[2:]]
    assert body[0].startswith("Database/orders-db ")
    assert body[1].startswith("└─ XDatabase/orders-db-x7k2p ")
    assert body[2].startswith("   ├─ Instance/orders-db-x7k2p-rds ")
    assert body[2].endswith("is not a DB instance class <- deepest failure")
    assert " degraded " in body[2]
    assert body[3].startswith("   └─ Instance/orders-db-x7k2p-subnet ")
    assert "deepest failure" not in body[3]


def test_tree_leaves_out_what_the_user_may_not_see(world):
    ran = call_devplat("resources", "tree", "xdatabase", "orders-db-x7k2p", "-o", "json", "--as", "pay-developer")

    assert ran.code == 0, ran.err
    tree = json.loads(ran.out)
    assert (tree["treeHealth"], tree["failingMessage"]) == ("degraded", world.instance.health_reason)
    assert [(child["name"], child["relation"], child["deepestFailure"]) for child in tree["children"]] == [
        ("orders-db-x7k2p-rds", "composes", True)
    ]


def test_get_and_tree_never_name_a_failure_or_reference_the_user_may_not_see(world):
    Resource.objects.filter(pk=world.instance.pk).update(team=None)  # the failing instance is nobody's now

    got = call_devplat("resources", "get", "xdatabase", "orders-db-x7k2p", "-o", "json", "--as", "pay-developer")
    tree = call_devplat("resources", "tree", "xdatabase", "orders-db-x7k2p", "-o", "json", "--as", "pay-developer")

    assert got.code == 0, got.err
    assert tree.code == 0, tree.err
    derived = json.loads(got.out)["devplat"]
    assert (derived["treeHealth"], derived["failing"]) == ("degraded", None)
    assert derived["failingMessage"] == HIDDEN_FAILURE_MESSAGE
    assert world.instance.name not in got.out
    assert world.instance.health_reason not in got.out
    assert [edge["relation"] for edge in derived["edges"]] == [], "both composed instances are hidden"
    drawn = json.loads(tree.out)
    assert (drawn["treeHealth"], drawn["failingMessage"], drawn["children"]) == (
        "degraded",
        HIDDEN_FAILURE_MESSAGE,
        [],
    )


def test_tree_takes_the_same_queries_for_a_small_or_a_large_tree(world):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            ran = call_devplat("resources", "tree", "Database", "orders-db", "--as", "pay-developer")
        assert ran.code == 0, ran.err
        return len(queries)

    before = count()
    for index in range(20):
        child = ManagedResourceFactory(cluster=world.prod, name=f"extra-{index}", team=world.claim.team)
        ResourceEdgeFactory(source=world.composite, relation=EdgeRelationChoices.COMPOSES, target=child)

    assert count() == before


def test_the_selector_hides_tombstones_unless_asked_and_refuses_an_unknown_health(world, platform_admin):
    Resource.objects.filter(pk=world.subnet.pk).update(deleted_at=world.subnet.last_seen_at)

    live = resources_for(platform_admin, kind="Instance").values_list("name", flat=True)
    every = resources_for(platform_admin, kind="Instance", include_deleted=True).values_list("name", flat=True)

    assert sorted(live) == ["orders-db-x7k2p-rds"]
    assert sorted(every) == ["orders-db-x7k2p-rds", "orders-db-x7k2p-subnet"]
    with pytest.raises(ValidationError, match="No health 'sick'; use one of healthy, progressing, degraded, unknown"):
        resources_for(platform_admin, health="sick")
