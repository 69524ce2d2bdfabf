"""`devplat sync ...` driven as an operator would, against the sandbox over HTTP and the real database."""

from __future__ import annotations

import json

import pytest

from control_plane.models import Resource, ResourceType
from control_plane.sync.lease import Lease
from control_plane.sync.tests.support import configmap, create
from control_plane.tests.factories import ClusterFactory
from devplat.core.actor import Face
from devplat.tests.support import assert_error, call_devplat
from governance.models import AuditEvent
from identity.tests.factories import UserFactory

ADMIN = ("--as", "root-admin")


@pytest.fixture
def developer(transactional_db):
    return UserFactory(username="dev")


def sync(*args: str):
    return call_devplat("sync", *args)


def run_once(*args: str):
    ran = sync("run", "--cluster", "sandbox", "--once", "--window", "10", *ADMIN, *args)
    assert ran.code == 0, ran
    return ran


def live(cluster, kind: str):
    return Resource.objects.filter(cluster=cluster, kind=kind, deleted_at__isnull=True)


# --- run -------------------------------------------------------------------------------------------------------------


def test_run_once_syncs_the_demo_seed_and_prints_progress_and_a_summary(demo, cluster, platform_admin):
    ran = run_once("-o", "json")

    [summary] = json.loads(ran.out)
    deployments = live(cluster, "Deployment").count()
    assert deployments > 0
    assert summary["cluster"] == "sandbox"
    assert (summary["windows"], summary["state"], summary["errors"]) == (1, "synced", {})
    assert summary["added"] == Resource.objects.filter(cluster=cluster).count()
    # Without a terminal, the lists' progress comes as plain lines on stderr, then the window's summary.
    assert f"sandbox deployments.apps: {deployments} listed" in ran.err.splitlines()
    assert "sandbox: window of " in ran.err
    assert f"{summary['added']} added, 0 modified, 0 deleted" in ran.err
    assert ResourceType.objects.filter(cluster=cluster, watched=True, served=True, cursor="").count() == 0


def test_a_second_run_once_catches_up_from_the_cursors(demo, cluster, platform_admin):
    run_once()
    create(demo, configmap("later", data="1"))

    ran = run_once("-o", "json")

    [summary] = json.loads(ran.out)
    assert (summary["added"], summary["modified"], summary["deleted"]) == (1, 0, 0)
    assert live(cluster, "ConfigMap").filter(name="later").exists()


def test_run_table_output_names_the_cluster_and_its_counts(sandbox, cluster, platform_admin):
    ran = run_once()

    header, _, row = ran.out.splitlines()[:3]
    assert header.split() == ["CLUSTER", "WINDOWS", "ADDED", "MODIFIED", "DELETED", "UNCHANGED", "RELISTS", "ERRORS",
                              "STATE"]  # fmt: skip
    assert row.split()[:2] == ["sandbox", "1"]
    assert row.split()[-1] == "synced"


def test_run_once_says_when_another_worker_holds_the_lease_and_syncs_nothing(sandbox, cluster, platform_admin):
    lease = Lease.try_acquire(cluster.pk, holder="elsewhere")
    assert lease is not None
    with lease:
        ran = run_once("-o", "json")

    [summary] = json.loads(ran.out)
    assert (summary["windows"], summary["state"]) == (0, "lease held by another worker")
    assert "another worker is syncing cluster sandbox; it will be synced there" in ran.err
    assert not Resource.objects.filter(cluster=cluster).exists()


def test_run_once_exits_1_when_the_cluster_cannot_be_reached(sandbox, cluster, platform_admin):
    sandbox.refuse_connections()

    ran = sync("run", "--cluster", "sandbox", "--once", "-o", "json", *ADMIN)

    assert ran.code == 1
    [summary] = json.loads(ran.out)
    assert list(summary["errors"]) == ["discovery"]
    assert "sandbox discovery: error: Sync could not discover the cluster's resource types" in ran.err


