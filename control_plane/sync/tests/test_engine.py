"""The sync engine end to end (R1-R6, R10): the sandbox over HTTP, real PostgreSQL, the project's real client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connections

from control_plane.models import Cluster, Resource, ResourceChange, ResourceType, SyncRun
from control_plane.sandbox.runner import Sandbox
from control_plane.sync.engine import WindowReport, sync_window
from control_plane.sync.tests.support import cluster_state, configmap, create, database_state, delete, update
from control_plane.sync.writer import Writer
from governance.models import AuditEvent

pytestmark = pytest.mark.timeout(120)


def configmaps(cluster: Cluster) -> ResourceType:
    return ResourceType.objects.get(cluster=cluster, group="", plural="configmaps")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextmanager
def running_window(cluster: Cluster, seconds: float = 60) -> Iterator[dict[str, WindowReport | None]]:
    """A window in a background thread, stopped (and its result kept) when the block ends."""
    stop = threading.Event()
    result: dict[str, WindowReport | None] = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result["report"] = sync_window(cluster, seconds=seconds, stop=stop)
        except BaseException as exc:  # surfaced in the test thread below
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: configmaps_listed(cluster) or bool(failure)), "the first lists did not finish"
        yield result
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    if failure:
        raise failure[0]


def configmaps_listed(cluster: Cluster) -> bool:
    return ResourceType.objects.filter(cluster=cluster, plural="configmaps").exclude(cursor="").exists()


def lists_of(sandbox: Sandbox, plural: str) -> list:
    return [r for r in sandbox.api.faults.requests if r.is_list and r.path.endswith(f"/{plural}")]


def watches_of(sandbox: Sandbox, plural: str) -> list:
    return [r for r in sandbox.api.faults.requests if r.is_watch and r.path.endswith(f"/{plural}")]


def test_a_first_window_lists_every_type_and_stores_cursors(demo, cluster):
    report = sync_window(cluster, seconds=10, once=True)
    assert report is not None
    assert report.errors == {}
    types = ResourceType.objects.filter(cluster=cluster, watched=True, served=True)
    assert types.filter(cursor="").count() == 0
    live = Resource.objects.filter(cluster=cluster, deleted_at__isnull=True)
    assert live.count() == sum(t.object_count for t in types)
    assert {"Deployment", "Database", "XPostgreSQLInstance", "CompositeResourceDefinition"} <= set(
        live.values_list("kind", flat=True)
    )
    assert SyncRun.objects.filter(cluster=cluster, mode="list").count() == types.count()
    assert ResourceChange.objects.filter(cluster=cluster, change_type="added").count() == live.count()


def test_a_second_window_catches_up_by_watching_from_the_cursor_without_listing(sandbox, cluster):
    kept = create(sandbox, configmap("kept"))
    changed = create(sandbox, configmap("changed"))
    removed = create(sandbox, configmap("removed"))
    sync_window(cluster, seconds=10, once=True)
    sandbox.api.faults.forget_requests()

    update(sandbox, {**changed, "data": {"key": "new"}})
    delete(sandbox, removed)
    added = create(sandbox, configmap("added"))
    report = sync_window(cluster, seconds=10, once=True)

    assert report is not None and report.relists == 0
    assert lists_of(sandbox, "configmaps") == []
    assert database_state(cluster, "ConfigMap") == cluster_state(sandbox, "v1", "ConfigMap")
    assert {kept["metadata"]["uid"], added["metadata"]["uid"]} <= set(database_state(cluster, "ConfigMap"))
    gone = Resource.objects.get(uid=removed["metadata"]["uid"])
    assert gone.deleted_reason == "deleted" and gone.deleted_at is not None
    row = Resource.objects.get(uid=changed["metadata"]["uid"])
    assert row.spec == {"dataKeys": ["key"]}
    assert ResourceChange.objects.filter(resource=row, change_type="modified").exists()


def test_a_change_shows_up_within_a_second_or_two_while_a_window_runs(sandbox, cluster):
    with running_window(cluster):
        started = time.monotonic()
        obj = create(sandbox, configmap("live"))
        assert wait_for(lambda: Resource.objects.filter(uid=obj["metadata"]["uid"]).exists(), timeout=5)
        assert time.monotonic() - started < 2.0
        update(sandbox, {**obj, "metadata": {**obj["metadata"], "labels": {"app": "live", "tier": "web"}}})
        assert wait_for(lambda: Resource.objects.get(uid=obj["metadata"]["uid"]).labels.get("tier") == "web")
        delete(sandbox, obj)
        assert wait_for(lambda: Resource.objects.get(uid=obj["metadata"]["uid"]).deleted_at is not None)
    ledger = SyncRun.objects.get(cluster=cluster, mode="watch", resource_type=configmaps(cluster))
    assert (ledger.added, ledger.modified, ledger.deleted) == (1, 1, 1)


def test_an_expired_watch_relists_once_and_tombstones_what_was_missed(sandbox, cluster):
    """R2 + R3: in-stream ERROR 410 -> one relist from the newest state; deletes missed become tombstones."""
    a, b, c = (create(sandbox, configmap(name)) for name in "abc")
    sync_window(cluster, seconds=10, once=True)
    delete(sandbox, b)
    sandbox.api.store.compact()
    sandbox.api.faults.forget_requests()

    report = sync_window(cluster, seconds=10, once=True)

    assert report is not None and report.relists >= 1
    relists = lists_of(sandbox, "configmaps")
    assert len(relists) == 1
    assert "resourceVersion" not in relists[0].query  # a consistent read of the newest state
    assert all(w.query.get("resourceVersion") for w in watches_of(sandbox, "configmaps"))
    missed = Resource.objects.get(uid=b["metadata"]["uid"])
    assert (missed.deleted_reason, missed.deleted_at is not None) == ("missed", True)
    assert set(database_state(cluster, "ConfigMap")) == {a["metadata"]["uid"], c["metadata"]["uid"]}
    assert AuditEvent.objects.filter(action="sync.tombstone", target_repr="configmaps").exists()
    assert ResourceChange.objects.filter(resource=missed, change_type="missed").count() == 1


def test_an_http_410_on_the_watch_request_relists_and_never_loops(sandbox, cluster):
    create(sandbox, configmap("a"))
    sync_window(cluster, seconds=10, once=True)
    sandbox.api.faults.forget_requests()
    sandbox.api.faults.fail_next(1, 410, path_contains="/configmaps")
    with running_window(cluster):
        time.sleep(2.0)
        late = create(sandbox, configmap("late"))
        assert wait_for(lambda: Resource.objects.filter(uid=late["metadata"]["uid"]).exists())
    assert len(lists_of(sandbox, "configmaps")) == 1
    assert len(watches_of(sandbox, "configmaps")) <= 3


def test_bookmarks_move_the_cursor_without_writing_rows(sandbox, cluster):
    create(sandbox, configmap("a"))
    sync_window(cluster, seconds=10, once=True)
    before = configmaps(cluster).cursor
    create(sandbox, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
    changes = ResourceChange.objects.count()
    with running_window(cluster):
        assert wait_for(lambda: configmaps(cluster).cursor != before, timeout=5)
    assert ResourceChange.objects.count() == changes + 1  # the namespace only
    assert database_state(cluster, "ConfigMap") == cluster_state(sandbox, "v1", "ConfigMap")


def test_without_bookmarks_the_sync_ends_in_the_same_state(cluster):
    with Sandbox(bookmark_interval=float("inf")) as quiet:
        cluster.delete()
        from control_plane.tests.factories import ClusterFactory

        silent = ClusterFactory(name="quiet", server=quiet.url)
        first = create(quiet, configmap("a"))
        sync_window(silent, seconds=10, once=True)
        update(quiet, {**first, "data": {"key": "b"}})
        create(quiet, configmap("c"))
        sync_window(silent, seconds=10, once=True)
        assert database_state(silent, "ConfigMap") == cluster_state(quiet, "v1", "ConfigMap")
        assert not any(r.query.get("allowWatchBookmarks") == "false" for r in quiet.api.faults.requests)


def test_a_stalled_stream_is_abandoned_within_the_read_timeout(sandbox, cluster, settings):
    """R5: a blackholed watch is given up after timeoutSeconds + the client's grace, then re-established."""
    settings.DEVPLAT_SYNC_WATCH_TIMEOUT_RANGE = (1.0, 1.0)
    with running_window(cluster):
        sandbox.api.faults.forget_requests()
        sandbox.api.faults.stall_watches()
        time.sleep(0.5)
        stalled_at = time.monotonic()
        assert wait_for(lambda: len(watches_of(sandbox, "configmaps")) >= 1, timeout=15)
        assert time.monotonic() - stalled_at < 1 + 5 + 2  # timeoutSeconds + read grace + a first backoff
        sandbox.api.faults.resume_watches()
        obj = create(sandbox, configmap("after-the-stall"))
        assert wait_for(lambda: Resource.objects.filter(uid=obj["metadata"]["uid"]).exists(), timeout=15)
    assert wait_for(lambda: configmaps(cluster).last_event_at is not None)


