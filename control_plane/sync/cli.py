"""`devplat sync ...`: run the sync operator in the foreground, see how each type's sync is doing, compare a cluster
with the database, and choose which types are synced.

`sync run` does what the Celery tasks do, in the terminal: sync windows (`engine.sync_window`) under each cluster's
lease, so it is safe next to workers and other `sync run`s; whoever holds a cluster's lease syncs it. Ctrl-C asks
the windows to stop: each writes what it has received and ends, and the next run resumes from the stored cursors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from django.db import connection
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBars

from control_plane import services
from control_plane.credentials import CredentialsUnreadable
from control_plane.kube.endpoints import EndpointRefused
from control_plane.kube.errors import KubeError
from control_plane.models import Cluster, ResourceType
from control_plane.selectors import cluster_for, require_platform_admin
from control_plane.sync.backoff import Backoff
from control_plane.sync.engine import WindowReport, sync_window
from control_plane.sync.lease import held_cluster_ids
from control_plane.sync.rows import TypeInfo
from control_plane.sync.verify import VerifyReport, verify_cluster
from control_plane.sync.writer import Counts, Progress
from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb

logger = logging.getLogger(__name__)

# How often `sync run --follow` tries again for a cluster whose lease another worker holds.
LEASE_RETRY_SECONDS = 3.0
JOIN_POLL_SECONDS = 0.2
ERROR_CHARS = 80
HELD = "lease held by another worker"

RUN_COLUMNS = ("cluster", "windows", "added", "modified", "deleted", "unchanged", "relists", "errors", "state")
STATUS_COLUMNS = ("cluster", "type", "kind", "category", "objects", "cursor-age", "lag", "last-error", "backoff")
TYPE_COLUMNS = ("type", "kind", "version", "category", "source", "watched", "served", "objects")
VERIFY_COLUMNS = ("type", "object", "uid", "problem")

Say = Callable[[str], None]


class SyncNoun(Noun):
    name = "sync"
    help = "The sync operator: run it in the foreground, see its state, verify a cluster, choose the types synced."

    @verb(
        "run",
        "Sync clusters in the foreground (platform admins): windows of list + watch back to back until Ctrl-C, "
        "or one pass with --once.",
        arg(
            "--cluster",
            dest="clusters",
            action="extend",
            nargs="+",
            metavar="NAME",
            help="A cluster to sync; repeat for more (default: every enabled cluster).",
        ),
        arg("--once", action="store_true", help="One pass: list what has no cursor, catch up the watches, end."),
        arg("--follow", action="store_true", help="Windows back to back until Ctrl-C (the default)."),
        arg(
            "--window", type=float, metavar="SECONDS", help="Length of a window (default: DEVPLAT_SYNC_WINDOW_SECONDS)."
        ),
    )
    def run(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "run the sync")
        args = inv.args
        if args.once and args.follow:
            raise CliError("--once and --follow exclude each other: --once syncs one pass, --follow until Ctrl-C.")
        if args.window is not None and args.window <= 0:
            raise CliError(f"--window {args.window:g}: give the window's length in seconds, more than 0.")
        clusters = _clusters_to_sync(inv.user, args.clusters)
        with Reporter(inv.progress, bars=sys.stderr.isatty()) as reporter:
            runner = ForegroundSync(clusters, once=args.once, seconds=args.window, reporter=reporter)
            runs = runner.run()
        data = [run.row() for run in runs]
        rows = [{**row, "errors": sorted(row["errors"])} for row in data]  # the table names the failing types
        if args.once:
            failed = [run.cluster for run in runs if run.failed or run.errors]
            message = f"errors in {', '.join(failed)}; see `devplat sync status`" if failed else ""
            return Output(rows=rows, columns=RUN_COLUMNS, message=message, data=data, exit_code=1 if failed else 0)
        windows = sum(run.windows for run in runs)
        message = f"stopped after {windows} window(s); the next run resumes from the stored cursors"
        return Output(rows=rows, columns=RUN_COLUMNS, message=message, data=data)

    @verb(
        "status",
        "How each synced type of each cluster is doing: objects, cursor age, lag, last error, backoff; and who "
        "holds each cluster's sync lease.",
        arg("--cluster", metavar="NAME", help="Only this cluster."),
    )
    def status(self, inv: Invocation) -> Output:
        if inv.args.cluster:
            clusters = [cluster_for(inv.user, inv.args.cluster)]
        else:
            clusters = list(Cluster.objects.restrict(inv.user, "view"))
        held = held_cluster_ids()
        now = timezone.now()
        types = ResourceType.objects.restrict(inv.user, "view").filter(cluster__in=clusters, watched=True, served=True)
        by_cluster: dict[int, list[ResourceType]] = {}
        for row in sorted(types, key=lambda row: row.key):
            by_cluster.setdefault(row.cluster_id, []).append(row)
        data, rows, lines = [], [], []
        for cluster in clusters:
            synced = by_cluster.get(cluster.pk, [])
            rows += [_status_row(cluster, row, now) for row in synced]
            lines.append(_lease_line(cluster, cluster.pk in held))
            data.append(
                {
                    "cluster": cluster.name,
                    "lease": {
                        "held": cluster.pk in held,
                        "holder": cluster.lease_holder,
                        "epoch": cluster.lease_epoch,
                        "acquired_at": cluster.lease_acquired_at,
                    },
                    "types": [_status_data(row, now) for row in synced],
                }
            )
        if not clusters:
            lines.append("no clusters registered; add one with `devplat clusters add`")
        return Output(rows=rows, columns=STATUS_COLUMNS, message="\n".join(lines), data=data)

    @verb(
        "verify",
        "Compare a fresh full list of every synced type with the database (platform admins): print the "
        "differences, exit 1 if there are any.",
        arg("--cluster", required=True, metavar="NAME"),
    )
    def verify(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.cluster)
        require_platform_admin(inv.user, "verify clusters")
        if not cluster.resource_types.filter(watched=True, served=True).exists():
            raise CliError(
                f"cluster {cluster.name} has no synced types yet, so there is nothing to compare; sync it first "
                f"with `devplat sync run --cluster {cluster.name} --once`."
            )
        try:
            report = verify_cluster(cluster)
        except (KubeError, EndpointRefused, CredentialsUnreadable) as exc:
            raise CliError(f"cannot verify cluster {cluster.name}, nothing was compared: {exc}") from None
        return _verify_output(report)

    @verb(
        "types",
        "The resource types of a cluster: which are synced, excluded, added by an operator or no longer served.",
        arg("--cluster", required=True, metavar="NAME"),
    )
    def types(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.cluster)
        rows = sorted(ResourceType.objects.restrict(inv.user, "view").filter(cluster=cluster), key=lambda r: r.key)
        return Output(rows=[_type_row(row) for row in rows], columns=TYPE_COLUMNS)

    @verb(
        "exclude",
        "Stop syncing a type of a cluster (platform admins); the next sync window retires its rows.",
        arg("--cluster", required=True, metavar="NAME"),
        arg("type", help="The type as kubectl spells it: plural.group (deployments.apps) or plural (configmaps)."),
    )
    def exclude(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.cluster)
        require_platform_admin(inv.user, "choose which types are synced")
        row = _find_type(cluster, inv.args.type)
        if row is None:
            raise CliError(
                f"cluster {cluster.name} has no type {inv.args.type!r}; list its types with "
                f"`devplat sync types --cluster {cluster.name}`."
            )
        if not row.watched:
            return Output(data=_type_row(row), message=f"cluster {cluster.name}: {row.key} is already excluded")
        row = services.resource_type_set_watched(resource_type=row, watched=False)
        return Output(
            data=_type_row(row),
            message=f"cluster {cluster.name}: {row.key} excluded; the next sync window retires its "
            f"{row.object_count} row(s)",
        )

    @verb(
        "include",
        "Sync a type of a cluster again, or add one discovery does not pick, such as pods (platform admins).",
        arg("--cluster", required=True, metavar="NAME"),
        arg("type", help="The type as kubectl spells it: plural.group (widgets.example.com) or plural (pods)."),
    )
    def include(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.cluster)
        require_platform_admin(inv.user, "choose which types are synced")
        row = _find_type(cluster, inv.args.type)
        if row is None:
            row = services.resource_type_add(cluster=cluster, key=inv.args.type)
            message = (
                f"cluster {cluster.name}: {row.key} added; the next sync window syncs it if the cluster serves it "
                f"(see `devplat sync status --cluster {cluster.name}`)"
            )
        elif row.watched:
            message = f"cluster {cluster.name}: {row.key} is already synced"
        else:
            row = services.resource_type_set_watched(resource_type=row, watched=True)
            message = f"cluster {cluster.name}: {row.key} included; the next sync window lists it"
        if not row.served and row.kind:
            message += " (the cluster does not serve it now)"
        return Output(data=_type_row(row), message=message)


# --- sync run ------------------------------------------------------------------------------------------------------


def _clusters_to_sync(user: Any, names: list[str] | None) -> list[Cluster]:
    if not names:
        clusters = list(Cluster.objects.filter(enabled=True))
        if not clusters:
            raise CliError("no enabled clusters to sync; register one with `devplat clusters add`.")
        return clusters
    clusters = [cluster_for(user, name) for name in dict.fromkeys(names)]
    disabled = [cluster.name for cluster in clusters if not cluster.enabled]
    if disabled:
        raise CliError(f"cluster {', '.join(disabled)} is disabled, so it is not synced; enable it in the admin first.")
    return clusters


@dataclass
class ClusterRun:
    """What `sync run` did for one cluster, over all its windows."""

    cluster: str
    windows: int = 0
    counts: Counts = field(default_factory=Counts)
    relists: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    state: str = ""
    failed: bool = False

    def add(self, report: WindowReport) -> None:
        self.windows += 1
        self.counts += report.total
        self.relists += report.relists
        self.errors = dict(report.errors)
        self.state, self.failed = "synced", False

    def row(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "windows": self.windows,
            "added": self.counts.added,
            "modified": self.counts.modified,
            "deleted": self.counts.deleted,
            "unchanged": self.counts.unchanged,
            "relists": self.relists,
            "errors": self.errors,
            "state": self.state,
        }


class Reporter:
    """How `sync run` shows what it does: progress bars for lists on a terminal, plain lines on anything else.
    Safe to call from every cluster's thread."""

    def __init__(self, say: Say, *, bars: bool) -> None:
        self._say = say
        self._lock = threading.RLock()
        self._tasks: dict[str, TaskID] = {}
        self._bars = (
            ProgressBars(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            if bars
            else None
        )

    def __enter__(self) -> Reporter:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def line(self, text: str) -> None:
        with self._lock:
            if self._bars is not None:
                self._bars.console.print(text, markup=False, highlight=False)
            else:
                self._say(text)

    def progress(self, cluster: str) -> Progress:
        """The writer's per-page callback for one cluster's lists. The last page of a list carries no
        remainingItemCount, so a page without a total ends the list's bar."""

        def report(rt: TypeInfo, done: int, total: int | None) -> None:
            label = f"{cluster} {rt.key}"
            if self._bars is None:
                self.line(f"{label}: {done}/{total}" if total is not None else f"{label}: {done} listed")
                return
            with self._lock:
                task = self._tasks.get(label)
                if total is None:
                    if task is not None:
                        self._bars.remove_task(self._tasks.pop(label))
                elif task is None:
                    self._tasks[label] = self._bars.add_task(label, total=total, completed=done)
                else:
                    self._bars.update(task, total=total, completed=done)

        return report


class ForegroundSync:
    """Windows for several clusters, one thread each, until they end (`once`) or SIGINT/SIGTERM stops them."""

    def __init__(self, clusters: list[Cluster], *, once: bool, seconds: float | None, reporter: Reporter) -> None:
        self.clusters = clusters
        self.once = once
        self.seconds = seconds
        self.reporter = reporter
        self.stop = threading.Event()
        self.holder = f"devplat sync run, pid {os.getpid()} on {socket.gethostname()}"

    def run(self) -> list[ClusterRun]:
        runs = [ClusterRun(cluster.name) for cluster in self.clusters]
        threads = [
            threading.Thread(target=self._sync, args=(cluster, run), name=f"devplat-sync-{cluster.name}", daemon=True)
            for cluster, run in zip(self.clusters, runs, strict=True)
        ]
        with self._signals():
            for thread in threads:
                thread.start()
            try:
                while any(thread.is_alive() for thread in threads):
                    for thread in threads:
                        thread.join(JOIN_POLL_SECONDS)
            except KeyboardInterrupt:
                raise CliError(
                    "interrupted twice: quit without waiting for the windows; what they had not written yet is read "
                    "again by the next run, from the stored cursors.",
                    exit_code=130,
                ) from None
        return runs

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """The first SIGINT or SIGTERM sets the windows' stop event; the second raises KeyboardInterrupt. The
        previous handlers come back afterwards. Only the main thread may install handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        for number in previous:
            signal.signal(number, self._interrupt)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler if handler is not None else signal.SIG_DFL)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        self.reporter.line("stopping: each window writes what it has received, then ends (Ctrl-C again quits now)")

    def _sync(self, cluster: Cluster, run: ClusterRun) -> None:
        try:
            self._windows(cluster, run)
        finally:
            connection.close()  # this thread's own database connection

    def _windows(self, cluster: Cluster, run: ClusterRun) -> None:
        backoff = Backoff()
        waiting = False
        progress = self.reporter.progress(cluster.name)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                report = sync_window(
                    cluster, seconds=self.seconds, once=self.once, stop=self.stop, holder=self.holder, progress=progress
                )
            except Cluster.DoesNotExist:
                run.state = "removed"
                self.reporter.line(f"{cluster.name}: the cluster was removed; no longer syncing it")
                return
            except Exception as exc:  # a window that failed (unreachable, lease lost): retry, as a worker would
                logger.debug("Sync window of cluster %s failed", cluster.name, exc_info=True)
                run.state, run.failed = f"failed: {_first_line(exc)}", True
                delay = backoff.next_delay()
                retry = "" if self.once else f"; trying again in {delay:.1f} s"
                self.reporter.line(f"{cluster.name}: window failed: {_first_line(exc)}{retry}")
                if self.once:
                    return
                self.stop.wait(delay)
                continue
            if report is None:
                run.state = HELD
                if not waiting:
                    again = "" if self.once else f" (trying again every {LEASE_RETRY_SECONDS:g} s)"
                    self.reporter.line(
                        f"another worker is syncing cluster {cluster.name}; it will be synced there{again}"
                    )
                waiting = True
                if self.once:
                    return
                self.stop.wait(LEASE_RETRY_SECONDS)
                continue
            waiting = False
            backoff.reset()
            run.add(report)
            for line in _window_lines(report, time.monotonic() - started):
                self.reporter.line(line)
            if self.once:
                return


def _window_lines(report: WindowReport, seconds: float) -> list[str]:
    total = report.total
    lines = [
        f"{report.cluster}: window of {seconds:.1f} s over {report.types} types: {total.added} added, "
        f"{total.modified} modified, {total.deleted} deleted, {total.unchanged} unchanged, {report.relists} relists, "
        f"{len(report.errors) or 'no'} errors"
    ]
    lines += [f"{report.cluster} {key}: error: {message}" for key, message in sorted(report.errors.items())]
    return lines


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- status, types, include/exclude, verify -------------------------------------------------------------------------


def _age(seconds: float) -> str:
    """A duration as kubectl shows ages: 45s, 12m, 3h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cursor_time(row: ResourceType) -> datetime.datetime | None:
    """When the type's stored state last moved: its newest watch event or list."""
    times = [t for t in (row.last_event_at, row.last_list_at) if t is not None]
    return max(times) if times else None


def _status_row(cluster: Cluster, row: ResourceType, now: datetime.datetime) -> dict[str, Any]:
    moved = _cursor_time(row)
    error = row.last_error.strip().splitlines()[0] if row.last_error.strip() else ""
    return {
        "cluster": cluster.name,
        "type": row.key,
        "kind": row.kind,
        "category": row.category,
        "objects": row.object_count,
        "cursor-age": _age((now - moved).total_seconds()) if moved else "never listed",
        "lag": f"{row.lag_ms} ms" if row.lag_ms is not None else "",
        "last-error": error[:ERROR_CHARS] + ("..." if len(error) > ERROR_CHARS else ""),
        "backoff": _age((row.backoff_until - now).total_seconds())
        if row.backoff_until and row.backoff_until > now
        else "",
    }


def _status_data(row: ResourceType, now: datetime.datetime) -> dict[str, Any]:
    moved = _cursor_time(row)
    return {
        "type": row.key,
        "kind": row.kind,
        "category": row.category,
        "objects": row.object_count,
        "cursor": row.cursor,
        "cursor_age_seconds": round((now - moved).total_seconds(), 1) if moved else None,
        "lag_ms": row.lag_ms,
        "last_error": row.last_error,
        "error_count": row.error_count,
        "backoff_until": row.backoff_until,
        "last_list_at": row.last_list_at,
        "last_event_at": row.last_event_at,
        "last_resync_at": row.last_resync_at,
    }


def _lease_line(cluster: Cluster, held: bool) -> str:
    if held:
        since = f", since {cluster.lease_acquired_at:%Y-%m-%d %H:%M:%SZ}" if cluster.lease_acquired_at else ""
        return (
            f"cluster {cluster.name}: being synced by {cluster.lease_holder} (lease epoch {cluster.lease_epoch}{since})"
        )
    if cluster.lease_epoch:
        return f"cluster {cluster.name}: no worker holds its sync lease now (last: {cluster.lease_holder})"
    return f"cluster {cluster.name}: never synced"


def _type_row(row: ResourceType) -> dict[str, Any]:
    return {
        "type": row.key,
        "kind": row.kind,
        "version": row.version,
        "category": row.category,
        "source": row.source,
        "watched": row.watched,
        "served": row.served,
        "objects": row.object_count,
    }


def _find_type(cluster: Cluster, text: str) -> ResourceType | None:
    """The cluster's type spelled `text` (plural.group); None if it has none. A kind or a plural without its group
    (`deployment`, `deployments`) is refused with the spelling meant, so a slip does not add a type."""
    key = text.strip().lower()
    plural, _, group = key.partition(".")
    rows = list(cluster.resource_types.all())
    for row in rows:
        if (row.plural, row.group) == (plural, group):
            return row
    meant = sorted(row.key for row in rows if key in (row.plural, row.kind.lower()))
    if meant:
        raise CliError(
            f"cluster {cluster.name} has no type {text!r}; did you mean {' or '.join(meant)}? Write types as "
            "plural.group, as `kubectl api-resources` shows them."
        )
    return None


def _verify_output(report: VerifyReport) -> Output:
    rows = [
        {
            "type": d.type,
            "object": f"{d.namespace}/{d.name}" if d.namespace else d.name,
            "uid": d.uid,
            "problem": f"{d.problem}: {d.detail}" if d.detail else d.problem,
        }
        for d in report.differences
    ]
    data = {
        "cluster": report.cluster,
        "in_sync": report.in_sync,
        "objects": report.objects,
        "types": report.types,
        "differences": [dataclasses.asdict(d) for d in report.differences],
        "errors": report.errors,
    }
    if report.in_sync:
        return Output(data=data, message=f"in sync: {report.objects} objects in {report.types} types")
    lines = [f"{report.cluster} {key}: could not list it: {message}" for key, message in sorted(report.errors.items())]
    if report.differences:
        lines.append(
            f"not in sync: {len(report.differences)} difference(s) between cluster {report.cluster} and the database"
        )
    return Output(rows=rows, columns=VERIFY_COLUMNS, message="\n".join(lines), data=data, exit_code=1)
