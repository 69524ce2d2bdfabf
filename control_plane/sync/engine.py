"""The sync operator: one bounded window of list + watch for one cluster, under the cluster's lease.

Per resource type, as client-go's reflector: without a cursor, a paginated LIST written in one transaction with
its resourceVersion as the cursor; then a WATCH from the cursor (a `watcher.Watcher` thread per type) whose events
the window writes in micro-batches, each batch atomically with the cursors it reaches. 410 from a list or a watch
means relist, never re-watching the stale version. A type whose last full comparison is older than the resync
period is compared again at its cursor, repairing drift. New CRDs and XRDs lead to a new discovery within the
window, so new kinds are synced without a restart.

The window ends by itself (after `seconds`, or after one pass with `once`), or when `stop` is set, and always
writes what it has received before returning; the next window resumes from the cursors.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from control_plane.choices import DeletedReasonChoices, SyncModeChoices
from control_plane.kube.client import KubeClient, connect
from control_plane.kube.errors import KubeError, KubeExpired
from control_plane.models import Cluster, ResourceType, SyncRun
from control_plane.sync.backoff import Backoff
from control_plane.sync.lease import Lease
from control_plane.sync.lookups import Lookups
from control_plane.sync.rows import TypeInfo
from control_plane.sync.types import added_keys, reconcile_types, served_type, type_info
from control_plane.sync.watcher import DONE, ERROR, EVENT, EXPIRED, Watcher, WatchItem
from control_plane.sync.writer import Counts, Progress, TypeBatch, Writer
from devplat.core.actor import Actor, Face, acting, new_request_id

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 500
DISCOVERY = "discovery"  # the key of a discovery failure in WindowReport.errors
QUEUE_SIZE = 10_000
DEFINITION_TYPES = {
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("apiextensions.crossplane.io", "compositeresourcedefinitions"),
}
REDISCOVER_SECONDS = 60.0
LEASE_CHECK_SECONDS = 5.0
JOIN_SECONDS = 5.0
GC_YOUNG_THRESHOLD = 50_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Decoded list pages and events are millions of short-lived dicts: with the default thresholds the cyclic
    garbage collector runs every few hundred allocations and roughly halved decoding speed. Objects that exist
    before the window are frozen out of its scans, and young collections come far less often."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class WindowStopped(Exception):
    """The window was told to stop in the middle of a list."""


@dataclass
class WindowReport:
    """What a window did, per type key; `errors` are the last error of each type that failed."""

    cluster: str
    types: int = 0
    counts: dict[str, Counts] = field(default_factory=dict)
    relists: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.counts.values():
            total += counts
        return total


def default_holder() -> str:
    return f"{socket.gethostname()}:{threading.get_native_id()}"


def sync_window(
    cluster: Cluster,
    *,
    seconds: float | None = None,
    once: bool = False,
    stop: threading.Event | None = None,
    holder: str | None = None,
    progress: Progress | None = None,
) -> WindowReport | None:
    """Run one window for `cluster`; None when another worker holds its lease."""
    lease = Lease.try_acquire(cluster.pk, holder=holder or default_holder())
    if lease is None:
        return None
    with lease, acting(Actor(face=Face.SYNC, request_id=new_request_id())):
        window = Window(
            cluster,
            lease,
            seconds=settings.DEVPLAT_SYNC_WINDOW_SECONDS if seconds is None else seconds,
            once=once,
            stop=stop or threading.Event(),
            progress=progress,
        )
        return window.run()


class Window:
    """One cluster's sync window: the writer runs in the calling thread, one watcher thread per type."""

    def __init__(
        self,
        cluster: Cluster,
        lease: Lease,
        *,
        seconds: float,
        once: bool,
        stop: threading.Event,
        progress: Progress | None,
    ) -> None:
        self.cluster = cluster
        self.lease = lease
        self.once = once
        self.stop = stop
        self.progress = progress
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.started_at = timezone.now()
        self.report = WindowReport(cluster=cluster.name)
        self.lookups = Lookups(cluster.pk)
        self.writer = Writer(cluster.pk, lease=lease, namespaced=self.lookups.namespaced)
        self.events: queue.Queue[WatchItem] = queue.Queue(maxsize=QUEUE_SIZE)
        self.watchers: dict[int, Watcher] = {}
        self.watch_counts: dict[int, Counts] = {}
        self.backoffs: dict[int, Backoff] = {}
        self.types: dict[int, TypeInfo] = {}
        self.client: KubeClient = connect(cluster.name, cluster.credentials())
        self.discovered_at = 0.0

    # The window.

    def run(self) -> WindowReport:
        with fewer_collections():
            try:
                try:
                    self.discover()
                except KubeError as exc:
                    self.unreachable(exc)
                    return self.report
                self.loop()
            finally:
                self.close()
        return self.report

    def unreachable(self, exc: KubeError) -> None:
        """Discovery failed: the cluster cannot be synced now. Say why where operators look (the cluster's last
        error, the report); the caller decides when to try again."""
        message = f"Sync could not discover the cluster's resource types: {exc.message}"
        logger.warning("Cluster %s: %s", self.cluster.name, message)
        self.report.errors[DISCOVERY] = message
        Cluster.objects.filter(pk=self.cluster.pk).update(last_error=message[:2000])

    def loop(self) -> None:
        pending: dict[TypeInfo, TypeBatch] = {}
        pending_events = 0
        opened = 0.0  # when the writer took the batch's first item: under a backlog, every event is already old
        rediscover = False
        flush_seconds = settings.DEVPLAT_SYNC_FLUSH_SECONDS
        lease_checked = time.monotonic()
        while not self.stop.is_set() and (self.watchers or not self.once):
            now = time.monotonic()
            if now >= self.deadline:
                break
            if now - lease_checked > LEASE_CHECK_SECONDS:
                if not self.lease.alive():
                    logger.warning("Cluster %s: the sync lease's connection is gone; ending the window.", self.cluster)
                    break
                lease_checked = now
            wait = flush_seconds if not pending else max(0.0, opened + flush_seconds - now)
            try:
                item: WatchItem | None = self.events.get(timeout=max(wait, 0.01))
            except queue.Empty:
                item = None
            if item is not None and item.what == EVENT and item.event is not None:
                if not pending:
                    opened = time.monotonic()
                batch = pending.setdefault(item.rt, TypeBatch(first_received=item.received))
                if item.event.get("type") != "BOOKMARK":
                    batch.events.append(item.event)
                    pending_events += 1
                    rediscover = rediscover or (item.rt.group, item.rt.plural) in DEFINITION_TYPES
                version = ((item.event.get("object") or {}).get("metadata") or {}).get("resourceVersion")
                batch.cursor = str(version or batch.cursor)
            due = bool(pending) and time.monotonic() - opened >= flush_seconds
            if pending and (pending_events >= settings.DEVPLAT_SYNC_FLUSH_EVENTS or due or item is None):
                self.flush(pending)
                pending, pending_events = {}, 0
            if item is not None and item.what != EVENT:
                self.flush(pending)
                pending, pending_events = {}, 0
                self.handle(item)
            if not pending and (rediscover or time.monotonic() - self.discovered_at > REDISCOVER_SECONDS):
                rediscover = False
                if not self.once:
                    self.discover()
        self.flush(pending)

    def handle(self, item: WatchItem) -> None:
        """A watcher's news other than an event: its version expired (relist), an error, or it finished."""
        rt = item.rt
        if item.what == EXPIRED:
            self.watchers.pop(rt.id, None)
            self.report.relists += 1
            self.list_then_watch(rt, mode=SyncModeChoices.RELIST)
        elif item.what == ERROR:
            self.record_error(rt, item.error, item.delay)
        elif item.what == DONE:
            watcher = self.watchers.get(rt.id)
            if watcher is not None and id(watcher) == item.origin:
                self.watchers.pop(rt.id)

    def flush(self, pending: dict[TypeInfo, TypeBatch]) -> None:
        if not pending:
            return
        results = self.writer.write_events(pending)
        for rt in pending:
            counts = results.get(rt.id, Counts())
            self.report.counts.setdefault(rt.key, Counts())
            self.report.counts[rt.key] += counts
            self.watch_counts.setdefault(rt.id, Counts())
            self.watch_counts[rt.id] += counts

    # Types.

    def discover(self) -> None:
        """Bring the type rows up to date and start syncing new types; retire the ones gone or excluded."""
        served = self.client.discover(extra=added_keys(self.cluster))
        active, retire = reconcile_types(self.cluster, served)
        self.discovered_at = time.monotonic()
        self.lookups.refresh()
        for row in retire:
            self.retire(row)
        active_ids = {row.pk for row in active}
        for type_id in [type_id for type_id in self.watchers if type_id not in active_ids]:
            self.watchers.pop(type_id).cancel()
        now = timezone.now()
        with self.writer.rollups_deferred():
            for row in active:
                if self.stop.is_set():
                    return
                rt = type_info(row)
                if rt.id in self.watchers or (row.backoff_until and row.backoff_until > now):
                    continue
                self.types[rt.id] = rt
                self.report.types = len(self.types)
                self.start(rt, row)

    def start(self, rt: TypeInfo, row: ResourceType) -> None:
        resync_due = row.last_resync_at is None or (
            timezone.now() - row.last_resync_at > datetime.timedelta(seconds=settings.DEVPLAT_SYNC_RESYNC_SECONDS)
        )
        if not row.cursor:
            self.list_then_watch(rt, mode=SyncModeChoices.LIST if row.last_list_at is None else SyncModeChoices.RELIST)
        elif resync_due and row.last_list_at is not None:
            self.list_then_watch(rt, mode=SyncModeChoices.RESYNC, at=row.cursor)
        else:
            self.watch(rt, row.cursor)

    def list_then_watch(self, rt: TypeInfo, *, mode: str, at: str = "") -> None:
        """A full list (at `at` for a resync, else the newest state), then a watch from its version. A list whose
        version expired while paging starts again from the newest state, as client-go's pager does."""
        kube_type = served_type(rt)
        try:
            try:
                pages = self.client.iter_list(kube_type, limit=LIST_PAGE_SIZE, resource_version=at or None)
                counts = self.writer.write_list(
                    rt, self.until_stopped(pages), mode=mode, set_cursor=not at, progress=self.progress
                )
            except KubeExpired:
                if mode == SyncModeChoices.RESYNC:
                    mode = SyncModeChoices.RELIST
                pages = self.client.iter_list(kube_type, limit=LIST_PAGE_SIZE)
                counts = self.writer.write_list(rt, self.until_stopped(pages), mode=mode, progress=self.progress)
        except KubeError as exc:
            self.record_error(rt, exc.message, self.backoff(rt).next_delay(exc.retry_after))
            return
        except WindowStopped:
            return  # the list's transaction rolled back; the next window lists again
        self.report.counts.setdefault(rt.key, Counts())
        self.report.counts[rt.key] += counts
        cursor = ResourceType.objects.values_list("cursor", flat=True).get(pk=rt.id)
        self.watch(rt, cursor)

    def until_stopped(self, pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The list's pages, ending the list (and rolling its transaction back) when the window is stopped."""
        for page in pages:
            if self.stop.is_set():
                raise WindowStopped
            yield page

    def watch(self, rt: TypeInfo, cursor: str) -> None:
        watcher = Watcher(
            self.client,
            rt,
            cursor,
            self.events,
            deadline=self.deadline,
            once=self.once,
            timeout_range=settings.DEVPLAT_SYNC_WATCH_TIMEOUT_RANGE,
            backoff=self.backoff(rt),
        )
        self.watchers[rt.id] = watcher
        watcher.start()

    def backoff(self, rt: TypeInfo) -> Backoff:
        if rt.id not in self.backoffs:
            self.backoffs[rt.id] = Backoff(
                initial=settings.DEVPLAT_SYNC_BACKOFF_INITIAL, cap=settings.DEVPLAT_SYNC_BACKOFF_CAP
            )
        return self.backoffs[rt.id]

    def retire(self, row: ResourceType) -> None:
        self.writer.retire_type(type_info(row), reason=DeletedReasonChoices.TYPE_REMOVED)

    def record_error(self, rt: TypeInfo, message: str, delay: float) -> None:
        logger.warning("Cluster %s, %s: %s (retrying in %.1f s)", self.cluster.name, rt.key, message, delay)
        self.report.errors[rt.key] = message
        self.writer.record_error(rt, message, timezone.now() + datetime.timedelta(seconds=delay))

    # Closing.

    def close(self) -> None:
        """Stop the watchers (their streams are cut, so none waits for its timeout) and write the ledger."""
        for watcher in self.watchers.values():
            watcher.cancel()
        for watcher in self.watchers.values():
            watcher.join(JOIN_SECONDS)
        self.watchers.clear()
        self.write_ledger()

    def write_ledger(self) -> None:
        """One `SyncRun` per type that changed or failed during the window's watches."""
        finished = timezone.now()
        runs = []
        for type_id, rt in self.types.items():
            counts = self.watch_counts.get(type_id, Counts())
            error = self.report.errors.get(rt.key, "")
            if counts.changed or error:
                runs.append(
                    SyncRun(
                        cluster_id=self.cluster.pk,
                        resource_type_id=type_id,
                        mode=SyncModeChoices.WATCH,
                        started_at=self.started_at,
                        finished_at=finished,
                        added=counts.added,
                        modified=counts.modified,
                        deleted=counts.deleted,
                        unchanged=counts.unchanged,
                        error=error,
                    )
                )
        if runs:
            with transaction.atomic():
                self.lease.check()
                SyncRun.objects.bulk_create(runs)