def test_429s_and_refused_connections_back_off_and_rewatch_without_relisting(sandbox, cluster, settings):
    """R6: throttling and a server that is down are retried with backoff from the same cursor; no LIST.
    (The backoff's bounds are test_backoff's; a low cap keeps this test's waits short.)"""
    settings.DEVPLAT_SYNC_BACKOFF_CAP = 2.0
    create(sandbox, configmap("a"))
    sync_window(cluster, seconds=10, once=True)
    sandbox.api.faults.forget_requests()
    sandbox.api.faults.fail_next(6, 429, retry_after=0, path_contains="/configmaps")
    with running_window(cluster):
        assert wait_for(lambda: configmaps(cluster).error_count > 0, timeout=15)
        assert "Too many requests" in configmaps(cluster).last_error
        sandbox.refuse_connections()
        time.sleep(1.0)
        sandbox.accept_connections()
        obj = create(sandbox, configmap("after"))
        assert wait_for(lambda: Resource.objects.filter(uid=obj["metadata"]["uid"]).exists(), timeout=40)
        assert wait_for(lambda: configmaps(cluster).error_count == 0, timeout=10)
    assert lists_of(sandbox, "configmaps") == []


def test_a_crash_between_the_row_write_and_the_commit_loses_and_duplicates_nothing(sandbox, cluster, monkeypatch):
    """R1: the cursor and the rows commit together; after a crash the next window starts from the last commit."""
    create(sandbox, configmap("a"))
    sync_window(cluster, seconds=10, once=True)
    committed = configmaps(cluster).cursor
    b = create(sandbox, configmap("b"))
    update(sandbox, {**b, "data": {"key": "c"}})
    crash = RuntimeError("the worker died before commit")
    original = Writer._update_type

    def crash_on_cursor(self, rt, state, **kwargs):
        if "cursor" in state and rt.plural == "configmaps":
            raise crash
        return original(self, rt, state, **kwargs)

    monkeypatch.setattr(Writer, "_update_type", crash_on_cursor)
    with pytest.raises(RuntimeError, match="died before commit"):
        sync_window(cluster, seconds=10, once=True)
    assert configmaps(cluster).cursor == committed
    assert not Resource.objects.filter(uid=b["metadata"]["uid"]).exists()

    monkeypatch.setattr(Writer, "_update_type", original)
    sandbox.api.faults.forget_requests()
    sync_window(cluster, seconds=10, once=True)
    assert watches_of(sandbox, "configmaps")[0].query["resourceVersion"] == committed
    assert database_state(cluster, "ConfigMap") == cluster_state(sandbox, "v1", "ConfigMap")
    row = Resource.objects.get(uid=b["metadata"]["uid"])
    assert ResourceChange.objects.filter(resource=row).count() == 1  # folded: added once, not added twice


