"""What changed between two versions of an object, as the change feed tells it: the top-level paths that differ
and the conditions whose status moved. (Whether a row changed at all is `rows.row_digest`'s question.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# object_parts() keys -> the Kubernetes paths an agent reading the change feed knows.
PART_PATHS: Final = {
    "labels": "metadata.labels",
    "annotations": "metadata.annotations",
    "owner_references": "metadata.ownerReferences",
    "finalizers": "metadata.finalizers",
    "deletion_timestamp": "metadata.deletionTimestamp",
    "spec": "spec",
    "status": "status",
}


def changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The Kubernetes paths whose parts differ between two `object_parts()` results, sorted."""
    return sorted(path for part, path in PART_PATHS.items() if old.get(part) != new.get(part))


def condition_transitions(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conditions whose status changed, appeared or disappeared, by type; reason and message are the new ones."""
    before = {condition.get("type"): condition for condition in old}
    after = {condition.get("type"): condition for condition in new}
    transitions = []
    for kind in sorted(key for key in before.keys() | after.keys() if isinstance(key, str)):
        was, now = before.get(kind), after.get(kind)
        status_was = was.get("status") if was is not None else None
        status_now = now.get("status") if now is not None else None
        if was is not None and now is not None and status_was == status_now:
            continue
        transitions.append(
            {
                "type": kind,
                "from": status_was,
                "to": status_now,
                "reason": now.get("reason", "") if now is not None else "",
                "message": now.get("message", "") if now is not None else "",
            }
        )
    return transitions
