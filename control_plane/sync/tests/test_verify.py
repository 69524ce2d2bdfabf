"""`devplat sync verify`: a fresh list of the sandbox against the database finds every kind of drift, and only drift."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from control_plane.models import Resource, ResourceType
from control_plane.sync.engine import sync_window
from control_plane.sync.tests.support import configmap, create, delete, update
from control_plane.sync.verify import DIFFERS, EXTRA, MISSING, Difference, verify_cluster
from devplat.tests.support import assert_error, call_devplat
from identity.tests.factories import UserFactory

ADMIN = ("--as", "root-admin")


@pytest.fixture
def synced(demo, cluster, platform_admin):
    """The demo seed, synced by one window."""
    report = sync_window(cluster, seconds=10, once=True)
    assert report is not None
    assert report.errors == {}
    return cluster


def verify(*args: str):
    return call_devplat("sync", "verify", "--cluster", "sandbox", *ADMIN, *args)


def deployment(cluster) -> Resource:
    return Resource.objects.filter(cluster=cluster, kind="Deployment", deleted_at__isnull=True).order_by("name")[0]


def only(difference: Difference, **expected: str) -> None:
    for name, value in expected.items():
        assert getattr(difference, name) == value, (name, difference)


def test_after_a_window_the_cluster_and_the_database_agree(synced):
    report = verify_cluster(synced)

    live = Resource.objects.filter(cluster=synced, deleted_at__isnull=True).count()
    types = ResourceType.objects.filter(cluster=synced, watched=True, served=True).count()
    assert (report.in_sync, report.differences, report.errors) == (True, [], {})
    assert (report.objects, report.types) == (live, types)
    ran = verify()
    assert (ran.code, ran.err) == (0, "")
    assert ran.out.strip() == f"in sync: {live} objects in {types} types"


def test_a_row_deleted_from_the_database_is_missing(synced):
    row = deployment(synced)
    row.delete()

    [difference] = verify_cluster(synced).differences

    only(difference, type="deployments.apps", namespace=row.namespace, name=row.name, uid=row.uid, problem=MISSING)
    ran = verify()
    assert ran.code == 1
    assert row.uid in ran.out
    assert f"{row.namespace}/{row.name}" in ran.out
    assert "not in sync: 1 difference(s) between cluster sandbox and the database" in ran.out


def test_a_spec_changed_in_the_database_is_found_although_its_hash_still_matches(synced):
    row = deployment(synced)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE control_plane_resource SET spec = jsonb_set(spec, '{replicas}', '99') WHERE id = %s", [row.pk]
        )

    [difference] = verify_cluster(synced).differences

    only(difference, type="deployments.apps", uid=row.uid, problem=DIFFERS)
    assert difference.detail == (
        "content differs: spec; the row no longer matches its content hash (changed in the database)"
    )
    ran = verify("-o", "json")
    assert ran.code == 1
    data = json.loads(ran.out)
    assert data["in_sync"] is False
    assert [d["uid"] for d in data["differences"]] == [row.uid]


def test_a_name_changed_in_the_database_is_a_difference_not_a_missing_and_an_extra_object(synced):
    row = deployment(synced)
    Resource.objects.filter(pk=row.pk).update(name="renamed")

    [difference] = verify_cluster(synced).differences

    only(difference, uid=row.uid, name=row.name, problem=DIFFERS)
    assert difference.detail.startswith("content differs: name; the row no longer matches its content hash")


def test_a_stale_resource_version_is_reported_with_both_versions(synced):
    row = deployment(synced)
    Resource.objects.filter(pk=row.pk).update(resource_version="1")

    [difference] = verify_cluster(synced).differences

    only(difference, uid=row.uid, problem=DIFFERS)
    assert difference.detail == f"resourceVersion 1 in the database, {row.resource_version} in the cluster"


def test_objects_created_changed_and_deleted_in_the_cluster_without_a_sync_are_reported(demo, synced):
    created = create(demo, configmap("unsynced"))
    changed = Resource.objects.filter(cluster=synced, kind="ConfigMap", name="app-settings").order_by("namespace")[0]
    kept = demo.api.get(demo.api.kind_for("v1", "ConfigMap"), changed.namespace, changed.name)
    update(demo, {**kept, "data": {"LOG_LEVEL": "debug", "FEATURE": "on"}})  # a new key: the row stores key names
    gone = Resource.objects.filter(cluster=synced, kind="Service", deleted_at__isnull=True).order_by("name")[0]
    delete(demo, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": gone.name, "namespace": gone.namespace}})

    report = verify_cluster(synced)

    found = {d.uid: d for d in report.differences}
    assert set(found) == {created["metadata"]["uid"], changed.uid, gone.uid}
    only(found[created["metadata"]["uid"]], type="configmaps", name="unsynced", problem=MISSING)
    only(found[gone.uid], type="services", name=gone.name, problem=EXTRA)
    only(found[changed.uid], type="configmaps", problem=DIFFERS)
    assert found[changed.uid].detail.startswith("resourceVersion ")
    assert "in the cluster; content differs: spec" in found[changed.uid].detail
    assert verify().code == 1

    sync_window(synced, seconds=5, once=True)
    assert verify_cluster(synced).in_sync


def test_rows_of_an_excluded_type_are_extra_until_a_window_retires_them(synced):
    ResourceType.objects.filter(cluster=synced, plural="secrets").update(watched=False)
    secrets = set(Resource.objects.filter(cluster=synced, kind="Secret", deleted_at__isnull=True).values_list("uid"))

    report = verify_cluster(synced)

    assert {(d.uid,) for d in report.differences} == secrets
    assert {d.problem for d in report.differences} == {EXTRA}
    sync_window(synced, seconds=5, once=True)
    assert verify_cluster(synced).in_sync


def test_a_difference_gone_on_a_second_look_is_not_reported(synced):
    """An object changed in the cluster after the list, and synced before the database read, agrees on the GET."""
    from control_plane.sync import verify as module

    row = deployment(synced)
    rt = ResourceType.objects.get(cluster=synced, plural="deployments")
    client = module.connect(synced.name, synced.credentials())
    suspect = module._Suspect(module.type_info(rt), row.uid, row.namespace, row.name, DIFFERS)

    assert module._recheck(synced, client, module.Lookups(synced.pk), [suspect]) == []


def test_verify_refuses_non_admins_unknown_clusters_and_unsynced_clusters(sandbox, cluster, platform_admin):
    UserFactory(username="dev")

    assert_error(call_devplat("sync", "verify", "--cluster", "sandbox", "--as", "dev"), 1, "Only platform admins")
    assert_error(verify_as_admin("nope"), 1, "No cluster named 'nope'")
    assert_error(verify(), 1, "cluster sandbox has no synced types yet", "devplat sync run --cluster sandbox --once")


def test_verify_of_an_unreachable_cluster_says_nothing_was_compared(sandbox, synced):
    sandbox.refuse_connections()

    assert_error(verify(), 1, "cannot verify cluster sandbox, nothing was compared")


def verify_as_admin(name: str):
    return call_devplat("sync", "verify", "--cluster", name, *ADMIN)