def test_a_resync_repairs_rows_corrupted_in_the_database_and_counts_them(sandbox, cluster, settings):
    """R8: a full comparison at the cursor rewrites wrong rows, restores deleted ones, and reports the count."""
    objs = [create(sandbox, configmap(f"cm-{i}")) for i in range(5)]
    sync_window(cluster, seconds=10, once=True)
    rows = Resource.objects.filter(cluster=cluster, kind="ConfigMap")
    rows.filter(uid=objs[0]["metadata"]["uid"]).update(spec={"dataKeys": ["forged"]})
    rows.filter(uid=objs[1]["metadata"]["uid"]).update(labels={"app": "forged"})
    rows.filter(uid=objs[2]["metadata"]["uid"]).delete()
    rows.filter(uid=objs[3]["metadata"]["uid"]).update(deleted_at="2026-01-01T00:00:00Z", deleted_reason="missed")
    settings.DEVPLAT_SYNC_RESYNC_SECONDS = 0

    sync_window(cluster, seconds=10, once=True)

    resync = SyncRun.objects.get(cluster=cluster, mode="resync", resource_type=configmaps(cluster))
    assert resync.repaired == 4
    assert database_state(cluster, "ConfigMap") == cluster_state(sandbox, "v1", "ConfigMap")
    assert rows.get(uid=objs[0]["metadata"]["uid"]).spec == {"dataKeys": ["key"]}
    assert rows.get(uid=objs[1]["metadata"]["uid"]).labels == {"app": "cm-1"}
    again = sync_window(cluster, seconds=10, once=True)
    assert again is not None and again.total.changed == 0


