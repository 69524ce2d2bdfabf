"""Versioned storage: one resourceVersion sequence, snapshots at older versions, compaction."""

from __future__ import annotations

import pytest

from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox.store import Store

PODS = ("", "pods")


def put(store: Store, name: str, event: str = "ADDED", value: int = 0) -> dict:
    with store.lock:
        prev = store.get(PODS, ("ns", name))
        rv = store.next_rv()
        obj = {"metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": str(rv)}, "value": value}
        store.commit(PODS, ("ns", name), event, obj if event != "DELETED" else prev, prev, rv)
        return obj


def test_snapshot_at_an_older_version_undoes_later_writes() -> None:
    store = Store()
    put(store, "a")
    put(store, "b")
    at = store.rv
    put(store, "a", "MODIFIED", value=1)
    put(store, "c")
    put(store, "b", "DELETED")
    old = store.snapshot(PODS, at)
    assert [k[1] for k in old.keys] == ["a", "b"]
    assert old.objects[0]["value"] == 0
    now = store.snapshot(PODS)
    assert [k[1] for k in now.keys] == ["a", "c"]
    assert now.objects[0]["value"] == 1


def test_compaction_makes_older_versions_expire() -> None:
    store = Store()
    put(store, "a")
    at = store.rv
    put(store, "b")
    store.compact()
    with pytest.raises(ApiError) as error:
        store.snapshot(PODS, at)
    assert error.value.code == 410 and error.value.reason == "Expired"
    assert [k[1] for k in store.snapshot(PODS).keys] == ["a", "b"]


def test_history_is_bounded_by_compacting_the_older_half() -> None:
    store = Store(max_events=10)
    for index in range(11):
        put(store, f"p{index}")
    assert store.compacted >= 5
    assert len(store.bucket(PODS).events) <= 6
    assert store.bucket(PODS).event_index_after(store.compacted) == store.bucket(PODS).base


def test_owner_index_follows_writes() -> None:
    store = Store()
    with store.lock:
        rv = store.next_rv()
        child = {
            "metadata": {"name": "c", "uid": "u-c", "resourceVersion": str(rv), "ownerReferences": [{"uid": "u-owner"}]}
        }
        store.commit(PODS, ("ns", "c"), "ADDED", child, None, rv)
    assert store.dependents["u-owner"] == {(PODS, ("ns", "c"))}
    with store.lock:
        store.commit(PODS, ("ns", "c"), "DELETED", child, child, store.next_rv())
    assert "u-owner" not in store.dependents
    assert "u-c" not in store.uids