def test_run_is_for_platform_admins(sandbox, cluster, developer):
    assert_error(sync("run", "--once", "--as", "dev"), 1, "Only platform admins run the sync")
    assert not Resource.objects.exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--cluster", "nope", "--once"), ("No cluster named 'nope'",)),
        (("--once", "--follow"), ("--once and --follow exclude each other",)),
        (("--once", "--window", "0"), ("--window 0", "more than 0")),
    ],
)
def test_run_refuses_bad_input_with_the_reason(sandbox, cluster, platform_admin, args, fragments):
    assert_error(sync("run", *args, *ADMIN), 1, *fragments)


def test_run_refuses_a_disabled_cluster_and_an_empty_registry(transactional_db, platform_admin):
    assert_error(sync("run", "--once", *ADMIN), 1, "no enabled clusters to sync", "devplat clusters add")
    ClusterFactory(name="off", enabled=False)
    assert_error(sync("run", "--cluster", "off", "--once", *ADMIN), 1, "cluster off is disabled")


# --- status ----------------------------------------------------------------------------------------------------------


def test_status_shows_each_type_and_who_holds_the_lease(demo, cluster, platform_admin, developer):
    run_once()
    deployments = live(cluster, "Deployment").count()

    ran = sync("status", "--cluster", "sandbox", "--as", "dev")  # reading the state is for everyone

    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    assert lines[0].split() == ["CLUSTER", "TYPE", "KIND", "CATEGORY", "OBJECTS", "CURSOR-AGE", "LAG", "LAST-ERROR",
                                "BACKOFF"]  # fmt: skip
    [row] = [line.split() for line in lines if line.split()[:2] == ["sandbox", "deployments.apps"]]
    assert row[2:5] == ["Deployment", "core", str(deployments)]
    assert row[5].endswith("s")  # listed seconds ago
    assert lines[-1].startswith("cluster sandbox: no worker holds its sync lease now (last: devplat sync run, pid ")

    lease = Lease.try_acquire(cluster.pk, holder="worker-7")
    assert lease is not None
    with lease:
        data = json.loads(sync("status", "-o", "json", "--as", "dev").out)
        held = sync("status", "--as", "dev").out
    [state] = data
    assert state["lease"] == {
        "held": True,
        "holder": "worker-7",
        "epoch": lease.epoch,
        "acquired_at": state["lease"]["acquired_at"],
    }
    types = {t["type"]: t for t in state["types"]}
    assert types["deployments.apps"]["objects"] == deployments
    assert types["deployments.apps"]["cursor"]
    assert types["deployments.apps"]["cursor_age_seconds"] >= 0
    assert f"cluster sandbox: being synced by worker-7 (lease epoch {lease.epoch}" in held


def test_status_shows_a_type_in_backoff_with_its_error(sandbox, cluster, platform_admin):
    run_once()
    sandbox.api.faults.fail_next(50, 500, path_contains="/configmaps")
    ResourceType.objects.filter(cluster=cluster, plural="configmaps").update(cursor="")  # make the next window list

    sync("run", "--cluster", "sandbox", "--once", "--window", "3", *ADMIN)
    ran = sync("status", "--cluster", "sandbox", "-o", "json", *ADMIN)

    types = {t["type"]: t for t in json.loads(ran.out)[0]["types"]}
    assert "injected" in types["configmaps"]["last_error"]
    assert types["configmaps"]["backoff_until"] is not None
    table = sync("status", "--cluster", "sandbox", *ADMIN).out
    [row] = [line for line in table.splitlines() if line.split()[:2] == ["sandbox", "configmaps"]]
    assert "injected" in row


def test_status_of_an_unknown_cluster_says_how_to_list_them(transactional_db, platform_admin):
    assert_error(sync("status", "--cluster", "nope", *ADMIN), 1, "No cluster named 'nope'", "devplat clusters list")


# --- types, exclude, include -----------------------------------------------------------------------------------------


