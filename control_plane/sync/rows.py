"""From a Kubernetes object to the inventory row that stores it, and the digest that says whether a row changed.

Everything a row holds is derived here, once per changed object: the sanitized parts (`sanitize`), conditions and
health (`health`), the references that become edges (`refs`) and the owning team. The digest covers every stored
value that comes from the object, serialised the same way whether it comes from the cluster or back from
PostgreSQL, so "unchanged" means the row would be written identically, and a row corrupted in the database is
seen as different from the cluster (a periodic resync repairs it).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from control_plane.sync.health import Health, conditions_of, derive_health
from control_plane.sync.refs import NamespacedLookup, Ref, references
from control_plane.sync.sanitize import object_parts, sanitize

_SORTED = orjson.OPT_SORT_KEYS


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """What the writer needs of a resource type, detached from its model row so threads can share it."""

    id: int
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    category: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(slots=True)
class Row:
    """One object as the inventory will store it. `json` holds the jsonb columns already serialised."""

    uid: str
    name: str
    namespace: str
    api_version: str
    resource_version: str
    generation: int | None
    observed_generation: int | None
    created_at: str | None
    deleting_since: str | None
    json: dict[str, bytes]
    parts: dict[str, Any]
    conditions: list[dict[str, Any]]
    health: Health
    refs: list[Ref]
    digest: str


JSON_COLUMNS = ("labels", "annotations", "spec", "status", "owner_references", "finalizers", "conditions")


def build_row(obj: dict[str, Any], rt: TypeInfo, *, namespaced: NamespacedLookup) -> Row:
    """The row for `obj` (freshly decoded; sanitized in place). Its team is not derived here but when it is
    written (`teams`), from the namespace ownership of that moment."""
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    sanitize(obj)
    metadata = obj.get("metadata") or {}
    parts = object_parts(obj)
    conditions = conditions_of(obj)
    health = derive_health(obj, conditions)
    namespace = str(metadata.get("namespace") or "") if rt.namespaced else ""
    status = parts["status"] if isinstance(parts["status"], dict) else {}
    json = {column: _json(parts.get(column)) for column in JSON_COLUMNS[:-1]}
    json["conditions"] = _json(conditions)
    row = Row(
        uid=str(metadata.get("uid") or ""),
        name=str(metadata.get("name") or ""),
        namespace=namespace,
        api_version=str(obj.get("apiVersion") or rt.api_version),
        resource_version=str(metadata.get("resourceVersion") or ""),
        generation=_int(metadata.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        created_at=normal_time(metadata.get("creationTimestamp")),
        deleting_since=normal_time(parts.get("deletion_timestamp")),
        json=json,
        parts=parts,
        conditions=conditions,
        health=health,
        refs=references(obj, namespaced),
        digest="",
    )
    row.digest = row_digest(
        name=row.name,
        namespace=row.namespace,
        api_version=row.api_version,
        json=json,
        generation=row.generation,
        observed_generation=row.observed_generation,
        created_at=row.created_at,
        deleting_since=row.deleting_since,
        health=health,
    )
    return row


def row_digest(
    *,
    name: str,
    namespace: str,
    api_version: str,
    json: Mapping[str, bytes],
    generation: int | None,
    observed_generation: int | None,
    created_at: str | None,
    deleting_since: str | None,
    health: Health,
) -> str:
    """A digest of every stored value of a row except its resourceVersion, sync timestamps and team."""
    digest = hashlib.blake2b(digest_size=16)
    for column in JSON_COLUMNS:
        digest.update(json[column])
        digest.update(b"\0")
    scalars = (
        name,
        namespace,
        api_version,
        generation,
        observed_generation,
        created_at,
        deleting_since,
        health.ready,
        health.synced,
        health.health,
        health.reason,
    )
    digest.update(orjson.dumps(scalars))
    return digest.hexdigest()


def stored_digest(values: Mapping[str, Any]) -> str:
    """`row_digest` of a row read back from PostgreSQL (jsonb columns as text, timestamps as datetimes)."""
    json = {column: orjson.dumps(orjson.loads(values[column]), option=_SORTED) for column in JSON_COLUMNS}
    return row_digest(
        name=values["name"],
        namespace=values["namespace"],
        api_version=values["api_version"],
        json=json,
        generation=values["generation"],
        observed_generation=values["observed_generation"],
        created_at=kube_time(values["created_at_k8s"]),
        deleting_since=kube_time(values["deleting_since"]),
        health=Health(
            ready=values["ready"], synced=values["synced"], health=values["health"], reason=values["health_reason"]
        ),
    )


def kube_time(value: datetime.datetime | None) -> str | None:
    """A timestamp as Kubernetes writes metadata times (RFC 3339, seconds, UTC, "Z")."""
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normal_time(value: Any) -> str | None:
    """A metadata time in `kube_time`'s spelling, so the digest of a row read back from PostgreSQL matches;
    None for anything that is not a time."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 20 and value.endswith("Z"):
        return value  # the spelling Kubernetes uses; parsing it is the slow path
    try:
        return kube_time(datetime.datetime.fromisoformat(value))
    except ValueError:
        return None


def _json(value: Any) -> bytes:
    """Sorted-key JSON for a jsonb column; NUL characters, which jsonb refuses, become U+FFFD."""
    data = orjson.dumps(value, option=_SORTED)
    return data.replace(b"\\u0000", b"\\ufffd") if b"\\u0000" in data else data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
