"""R7: whatever order, duplication or replay the watch delivers events in, the database ends equal to the cluster.

A Hypothesis state machine plays a cluster: it creates, updates, deletes and recreates objects (same name, new
uid), and the "watch" delivers those events in micro-batches, sometimes twice (a duplicate) and sometimes again
from an earlier point (a replay, as a watch resumed from an older cursor does). After every batch the live rows
must equal the cluster, keyed by uid.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from control_plane.models import Resource, ResourceType
from control_plane.sync.rows import TypeInfo
from control_plane.sync.types import type_info
from control_plane.sync.writer import TypeBatch, Writer
from control_plane.tests.factories import ClusterFactory

NAMES = st.sampled_from(["a", "b", "c", "d"])


class WatchedCluster(RuleBasedStateMachine):
    """The cluster (name -> current object), the events it emitted, and the events not yet written."""

    rt: TypeInfo
    writer: Writer
    delivered = 0  # events written over every example: proves the machine exercised the writer

    def __init__(self) -> None:
        super().__init__()
        Resource.objects.filter(resource_type_id=self.rt.id).delete()
        self.objects: dict[str, dict[str, Any]] = {}
        self.emitted: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.versions = itertools.count(1)

    def emit(self, kind: str, obj: dict[str, Any]) -> None:
        event = {"type": kind, "object": obj}
        self.emitted.append(event)
        self.pending.append(event)

    def new_version(self, name: str, uid: str, value: int) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": "default",
                "uid": uid,
                "resourceVersion": str(next(self.versions)),
                "labels": {"value": str(value)},
            },
            "data": {f"k{value}": "v"},
        }

    @rule(name=NAMES, value=st.integers(0, 3))
    def create(self, name: str, value: int) -> None:
        if name not in self.objects:
            self.objects[name] = self.new_version(name, str(uuid.uuid4()), value)
            self.emit("ADDED", self.objects[name])

    @rule(name=NAMES, value=st.integers(0, 3))
    def update(self, name: str, value: int) -> None:
        if name in self.objects:
            self.objects[name] = self.new_version(name, self.objects[name]["metadata"]["uid"], value)
            self.emit("MODIFIED", self.objects[name])

    @rule(name=NAMES)
    def delete(self, name: str) -> None:
        if name in self.objects:
            gone = self.objects.pop(name)
            self.emit(
                "DELETED", {**gone, "metadata": {**gone["metadata"], "resourceVersion": str(next(self.versions))}}
            )

    @rule(name=NAMES, value=st.integers(0, 3))
    def recreate_same_name(self, name: str, value: int) -> None:
        self.delete(name)
        self.create(name, value)

    @precondition(lambda self: bool(self.emitted))
    @rule()
    def duplicate(self) -> None:
        self.pending.append(self.emitted[-1])

    @precondition(lambda self: bool(self.emitted))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        start = data.draw(st.integers(0, len(self.emitted) - 1))
        self.pending.extend(self.emitted[start:])

    @rule()
    def deliver(self) -> None:
        """The writer applies what the watch delivered so far, as one micro-batch."""
        events = [{"type": e["type"], "object": _copy(e["object"])} for e in self.pending]
        cursor = events[-1]["object"]["metadata"]["resourceVersion"] if events else ""
        self.writer.write_events({self.rt: TypeBatch(events=events, cursor=cursor)})
        WatchedCluster.delivered += len(events)
        self.pending = []

    @invariant()
    def delivered_state_matches_the_cluster(self) -> None:
        if self.pending:
            return
        live = Resource.objects.filter(resource_type_id=self.rt.id, deleted_at__isnull=True)
        stored = {row.uid: (row.name, row.resource_version, row.labels) for row in live}
        expected = {
            obj["metadata"]["uid"]: (name, obj["metadata"]["resourceVersion"], obj["metadata"]["labels"])
            for name, obj in self.objects.items()
        }
        assert stored == expected

    @invariant()
    def a_uid_is_never_two_rows(self) -> None:
        uids = list(Resource.objects.filter(resource_type_id=self.rt.id).values_list("uid", flat=True))
        assert len(uids) == len(set(uids))


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    """The writer sanitizes objects in place; a replayed event must be the original."""
    return {
        **obj,
        "metadata": {**obj["metadata"], "labels": dict(obj["metadata"]["labels"])},
        "data": dict(obj["data"]),
    }


@pytest.mark.timeout(300)
def test_any_sequence_of_watch_events_ends_with_the_database_equal_to_the_cluster(db):
    cluster = ClusterFactory(name="state-machine")
    row = ResourceType.objects.create(
        cluster=cluster, group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True, category="core"
    )
    WatchedCluster.rt = type_info(row)
    WatchedCluster.writer = Writer(cluster.pk, lease=None, namespaced=lambda group, kind: None)
    run_state_machine_as_test(
        WatchedCluster, settings=settings(max_examples=50, stateful_step_count=30, deadline=None, database=None)
    )
    assert WatchedCluster.delivered > 0
