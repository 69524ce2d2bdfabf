"""Celery tasks of the sync operator (beat's tick, and one sync window per cluster) and of provisioning (a waiting
request advances as soon as its dependencies are satisfied).

The tick is cheap and may run twice (R23): it starts a window for every enabled cluster whose lease nobody holds,
and a window that finds its lease taken ends at once. So neither a second beat nor a redelivered task can make two
workers sync one cluster.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from control_plane.choices import RequestStatusChoices
from control_plane.models import Cluster, ProvisioningRequest
from control_plane.provisioning.services import provisioning_request_advance
from control_plane.sync.engine import DISCOVERY, sync_window
from control_plane.sync.lease import held_cluster_ids
from devplat.core.errors import Unavailable
from devplat.core.tasks import idempotent_task

logger = logging.getLogger(__name__)

QUEUED_KEY = "devplat:sync:queued:{}"
UNREACHABLE_PAUSE_SECONDS = 30
# A window may overrun its length by a long first list; the hard limit still ends it well before the broker's
# visibility timeout would hand the task to another worker.
WINDOW_SOFT_LIMIT = int(settings.DEVPLAT_SYNC_WINDOW_SECONDS) + 300
WINDOW_HARD_LIMIT = WINDOW_SOFT_LIMIT + 60


@idempotent_task(name="control_plane.sync_tick")
def sync_tick() -> list[str]:
    """Start a window for each enabled cluster with no live lease; returns the clusters started."""
    held = held_cluster_ids()
    started = []
    for cluster in Cluster.objects.filter(enabled=True).exclude(pk__in=held).only("pk", "name"):
        # One queued window per cluster: ticks come faster than a busy worker may pick the task up.
        if cache.add(QUEUED_KEY.format(cluster.pk), 1, timeout=int(settings.DEVPLAT_SYNC_TICK_SECONDS * 6)):
            sync_cluster.delay(cluster.pk)
            started.append(cluster.name)
    return started


@idempotent_task(name="control_plane.sync_cluster", soft_time_limit=WINDOW_SOFT_LIMIT, time_limit=WINDOW_HARD_LIMIT)
def sync_cluster(cluster_id: int) -> dict[str, Any]:
    """One sync window for the cluster, if it is enabled and no other worker holds its lease."""
    cache.delete(QUEUED_KEY.format(cluster_id))
    cluster = Cluster.objects.filter(pk=cluster_id, enabled=True).first()
    if cluster is None:
        return {"cluster": cluster_id, "skipped": "not found or disabled"}
    report = sync_window(cluster)
    if report is None:
        logger.info("Cluster %s: another worker holds the sync lease; this duplicate window ends.", cluster.name)
        return {"cluster": cluster.name, "skipped": "lease held by another worker"}
    if DISCOVERY in report.errors:
        # The cluster is unreachable or refuses discovery: skip the next ticks for a while, not every 5 s.
        cache.set(QUEUED_KEY.format(cluster.pk), 1, timeout=UNREACHABLE_PAUSE_SECONDS)
    total = report.total
    return {
        "cluster": cluster.name,
        "types": report.types,
        "added": total.added,
        "modified": total.modified,
        "deleted": total.deleted,
        "relists": report.relists,
        "errors": report.errors,
    }


# How many waiting requests one sweep looks at; the next sweep (seconds later) takes the rest.
SWEEP_BATCH = 100


@idempotent_task(name="control_plane.provisioning_advance")
def provisioning_advance(request_id: int) -> str | None:
    """Apply one waiting request if its dependencies are satisfied (queued when the request is made)."""
    return provisioning_request_advance(request_id=request_id)


@idempotent_task(name="control_plane.provisioning_sweep")
def provisioning_sweep() -> dict[str, int]:
    """Beat's periodic pass over every waiting request, oldest first: applies those whose dependencies are now
    Ready. A cluster that cannot be reached leaves its requests waiting for the next sweep."""
    counts: dict[str, int] = {}
    waiting = ProvisioningRequest.objects.filter(status=RequestStatusChoices.WAITING).order_by("id")
    for request_id in waiting.values_list("id", flat=True)[:SWEEP_BATCH]:
        try:
            status = provisioning_request_advance(request_id=request_id)
        except Unavailable as exc:
            logger.warning("Provisioning request %s stays waiting: %s", request_id, exc)
            status = RequestStatusChoices.WAITING
        counts[status or "skipped"] = counts.get(status or "skipped", 0) + 1
    return counts
