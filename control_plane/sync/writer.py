"""Writes what the sync read into PostgreSQL: rows, tombstones, edges, the change feed and the cursor, atomically.

Every write is a batch in one transaction that also stores the resource type's cursor and checks the cluster's
lease epoch (fencing, `lease.Lease.check`), so a crash or a lost lease leaves the database at the previous cursor
with nothing half-applied, and the next window resumes from there (R1, R22).

Rows are keyed by (cluster, uid). A batch first reads the stored versions of the objects it carries, in one query;
what would be written identically (`rows.row_digest`) is skipped, so a replayed event or a no-op relist writes
nothing. The rest goes through COPY into a temporary stage table and one `INSERT ... ON CONFLICT DO UPDATE`
(PERFORMANCE.md: about ten times Django's bulk paths). A full list skips objects whose resourceVersion equals the
stored one before any SQL, except in a resync, which compares every row so that rows corrupted in the database are
found and repaired.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from control_plane import tree
from control_plane.choices import ChangeTypeChoices, DeletedReasonChoices, ResourceCategoryChoices, SyncModeChoices
from control_plane.models import SyncRun
from control_plane.sync.diff import changed_paths, condition_transitions
from control_plane.sync.lease import Lease
from control_plane.sync.refs import NamespacedLookup
from control_plane.sync.rows import JSON_COLUMNS, Row, TypeInfo, build_row, kube_time, stored_digest
from control_plane.sync.teams import TeamSnapshot, retag_type, team_expression
from devplat.core.readahead import read_ahead
from governance.services import audit_record

logger = logging.getLogger(__name__)

RESOURCE_TABLE = "control_plane_resource"
STAGE_TABLE = "devplat_sync_stage"
RESOURCE_COLUMNS = (
    "cluster_id",
    "resource_type_id",
    "uid",
    "api_group",
    "api_version",
    "kind",
    "namespace",
    "name",
    *JSON_COLUMNS,
    "deleting_since",
    "resource_version",
    "generation",
    "observed_generation",
    "ready",
    "synced",
    "health",
    "health_reason",
    "team_id",
    "content_hash",
    "created_at_k8s",
    "first_seen_at",
    "last_seen_at",
    "deleted_reason",
    "tree_health",
    "failing_message",
)
# What an upsert leaves alone: the key, when devplat first saw the row, and the rollup (`tree.rollup` owns it).
_KEPT_ON_UPDATE = {"cluster_id", "uid", "first_seen_at", "tree_health", "failing_message"}
STORED_COLUMNS = (
    "id",
    "uid",
    "resource_version",
    "deleted_at",
    "content_hash",
    "name",
    "namespace",
    "api_version",
    *JSON_COLUMNS,
    "generation",
    "observed_generation",
    "created_at_k8s",
    "deleting_since",
    "ready",
    "synced",
    "health",
    "health_reason",
    "team_id",
)
EDGE_COLUMNS = (
    "cluster_id",
    "source_id",
    "relation",
    "target_uid",
    "target_group",
    "target_kind",
    "target_namespace",
    "target_name",
)
CHANGE_COLUMNS = (
    "cluster_id",
    "resource_id",
    "team_id",
    "change_type",
    "resource_version",
    "changed_paths",
    "condition_transitions",
    "time",
)
# The advisory lock (one bigint: "devsfeed") under which change-feed rows are written and committed.
FEED_LOCK = 0x6465767366656564
# Above this many written rows, roll up every composite and claim of the cluster instead of walking up from each.
ROLLUP_ALL_ABOVE = 2000
ANALYZE_MIN_ROWS = 2000
ANALYZED_RESOURCE_COLUMNS = (
    "id",
    "cluster_id",
    "resource_type_id",
    "uid",
    "api_group",
    "kind",
    "namespace",
    "name",
    "team_id",
    "health",
    "ready",
    "deleted_at",
)
TREE_CATEGORIES = (ResourceCategoryChoices.COMPOSITE, ResourceCategoryChoices.CLAIM)
# The parts `refs.references` reads: edges are rewritten only when one of them changed.
REFERENCE_PATHS = frozenset({"spec", "metadata.ownerReferences"})


@dataclass
class Counts:
    added: int = 0
    modified: int = 0
    deleted: int = 0
    unchanged: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.added += other.added
        self.modified += other.modified
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        return self

    @property
    def changed(self) -> int:
        return self.added + self.modified + self.deleted


@dataclass
class PreparedPage:
    """One list page, derived: the uids it holds, rows for the objects that may have changed, the others' count."""

    version: str
    remaining: int | None
    uids: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class TypeBatch:
    """Watch events of one type waiting to be written, and the cursor they bring the type to."""

    events: list[dict[str, Any]] = field(default_factory=list)
    cursor: str = ""
    first_received: float = 0.0


