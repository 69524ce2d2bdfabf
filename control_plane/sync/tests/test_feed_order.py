"""The change feed is followed by id (`changes/?after=N`): ids must become visible in increasing order, or a
follower that has seen a larger id skips a smaller one committed later. Two clusters' writers commit concurrently
here while a follower reads the feed the way the API does; it must see every entry."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from django.db import connection, connections

from control_plane.models import ResourceChange, ResourceType
from control_plane.sync.types import type_info
from control_plane.sync.writer import TypeBatch, Writer
from control_plane.tests.factories import ClusterFactory

BATCHES = 40
EVENTS_PER_BATCH = 50


def configmap(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{index}", "namespace": "default", "uid": str(uuid.uuid4()), "resourceVersion": "1"},
        "data": {"index": str(index)},
    }


def write_batches(cluster_id: int, failures: list[BaseException]) -> None:
    """Add configmaps to one cluster in watch batches, each batch its own transaction, as a window's writer does."""
    try:
        row = ResourceType.objects.create(
            cluster_id=cluster_id, group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True
        )
        rt = type_info(row)
        writer = Writer(cluster_id, lease=None, namespaced=lambda group, kind: None)
        for batch in range(BATCHES):
            events = [
                {"type": "ADDED", "object": configmap(batch * EVENTS_PER_BATCH + i)} for i in range(EVENTS_PER_BATCH)
            ]
            writer.write_events({rt: TypeBatch(events=events, cursor=str(batch), first_received=time.monotonic())})
    except BaseException as exc:  # reported by the test
        failures.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_a_follower_of_the_feed_sees_every_entry_while_two_clusters_commit_at_once():
    clusters = [ClusterFactory(name="feed-a"), ClusterFactory(name="feed-b")]
    failures: list[BaseException] = []
    writers = [threading.Thread(target=write_batches, args=(c.pk, failures)) for c in clusters]
    seen: list[int] = []
    params = {**connection.get_connection_params(), "autocommit": True}
    with psycopg.connect(**params) as follower:
        for thread in writers:
            thread.start()
        after = 0
        while True:
            writing = any(thread.is_alive() for thread in writers)
            rows = follower.execute(
                "SELECT id FROM control_plane_resourcechange WHERE id > %s ORDER BY id", [after]
            ).fetchall()
            seen += [row_id for (row_id,) in rows]
            after = seen[-1] if seen else after
            if not writing:  # this read began after both writers had committed their last batch
                break
    for thread in writers:
        thread.join()

    assert not failures, failures
    written = list(ResourceChange.objects.order_by("id").values_list("id", flat=True))
    assert len(written) == 2 * BATCHES * EVENTS_PER_BATCH
    assert seen == written, f"the follower skipped {len(set(written) - set(seen))} entries committed out of order"