def test_a_new_crd_and_its_objects_are_synced_without_a_restart(sandbox, cluster):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "categories": ["managed"]},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    with running_window(cluster):
        create(sandbox, crd)
        assert wait_for(lambda: ResourceType.objects.filter(cluster=cluster, plural="widgets").exists(), timeout=10)
        widget = create(
            sandbox,
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}},
        )
        assert wait_for(lambda: Resource.objects.filter(uid=widget["metadata"]["uid"]).exists(), timeout=10)
    assert ResourceType.objects.get(cluster=cluster, plural="widgets").category == "managed"


def test_an_excluded_type_is_retired_and_an_included_one_synced(sandbox, cluster):
    create(sandbox, configmap("a"))
    sync_window(cluster, seconds=10, once=True)
    ResourceType.objects.filter(pk=configmaps(cluster).pk).update(watched=False)
    sync_window(cluster, seconds=10, once=True)
    assert database_state(cluster, "ConfigMap") == {}
    assert Resource.objects.filter(kind="ConfigMap", deleted_reason="type-removed").count() == 1
    assert configmaps(cluster).cursor == ""

    ResourceType.objects.filter(pk=configmaps(cluster).pk).update(watched=True)
    sync_window(cluster, seconds=10, once=True)
    assert database_state(cluster, "ConfigMap") == cluster_state(sandbox, "v1", "ConfigMap")


def test_an_unreachable_cluster_ends_the_window_with_its_reason_recorded(sandbox, cluster):
    sandbox.refuse_connections()
    report = sync_window(cluster, seconds=5, once=True)
    assert report is not None
    assert "could not discover" in report.errors["discovery"]
    cluster.refresh_from_db()
    assert "could not discover" in cluster.last_error
    assert not ResourceType.objects.filter(cluster=cluster).exists()


def test_the_window_task_pauses_an_unreachable_cluster_instead_of_retrying_every_tick(sandbox, cluster):
    from django.core.cache import cache

    from control_plane.tasks import QUEUED_KEY, sync_cluster, sync_tick

    sandbox.refuse_connections()
    result = sync_cluster.apply(args=[cluster.pk]).get()
    assert "discovery" in result["errors"]
    assert cache.get(QUEUED_KEY.format(cluster.pk)) is not None
    assert sync_tick.apply().get() == []  # the pause holds the next ticks off
    cache.delete(QUEUED_KEY.format(cluster.pk))


def test_edges_follow_reference_changes_and_survive_status_only_changes(sandbox, cluster):
    def owned_by(name: str) -> list[dict]:
        return [{"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": f"uid-{name}"}]

    obj = create(
        sandbox,
        {**configmap("child"), "metadata": {**configmap("child")["metadata"], "ownerReferences": owned_by("first")}},
    )
    sync_window(cluster, seconds=10, once=True)
    row = Resource.objects.get(uid=obj["metadata"]["uid"])
    assert list(row.edges_out.values_list("relation", "target_uid")) == [("owned-by", "uid-first")]

    obj = update(sandbox, {**obj, "metadata": {**obj["metadata"], "ownerReferences": owned_by("second")}})
    sync_window(cluster, seconds=10, once=True)
    assert list(row.edges_out.values_list("target_uid", flat=True)) == ["uid-second"]
    edge_ids = list(row.edges_out.values_list("id", flat=True))

    update(sandbox, {**obj, "metadata": {**obj["metadata"], "labels": {"app": "child", "tier": "web"}}})
    sync_window(cluster, seconds=10, once=True)
    assert Resource.objects.get(pk=row.pk).labels["tier"] == "web"
    assert list(row.edges_out.values_list("id", flat=True)) == edge_ids  # not rewritten
