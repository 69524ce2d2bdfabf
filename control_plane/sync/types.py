"""Keeps a cluster's `ResourceType` rows in step with what its API server serves.

Discovery (`KubeClient.discover`) says what to sync; operators may add types (rows with source `added`) or exclude
them (`watched=False`). A type that is no longer served, or excluded, is retired: its rows become tombstones and its
cursor is cleared, so bringing it back starts with a fresh list.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from control_plane.choices import ResourceCategoryChoices, ResourceTypeSourceChoices
from control_plane.kube.discovery import ADDED
from control_plane.kube.discovery import ResourceType as ServedType
from control_plane.models import Cluster, ResourceType
from control_plane.sync.rows import TypeInfo

_DESCRIPTIVE_FIELDS = ("version", "kind", "namespaced", "category")


def type_info(row: ResourceType) -> TypeInfo:
    return TypeInfo(
        id=row.pk,
        group=row.group,
        version=row.version,
        kind=row.kind,
        plural=row.plural,
        namespaced=row.namespaced,
        category=row.category,
    )


def served_type(rt: TypeInfo) -> ServedType:
    """The Kubernetes client's view of a type, for its requests."""
    return ServedType(group=rt.group, version=rt.version, kind=rt.kind, plural=rt.plural, namespaced=rt.namespaced)


def added_keys(cluster: Cluster) -> list[str]:
    """The types operators added to this cluster's sync, as `plural.group` keys for discovery."""
    return [row.key for row in cluster.resource_types.filter(source=ResourceTypeSourceChoices.ADDED)]


@transaction.atomic
def reconcile_types(cluster: Cluster, served: Sequence[ServedType]) -> tuple[list[ResourceType], list[ResourceType]]:
    """Create and update the type rows from discovery. Returns (types to sync, types to retire): the second are
    rows that still have a cursor or objects but are no longer served, or were excluded."""
    rows = {(row.group, row.plural): row for row in cluster.resource_types.select_for_update()}
    seen = set()
    for found in served:
        seen.add((found.group, found.plural))
        row = rows.get((found.group, found.plural))
        values = {
            "version": found.version,
            "kind": found.kind,
            "namespaced": found.namespaced,
            "category": found.category or ResourceCategoryChoices.ADDED,
        }
        if row is None:
            source = (
                ResourceTypeSourceChoices.ADDED if found.category == ADDED else ResourceTypeSourceChoices.DISCOVERED
            )
            rows[(found.group, found.plural)] = ResourceType.objects.create(
                cluster=cluster, group=found.group, plural=found.plural, source=source, **values
            )
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if not row.served:
            changed.append("served")
            row.served = True
        for name in changed:
            if name in _DESCRIPTIVE_FIELDS:
                setattr(row, name, values[name])
        if changed:
            row.save(update_fields=changed)
    for key, row in rows.items():
        if key not in seen and row.served:
            row.served = False
            row.save(update_fields=["served"])
    active = [row for row in rows.values() if row.served and row.watched]
    retire = [row for row in rows.values() if not (row.served and row.watched) and (row.cursor or row.object_count)]
    return sorted(active, key=sync_order), retire


def sync_order(row: ResourceType) -> tuple[int, str, str]:
    """Platform definitions first (CRDs, XRDs, compositions), then what is built from them, so trees fill in
    from the top during a first sync."""
    rank: dict[str, int] = {
        ResourceCategoryChoices.CROSSPLANE: 0,
        ResourceCategoryChoices.CORE: 1,
        ResourceCategoryChoices.CLAIM: 2,
        ResourceCategoryChoices.COMPOSITE: 3,
        ResourceCategoryChoices.MANAGED: 4,
    }
    return rank.get(row.category, 5), row.group, row.plural