def test_exclude_then_include_a_type_retires_and_brings_back_its_rows(demo, cluster, platform_admin):
    run_once()
    count = live(cluster, "Deployment").count()

    ran = sync("exclude", "--cluster", "sandbox", "deployments.apps", *ADMIN)

    assert ran.code == 0, ran
    assert (
        ran.out.strip()
        == f"cluster sandbox: deployments.apps excluded; the next sync window retires its {count} row(s)"
    )
    assert not ResourceType.objects.get(cluster=cluster, plural="deployments").watched
    event = AuditEvent.objects.filter(target_type="control_plane.resourcetype").latest("seq")
    assert (event.face, event.actor_username) == (Face.CLI, "root-admin")
    run_once()
    assert live(cluster, "Deployment").count() == 0
    assert Resource.objects.filter(cluster=cluster, kind="Deployment", deleted_reason="type-removed").count() == count

    ran = sync("include", "--cluster", "sandbox", "deployments.apps", *ADMIN)

    assert ran.code == 0, ran
    assert "deployments.apps included" in ran.out
    run_once()
    assert live(cluster, "Deployment").count() == count


def test_include_adds_a_type_discovery_does_not_pick_and_the_next_window_syncs_it(demo, cluster, platform_admin):
    run_once()
    assert not live(cluster, "Pod").exists()

    ran = sync("include", "--cluster", "sandbox", "pods", "-o", "json", *ADMIN)

    assert ran.code == 0, ran
    assert json.loads(ran.out)["source"] == "added"
    added = ResourceType.objects.get(cluster=cluster, group="", plural="pods")
    assert (added.source, added.served, added.kind) == ("added", False, "")
    assert AuditEvent.objects.filter(action="resource_type.add", target_id=str(added.pk)).exists()
    run_once()
    added.refresh_from_db()
    assert (added.kind, added.served, added.namespaced) == ("Pod", True, True)
    assert live(cluster, "Pod").count() == added.object_count > 0
    types = sync("types", "--cluster", "sandbox", "-o", "json", "--as", "root-admin")
    assert {"type": "pods", "source": "added", "watched": True, "served": True}.items() <= {
        t["type"]: t for t in json.loads(types.out)
    }["pods"].items()


def test_types_lists_every_type_with_whether_it_is_synced(demo, cluster, platform_admin, developer):
    run_once()
    sync("exclude", "--cluster", "sandbox", "configmaps", *ADMIN)

    ran = sync("types", "--cluster", "sandbox", "-o", "json", "--as", "dev")

    types = {t["type"]: t for t in json.loads(ran.out)}
    assert types["deployments.apps"]["watched"] is True
    assert types["configmaps"]["watched"] is False
    assert types["configmaps"]["kind"] == "ConfigMap"


@pytest.mark.parametrize("verb", ["include", "exclude"])
def test_choosing_types_is_for_platform_admins(sandbox, cluster, developer, verb):
    run = sync(verb, "--cluster", "sandbox", "configmaps", "--as", "dev")
    assert_error(run, 1, "Only platform admins choose which types are synced")
    assert not AuditEvent.objects.filter(target_type="control_plane.resourcetype").exists()


def test_exclude_and_include_refuse_unknown_types_with_the_spelling_meant(demo, cluster, platform_admin):
    run_once()
    before = (ResourceType.objects.count(), AuditEvent.objects.count())

    assert_error(
        sync("exclude", "--cluster", "sandbox", "widgets.example.com", *ADMIN),
        1,
        "cluster sandbox has no type 'widgets.example.com'",
        "devplat sync types --cluster sandbox",
    )
    for slip in ("deployment", "Deployments"):
        assert_error(
            sync("include", "--cluster", "sandbox", slip, *ADMIN), 1, "did you mean deployments.apps?", "plural.group"
        )
    assert_error(sync("include", "--cluster", "sandbox", "not a type!", *ADMIN), 1, "is not a resource type")
    assert_error(sync("include", "--cluster", "nope", "pods", *ADMIN), 1, "No cluster named 'nope'")
    assert (ResourceType.objects.count(), AuditEvent.objects.count()) == before