Progress = Callable[[TypeInfo, int, int | None], None]


class Writer:
    """Writes one cluster's inventory for one sync window, under its lease (None only in tests of the writer)."""

    def __init__(self, cluster_id: int, *, lease: Lease | None, namespaced: NamespacedLookup) -> None:
        self.cluster_id = cluster_id
        self.lease = lease
        self.namespaced = namespaced
        self._deferring_rollups = False
        self._rollup_owed = False
        self._grown = 0  # rows inserted since the inventory tables were last analyzed
        self._analyzed_at = 0
        self._teams: TeamSnapshot | None = None  # set while a list may insert with COPY
        self._fresh = False  # the type has no rows at all, live or tombstoned: nothing to look up or conflict with
        self._stage_connection: object = None
        self._changes: list[tuple[Any, ...]] = []  # feed rows of the transaction in progress

    # Work that pays off done once: rollups after a series of lists, planner statistics after growth.

    @contextlib.contextmanager
    def rollups_deferred(self) -> Iterator[None]:
        """Within the block, lists and batches leave rollups owed; at its end every composite and claim of the
        cluster is rolled up once (a first sync lists type after type: one rollup instead of one per list)."""
        self._deferring_rollups = True
        try:
            yield
        finally:
            self._deferring_rollups = False
        if self._rollup_owed:
            with self._transaction():
                self._rollup_cluster()
            self._rollup_owed = False

    def _analyze_if_grown(self) -> None:
        """ANALYZE the inventory once it grew by a quarter (and at least ANALYZE_MIN_ROWS rows) since the last
        time. Without statistics the planner walks the (cluster, uid) index by cluster alone for every lookup by
        uid: a first sync got slower page after page, and watch batches ran at tens of events per second."""
        if self._grown < max(ANALYZE_MIN_ROWS, self._analyzed_at // 2):
            return
        with connection.cursor() as cursor:
            # Only the columns queries select on (statistics of the large jsonb columns cost most of an ANALYZE),
            # from a small sample: the planner needs row counts and rough selectivities, not fine histograms.
            cursor.execute("SET LOCAL default_statistics_target = 20")
            cursor.execute(
                f"ANALYZE {RESOURCE_TABLE} ({', '.join(ANALYZED_RESOURCE_COLUMNS)}), "
                f"control_plane_resourceedge ({', '.join(EDGE_COLUMNS)})"
            )
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [RESOURCE_TABLE])
            self._analyzed_at = max(int(cursor.fetchone()[0]), 0)
        self._grown = 0

    # Lists.

    def write_list(
        self,
        rt: TypeInfo,
        pages: Iterable[dict[str, Any]],
        *,
        mode: str = SyncModeChoices.LIST,
        set_cursor: bool = True,
        progress: Progress | None = None,
    ) -> Counts:
        """Replace the type's rows with a full list, in one transaction with the cursor (the list's
        resourceVersion). Rows the list no longer has become tombstones (`missed`). A resync (mode `resync`)
        compares every row and records what it repaired; one that read exactly at the cursor keeps it
        (`set_cursor=False`)."""
        started = timezone.now()
        counts = Counts()
        resync = mode == SyncModeChoices.RESYNC
        with self._transaction():
            known = self._known_versions(rt)
            self._teams = TeamSnapshot()
            self._fresh = not known and not self._has_rows(rt)
            seen: set[str] = set()
            written: list[int] = []
            list_version = ""
            for page in read_ahead(self._prepared(rt, pages, known, resync=resync)):
                list_version = list_version or page.version
                seen.update(page.uids)
                counts.unchanged += page.unchanged
                page_counts, ids = self._write_rows(rt, page.rows, revive=True, now=started)
                counts += page_counts
                written += ids
                self._grown += page_counts.added
                if not self._fresh:  # a fresh type's list looks nothing up: its statistics can wait for its end
                    self._analyze_if_grown()  # within the list too: it sees this transaction's rows
                if progress is not None:
                    progress(rt, len(seen), len(seen) + page.remaining if page.remaining is not None else None)
            if self._teams.used:
                retag_type(rt.id)
            self._analyze_if_grown()
            self._teams, self._fresh = None, False
            missing = [uid for uid in known if uid not in seen]
            gone = self._tombstone(rt, missing, reason=DeletedReasonChoices.MISSED, now=started)
            counts.deleted += len(gone)
            self._rollup(written, gone, roots=written if rt.category in TREE_CATEGORIES else [])
            if missing:
                audit_record(
                    action="sync.tombstone",
                    target_type="control_plane.resourcetype",
                    target_id=str(rt.id),
                    target_repr=rt.key,
                    after={"reason": DeletedReasonChoices.MISSED, "count": len(missing), "uids": missing[:50]},
                )
            now = timezone.now()
            state: dict[str, Any] = {
                "last_list_at": now,
                "object_count": len(seen),
                "last_error": "",
                "error_count": 0,
                "backoff_until": None,
            }
            if resync or not known:  # this list compared every row: the repair clock starts again
                state["last_resync_at"] = now
            if list_version and set_cursor:
                state["cursor"] = list_version
            self._update_type(rt, state)
            SyncRun.objects.create(
                cluster_id=self.cluster_id,
                resource_type_id=rt.id,
                mode=mode,
                started_at=started,
                finished_at=now,
                added=counts.added,
                modified=counts.modified,
                deleted=counts.deleted,
                unchanged=counts.unchanged,
                repaired=counts.changed if resync else 0,
            )
        return counts

    def _prepared(
        self, rt: TypeInfo, pages: Iterable[dict[str, Any]], known: Mapping[str, str], *, resync: bool
    ) -> Iterator[PreparedPage]:
        """The list's pages as rows to compare and write (run ahead of the writer, in `read_ahead`'s thread: it
        touches no database). Objects whose resourceVersion is the stored one are counted, not derived, unless a
        resync compares everything."""
        for page in pages:
            metadata = page.get("metadata") or {}
            prepared = PreparedPage(
                version=str(metadata.get("resourceVersion") or ""),
                remaining=metadata.get("remainingItemCount")
                if isinstance(metadata.get("remainingItemCount"), int)
                else None,
            )
            for obj in page.get("items") or []:
                uid = (obj.get("metadata") or {}).get("uid")
                if not uid:
                    continue
                prepared.uids.append(uid)
                if not resync and known.get(uid) == (obj["metadata"].get("resourceVersion") or ""):
                    prepared.unchanged += 1
                else:
                    prepared.rows.append(build_row(obj, rt, namespaced=self.namespaced))
            yield prepared

    # Watch events.

    def write_events(self, batches: Mapping[TypeInfo, TypeBatch]) -> dict[int, Counts]:
        """Apply watch events of several types and advance their cursors, all in one transaction.

        Events are folded per uid to the last one (a batch covers a fraction of a second); BOOKMARKs only move the
        cursor. A DELETED event tombstones the row; an event for a uid already tombstoned is stale (a uid is never
        reused) and ignored.
        """
        started = timezone.now()
        results: dict[int, Counts] = {}
        written: list[int] = []
        removed: list[int] = []
        roots: list[int] = []
        with self._transaction():
            for rt, batch in batches.items():
                latest: dict[str, dict[str, Any]] = {}
                for event in batch.events:
                    obj = event.get("object") or {}
                    uid = (obj.get("metadata") or {}).get("uid")
                    if uid and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        latest.pop(uid, None)  # keep arrival order of the final states
                        latest[uid] = event
                upserts = [e["object"] for e in latest.values() if e["type"] != "DELETED"]
                deletes = [e["object"] for e in latest.values() if e["type"] == "DELETED"]
                rows = [build_row(obj, rt, namespaced=self.namespaced) for obj in upserts]
                counts, ids = self._write_rows(rt, rows, revive=False, now=started)
                written += ids
                if rt.category in TREE_CATEGORIES:
                    roots += ids
                versions = {o["metadata"]["uid"]: str(o["metadata"].get("resourceVersion") or "") for o in deletes}
                gone = self._tombstone(
                    rt, list(versions), reason=DeletedReasonChoices.DELETED, now=started, versions=versions
                )
                counts.deleted += len(gone)
                removed += gone
                state: dict[str, Any] = {"last_error": "", "error_count": 0, "backoff_until": None}
                if batch.cursor:
                    state["cursor"] = batch.cursor
                state["last_event_at"] = started  # an event or a bookmark: the watch is alive
                if batch.events:
                    state["lag_ms"] = int((time.monotonic() - batch.first_received) * 1000)
                self._update_type(rt, state, count_delta=counts.added - counts.deleted)
                results[rt.id] = counts
            self._rollup(written, removed, roots=roots)
        self._grown += sum(counts.added for counts in results.values())
        self._analyze_if_grown()
        return results

    # Type state.

    def retire_type(self, rt: TypeInfo, *, reason: str) -> int:
        """A type no longer synced (excluded, or not served): its live rows become tombstones, its cursor goes."""
        now = timezone.now()
        with self._transaction():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT uid FROM {RESOURCE_TABLE} WHERE resource_type_id = %s AND deleted_at IS NULL",  # noqa: S608
                    [rt.id],
                )
                uids = [uid for (uid,) in cursor.fetchall()]
            gone = self._tombstone(rt, uids, reason=reason, now=now)
            self._rollup([], gone, roots=[])
            self._update_type(rt, {"cursor": "", "object_count": 0})
            if gone:
                audit_record(
                    action="sync.retire-type",
                    target_type="control_plane.resourcetype",
                    target_id=str(rt.id),
                    target_repr=rt.key,
                    after={"reason": reason, "count": len(gone)},
                )
        return len(gone)

    def record_error(self, rt: TypeInfo, message: str, backoff_until: Any) -> None:
        """Note a failed list or watch on the type's sync state (what `devplat sync status` shows)."""
        with self._transaction():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE control_plane_resourcetype SET last_error = %s, error_count = error_count + 1, "
                    "backoff_until = %s WHERE id = %s",
                    [message[:2000], backoff_until, rt.id],
                )

    # Plumbing.

    def _check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()

    def _known_versions(self, rt: TypeInfo) -> dict[str, str]:
        """uid -> resourceVersion of the type's live rows: the no-op test of a relist, before any other SQL."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT uid, resource_version FROM {RESOURCE_TABLE} "  # noqa: S608 (constant table name)
                "WHERE resource_type_id = %s AND deleted_at IS NULL",
                [rt.id],
            )
            return dict(cursor.fetchall())

    def _has_rows(self, rt: TypeInfo) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {RESOURCE_TABLE} WHERE resource_type_id = %s)", [rt.id])  # noqa: S608
            return bool(cursor.fetchone()[0])

    def _write_rows(self, rt: TypeInfo, rows: Sequence[Row], *, revive: bool, now: Any) -> tuple[Counts, list[int]]:
        """Upsert the rows that differ from their stored versions; returns the counts and the ids written."""
        counts = Counts()
        if not rows:
            return counts, []
        stored = {} if self._fresh else self._stored_rows(row.uid for row in rows)
        writes: list[tuple[Row, dict[str, Any] | None]] = []
        versions: list[tuple[int, str]] = []
        for row in rows:
            old = stored.get(row.uid)
            if old is not None and old["deleted_at"] is not None and not revive:
                continue  # an event about an object already deleted: stale
            if old is not None and old["deleted_at"] is None and old["content_hash"] == row.digest:
                if stored_digest(old) == row.digest:
                    counts.unchanged += 1
                    if old["resource_version"] != row.resource_version:
                        versions.append((old["id"], row.resource_version))
                    continue
            writes.append((row, old if old is not None and old["deleted_at"] is None else None))
        self._set_versions(versions)
        if not writes:
            return counts, []
        if not stored and self._teams is not None:
            written = self._insert(rt, [row for row, _ in writes], now, self._teams)
        else:
            written = self._upsert(rt, [row for row, _ in writes], now)
        ids = {uid: resource_id for uid, (resource_id, _) in written.items()}
        teams = {uid: team_id for uid, (_, team_id) in written.items()}
        changes: list[tuple[Any, ...]] = []
        new_edges: list[tuple[int, Row]] = []
        stale_edges: list[int] = []
        for row, old in writes:
            resource_id = ids[row.uid]
            if old is None:
                counts.added += 1
                changes.append((resource_id, teams[row.uid], ChangeTypeChoices.ADDED, row.resource_version, [], []))
                if row.uid in stored:  # a tombstone brought back: its old edges go
                    stale_edges.append(resource_id)
                new_edges.append((resource_id, row))
                continue
            counts.modified += 1
            paths = changed_paths(stored_parts(old), row.parts)
            transitions = condition_transitions(orjson.loads(old["conditions"]), row.conditions)
            changes.append(
                (resource_id, teams[row.uid], ChangeTypeChoices.MODIFIED, row.resource_version, paths, transitions)
            )
            if REFERENCE_PATHS.intersection(paths):  # most changes are status only: their edges stay as they are
                stale_edges.append(resource_id)
                new_edges.append((resource_id, row))
        self._rewrite_edges(stale_edges, new_edges)
        self._append_changes(changes, now)
        return counts, list(ids.values())

    def _set_versions(self, versions: Sequence[tuple[int, str]]) -> None:
        """A new resourceVersion with nothing else changed (a managedFields-only write, a Secret value): only the
        version column moves, so the next relist still recognises the row, and nothing enters the change feed."""
        if not versions:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {RESOURCE_TABLE} r SET resource_version = v.version FROM "  # noqa: S608
                "unnest(%s::bigint[], %s::text[]) AS v(id, version) WHERE r.id = v.id",
                [[resource_id for resource_id, _ in versions], [version for _, version in versions]],
            )

    def _stored_rows(self, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
        columns = ", ".join(STORED_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {RESOURCE_TABLE} WHERE cluster_id = %s AND uid = ANY(%s)",  # noqa: S608
                [self.cluster_id, list(uids)],
            )
            return {row[1]: dict(zip(STORED_COLUMNS, row, strict=True)) for row in cursor.fetchall()}

    def _upsert(self, rt: TypeInfo, rows: Sequence[Row], now: Any) -> dict[str, tuple[int, int | None]]:
        """COPY into the stage, then one INSERT ... ON CONFLICT, deriving each row's team as it goes (`teams`);
        uid -> (id, team id) of every row written."""
        columns = ", ".join(RESOURCE_COLUMNS)
        selected = ", ".join(team_expression("s") if c == "team_id" else f"s.{c}" for c in RESOURCE_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in RESOURCE_COLUMNS if c not in _KEPT_ON_UPDATE)
        with connection.cursor() as cursor:
            if self._stage_connection is not connection.connection:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} ON COMMIT DELETE ROWS AS "  # noqa: S608
                    f"SELECT {columns} FROM {RESOURCE_TABLE} WITH NO DATA"
                )
                self._stage_connection = connection.connection
            with cursor.copy(f"COPY {STAGE_TABLE} ({columns}) FROM STDIN") as copy:
                copy.write(self._copy_payload(rt, rows, now))
            cursor.execute(
                f"INSERT INTO {RESOURCE_TABLE} ({columns}) SELECT {selected} FROM {STAGE_TABLE} s "  # noqa: S608
                f"ON CONFLICT (cluster_id, uid) DO UPDATE SET {updates}, deleted_at = NULL "
                "RETURNING uid, id, team_id"
            )
            ids = {uid: (resource_id, team_id) for uid, resource_id, team_id in cursor.fetchall()}
            cursor.execute(f"TRUNCATE {STAGE_TABLE}")
        return ids

    def _insert(
        self, rt: TypeInfo, rows: Sequence[Row], now: Any, teams: TeamSnapshot
    ) -> dict[str, tuple[int, int | None]]:
        """Rows none of which is stored yet (a first list) go straight into the table with COPY: half the work of
        the stage and upsert. Their ids are drawn from the table's sequence beforehand, so nothing is read back;
        their teams come from `teams`, and the list ends with `retag_type`."""
        columns = ", ".join(RESOURCE_COLUMNS)
        teams.used = True
        team_ids = [teams.team_for(row.namespace, row.parts["labels"] or {}) for row in rows]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [RESOURCE_TABLE, len(rows)],
            )
            ids = [resource_id for (resource_id,) in cursor.fetchall()]
            with cursor.copy(f"COPY {RESOURCE_TABLE} (id, {columns}) FROM STDIN") as copy:
                copy.write(self._copy_payload(rt, rows, now, ids=ids, teams=team_ids))
        return {row.uid: (resource_id, team) for row, resource_id, team in zip(rows, ids, team_ids, strict=True)}

    def _copy_payload(
        self,
        rt: TypeInfo,
        rows: Sequence[Row],
        now: Any,
        *,
        ids: Sequence[int] | None = None,
        teams: Sequence[int | None] | None = None,
    ) -> bytes:
        """The rows as COPY text, in RESOURCE_COLUMNS order, led by `ids` when given; without `teams` the team
        column is NULL (the stage's upsert derives it)."""
        fixed = (_text(str(self.cluster_id)), _text(str(rt.id)))
        typed = (_text(rt.group), None, _text(rt.kind))
        stamp = _text(now.isoformat())
        lines = [
            self._copy_line(fixed, typed, stamp, row, NULL if teams is None else _optional(teams[index]))
            for index, row in enumerate(rows)
        ]
        if ids is not None:
            lines = [b"%d\t%s" % (resource_id, line) for resource_id, line in zip(ids, lines, strict=True)]
        return b"".join(lines)

    @staticmethod
    def _copy_line(
        fixed: tuple[bytes, bytes], typed: tuple[bytes, None, bytes], stamp: bytes, row: Row, team: bytes
    ) -> bytes:
        """The row as a line of COPY's text format, in RESOURCE_COLUMNS order. Built by hand from the JSON bytes
        `build_row` made: handing psycopg Python values meant decoding every JSON column to str and escaping it
        again, which cost more than PostgreSQL's own work on the row."""
        health = row.health
        fields = (
            *fixed,
            _text(row.uid),
            typed[0],
            _text(row.api_version),
            typed[2],
            _text(row.namespace),
            _text(row.name),
            *(_json_text(row.json[column]) for column in JSON_COLUMNS),
            _optional(row.deleting_since),
            _text(row.resource_version),
            _optional(row.generation),
            _optional(row.observed_generation),
            _BOOL[health.ready],
            _BOOL[health.synced],
            _text(health.health),
            _text(health.reason),
            team,  # NULL for the stage: the upsert derives it
            _text(row.digest),
            _optional(row.created_at),
            stamp,
            stamp,
            b"",
            b"",
            b"",
        )
        return b"\t".join(fields) + b"\n"

    def _rewrite_edges(self, modified_ids: Sequence[int], rows: Sequence[tuple[int, Row]]) -> None:
        with connection.cursor() as cursor:
            if modified_ids:
                cursor.execute("DELETE FROM control_plane_resourceedge WHERE source_id = ANY(%s)", [list(modified_ids)])
            edges = [(resource_id, ref) for resource_id, row in rows for ref in row.refs]
            if not edges:
                return
            with cursor.copy(f"COPY control_plane_resourceedge ({', '.join(EDGE_COLUMNS)}) FROM STDIN") as copy:
                for resource_id, ref in edges:
                    copy.write_row(
                        (
                            self.cluster_id,
                            resource_id,
                            ref.relation,
                            ref.target_uid,
                            ref.target_group,
                            ref.target_kind,
                            ref.target_namespace,
                            ref.target_name,
                        )
                    )

    def _append_changes(self, changes: Sequence[tuple[Any, ...]], now: Any) -> None:
        self._changes.extend((*change, now) for change in changes)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write: atomic, under the lease, with the change-feed rows it made written last (`_write_changes`)."""
        self._changes = []
        with transaction.atomic():
            self._check_lease()
            yield
            self._write_changes()

    def _write_changes(self) -> None:
        """The transaction's change-feed rows, written last and under a transaction-level advisory lock held until
        commit: feed ids are then drawn in commit order, so a reader that has seen id N never later finds a smaller
        id committed (an agent's `after=` cursor skips nothing), even while several clusters sync at once."""
        if not self._changes:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])
            with cursor.copy(f"COPY control_plane_resourcechange ({', '.join(CHANGE_COLUMNS)}) FROM STDIN") as copy:
                for resource_id, team_id, change_type, version, paths, transitions, now in self._changes:
                    copy.write_row(
                        (
                            self.cluster_id,
                            resource_id,
                            team_id,
                            change_type,
                            version,
                            orjson.dumps(paths).decode(),
                            orjson.dumps(transitions).decode(),
                            now,
                        )
                    )
        self._changes = []

    def _tombstone(
        self,
        rt: TypeInfo,
        uids: Sequence[str],
        *,
        reason: str,
        now: Any,
        versions: Mapping[str, str] | None = None,
    ) -> list[int]:
        """Mark live rows deleted, with a change-feed entry each; returns the ids of the rows that were live."""
        if not uids:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {RESOURCE_TABLE} SET deleted_at = %s, deleted_reason = %s, last_seen_at = %s "  # noqa: S608
                "WHERE cluster_id = %s AND uid = ANY(%s) AND deleted_at IS NULL RETURNING id, uid, team_id, "
                "resource_version",
                [now, reason, now, self.cluster_id, list(uids)],
            )
            gone = cursor.fetchall()
        change_type = ChangeTypeChoices.DELETED if reason == DeletedReasonChoices.DELETED else ChangeTypeChoices.MISSED
        self._append_changes(
            [
                (resource_id, team_id, change_type, (versions or {}).get(uid) or version, [], [])
                for resource_id, uid, team_id, version in gone
            ],
            now,
        )
        return [resource_id for resource_id, *_ in gone]

    def _rollup(self, written: Sequence[int], removed: Sequence[int], *, roots: Sequence[int]) -> None:
        """Roll up the trees above the rows written or removed, and the composites and claims among those written
        (`roots`): a leaf's own rollup would only restate its health. After a large batch (a list) every composite
        and claim of the cluster is rolled up once, cheaper than walking up from each row; while rollups are
        deferred, that is owed instead."""
        if not written and not removed:
            return
        if self._deferring_rollups:
            self._rollup_owed = True
        elif len(written) + len(removed) > ROLLUP_ALL_ABOVE:
            self._rollup_cluster()
        else:
            tree.rollup(tree.ancestors([*written, *removed]) | set(roots))

    def _rollup_cluster(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.id FROM control_plane_resource r JOIN control_plane_resourcetype t "
                "ON t.id = r.resource_type_id WHERE r.cluster_id = %s AND r.deleted_at IS NULL "
                "AND t.category = ANY(%s)",
                [self.cluster_id, list(TREE_CATEGORIES)],
            )
            tree.rollup(row[0] for row in cursor.fetchall())

    def _update_type(self, rt: TypeInfo, state: Mapping[str, Any], *, count_delta: int = 0) -> None:
        assignments = [f"{column} = %s" for column in state]
        parameters = list(state.values())
        if count_delta:
            assignments.append("object_count = GREATEST(object_count + %s, 0)")
            parameters.append(count_delta)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE control_plane_resourcetype SET {', '.join(assignments)} WHERE id = %s",  # noqa: S608
                [*parameters, rt.id],
            )


NULL = b"\\N"
_BOOL = {True: b"t", False: b"f", None: NULL}
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> bytes:
    """A text field of COPY's text format: backslash and the separators escaped."""
    return (
        value.translate(_ESCAPES).encode()
        if ("\\" in value or "\t" in value or "\n" in value or "\r" in value)
        else value.encode()
    )


def _json_text(data: bytes) -> bytes:
    """JSON bytes as a COPY text field: JSON holds no raw tab or newline, so only backslashes are doubled."""
    return data.replace(b"\\", b"\\\\") if b"\\" in data else data


def _optional(value: str | int | None) -> bytes:
    return NULL if value is None else _text(str(value))


def stored_parts(values: Mapping[str, Any]) -> dict[str, Any]:
    """`sanitize.object_parts`' shape, rebuilt from a stored row, for `diff.changed_paths`."""
    return {
        "labels": orjson.loads(values["labels"]),
        "annotations": orjson.loads(values["annotations"]),
        "owner_references": orjson.loads(values["owner_references"]),
        "finalizers": orjson.loads(values["finalizers"]),
        "deletion_timestamp": kube_time(values["deleting_since"]),
        "spec": orjson.loads(values["spec"]),
        "status": orjson.loads(values["status"]),
    }
