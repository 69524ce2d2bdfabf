"""`devplat sync verify`: compare a fresh full list of a cluster with the inventory, object by object.

Every synced type (watched and served) is listed straight from the cluster, without writing anything, and each
object is turned into the row the sync would store (`rows.build_row`). Only after every list is the database read,
so a change the sync writes while the lists run shows as a difference rather than hiding one. A row differs when
its resourceVersion differs, when its content hash is not the digest of what the cluster has, or when the content
stored in the row no longer matches its own hash (`rows.stored_digest`: a row changed in the database behind the
sync's back).

Verify is meant for a quiet cluster, but objects may still change between the list and the database read. So every
difference is checked once more, with a GET of the object and a fresh read of its row, before it is reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection

from control_plane.kube.client import KubeClient, connect
from control_plane.kube.errors import KubeError, KubeNotFound, KubeUnreachable
from control_plane.models import Cluster
from control_plane.sync.engine import LIST_PAGE_SIZE
from control_plane.sync.lookups import Lookups
from control_plane.sync.rows import JSON_COLUMNS, Row, TypeInfo, build_row, kube_time, stored_digest
from control_plane.sync.types import served_type, sync_order, type_info
from control_plane.sync.writer import RESOURCE_TABLE, STORED_COLUMNS

MISSING = "missing in database"
EXTRA = "extra in database"
DIFFERS = "differs"
# Beyond this many differences, the rest are reported without a second look (a database far out of step).
RECHECK_LIMIT = 1000
ROWS_PER_FETCH = 2000
# Stored rows as `rows.stored_digest` reads them (jsonb as text); the caller appends the rest of the condition.
_SELECT = f"SELECT {', '.join(STORED_COLUMNS)} FROM {RESOURCE_TABLE} WHERE cluster_id = %s AND "  # noqa: S608
# What a row stores besides its jsonb columns, compared by name to say which part of a row differs.
_SCALARS = ("name", "namespace", "api_version", "generation", "observed_generation")


@dataclass(frozen=True)
class Difference:
    """One object on which the cluster and the database disagree."""

    type: str
    namespace: str
    name: str
    uid: str
    problem: str
    detail: str = ""


@dataclass
class VerifyReport:
    """What `verify_cluster` found: `objects` listed in `types` types, the differences, and the types that could
    not be listed (their rows were not compared)."""

    cluster: str
    types: int = 0
    objects: int = 0
    differences: list[Difference] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        return not self.differences and not self.errors


@dataclass(frozen=True, slots=True)
class _Listed:
    """What verify keeps of a listed object: enough to compare it and to GET it again, not its content."""

    uid: str
    namespace: str
    name: str
    resource_version: str
    digest: str


@dataclass(frozen=True, slots=True)
class _Suspect:
    """An object the first comparison found different, and how."""

    rt: TypeInfo
    uid: str
    namespace: str
    name: str
    problem: str


def verify_cluster(cluster: Cluster) -> VerifyReport:
    """Compare every synced type of `cluster` with its live rows. Raises KubeUnreachable when the cluster does not
    answer at all (nothing could be compared); a type that fails otherwise is reported in `errors`."""
    client = connect(cluster.name, cluster.credentials())
    lookups = Lookups(cluster.pk)
    rows = cluster.resource_types.filter(watched=True, served=True)
    types = [type_info(row) for row in sorted(rows, key=sync_order)]
    report = VerifyReport(cluster=cluster.name, types=len(types))
    listed: dict[TypeInfo, dict[str, _Listed]] = {}
    for rt in types:
        try:
            listed[rt] = _list(client, rt, lookups)
        except KubeUnreachable:
            raise
        except KubeError as exc:
            report.errors[rt.key] = exc.message
    report.objects = sum(len(objects) for objects in listed.values())

    suspects: list[_Suspect] = []
    for rt, objects in listed.items():
        for stored in _live_rows(cluster, rt):
            found = objects.pop(stored["uid"], None)
            problem = _problem(found, stored)
            if problem:  # named as the cluster names it: the stored name may be what is wrong
                namespace, name = (found.namespace, found.name) if found else (stored["namespace"], stored["name"])
                suspects.append(_Suspect(rt, stored["uid"], namespace, name, problem))
        suspects += [_Suspect(rt, uid, found.namespace, found.name, MISSING) for uid, found in objects.items()]
    report.differences = _recheck(cluster, client, lookups, suspects) + _rows_of_unsynced_types(cluster)
    report.differences.sort(key=lambda d: (d.type, d.namespace, d.name, d.uid))
    return report


def _list(client: KubeClient, rt: TypeInfo, lookups: Lookups) -> dict[str, _Listed]:
    found: dict[str, _Listed] = {}
    for page in client.iter_list(served_type(rt), limit=LIST_PAGE_SIZE):
        for obj in page.get("items") or []:
            row = build_row(obj, rt, namespaced=lookups.namespaced)
            if row.uid:
                found[row.uid] = _Listed(row.uid, row.namespace, row.name, row.resource_version, row.digest)
    return found


def _problem(found: _Listed | Row | None, stored: Mapping[str, Any] | None) -> str:
    """Empty when the live row `stored` is what the sync would store for the object `found` (None: not there)."""
    if found is None and stored is None:
        return ""
    if found is None:
        return EXTRA
    if stored is None:
        return MISSING
    if (
        stored["resource_version"] != found.resource_version
        or stored["content_hash"] != found.digest
        or stored_digest(stored) != found.digest
    ):
        return DIFFERS
    return ""


def _recheck(cluster: Cluster, client: KubeClient, lookups: Lookups, suspects: list[_Suspect]) -> list[Difference]:
    """Look again at each suspect: GET the object, then read its row; report it only if they still disagree."""
    differences = []
    for index, suspect in enumerate(suspects):
        rt = suspect.rt
        if index >= RECHECK_LIMIT:
            differences.append(_difference(suspect, suspect.problem, "not re-checked"))
            continue
        try:
            obj: dict[str, Any] | None = client.get(served_type(rt), suspect.name, suspect.namespace or None)
        except KubeNotFound:
            obj = None
        except KubeError as exc:
            differences.append(_difference(suspect, suspect.problem, f"could not re-check: {exc.message}"))
            continue
        row = build_row(obj, rt, namespaced=lookups.namespaced) if obj else None
        if row is not None and row.uid != suspect.uid:
            row = None  # deleted and created again under the same name: the object with this uid is gone
        stored = _live_row(cluster, suspect.uid)
        problem = _problem(row, stored)
        if problem:
            detail = _detail(row, stored) if row is not None and stored is not None else ""
            differences.append(_difference(suspect, problem, detail))
    return differences


def _difference(suspect: _Suspect, problem: str, detail: str) -> Difference:
    return Difference(suspect.rt.key, suspect.namespace, suspect.name, suspect.uid, problem, detail)


def _detail(row: Row, stored: Mapping[str, Any]) -> str:
    """Which parts of the row differ from the object: its resourceVersion, its columns, or only its hash."""
    parts = []
    if stored["resource_version"] != row.resource_version:
        parts.append(
            f"resourceVersion {stored['resource_version']} in the database, {row.resource_version} in the cluster"
        )
    health = row.health
    expected = {
        **{name: getattr(row, name) for name in _SCALARS},
        "creationTimestamp": row.created_at,
        "deletionTimestamp": row.deleting_since,
        "ready": health.ready,
        "synced": health.synced,
        "health": health.health,
        "health_reason": health.reason,
    }
    actual = {
        **{name: stored[name] for name in _SCALARS},
        "creationTimestamp": kube_time(stored["created_at_k8s"]),
        "deletionTimestamp": kube_time(stored["deleting_since"]),
        "ready": stored["ready"],
        "synced": stored["synced"],
        "health": stored["health"],
        "health_reason": stored["health_reason"],
    }
    columns = [
        c for c in JSON_COLUMNS if orjson.dumps(orjson.loads(stored[c]), option=orjson.OPT_SORT_KEYS) != row.json[c]
    ]
    columns += [name for name, value in expected.items() if actual[name] != value]
    if columns:
        parts.append("content differs: " + ", ".join(columns))
        if stored["content_hash"] == row.digest:
            parts.append("the row no longer matches its content hash (changed in the database)")
    elif stored["content_hash"] != row.digest:
        parts.append("content hash differs")
    return "; ".join(parts)


def _live_rows(cluster: Cluster, rt: TypeInfo) -> Iterator[dict[str, Any]]:
    """The type's live rows, streamed (a server-side cursor: a type may have 100k rows)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_SELECT + "resource_type_id = %s AND deleted_at IS NULL", [cluster.pk, rt.id])
        while chunk := cursor.fetchmany(ROWS_PER_FETCH):
            yield from (dict(zip(STORED_COLUMNS, row, strict=True)) for row in chunk)


def _live_row(cluster: Cluster, uid: str) -> dict[str, Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(_SELECT + "uid = %s AND deleted_at IS NULL", [cluster.pk, uid])
        row = cursor.fetchone()
    return dict(zip(STORED_COLUMNS, row, strict=True)) if row is not None else None


def _rows_of_unsynced_types(cluster: Cluster) -> list[Difference]:
    """Live rows of types that are excluded or no longer served: the next window retires them."""
    rows = (
        cluster.resources.filter(deleted_at__isnull=True)
        .exclude(resource_type__watched=True, resource_type__served=True)
        .select_related("resource_type")
    )
    why = "its type is excluded or no longer served; the next sync window retires the row"
    return [Difference(row.resource_type.key, row.namespace, row.name, row.uid, EXTRA, why) for row in rows]
