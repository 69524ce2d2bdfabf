"""Changed paths and condition transitions for the change feed."""

from __future__ import annotations

from typing import Any

from control_plane.sync.diff import changed_paths, condition_transitions
from control_plane.sync.sanitize import object_parts


def configmap(resource_version: str = "100") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "settings",
            "namespace": "team-a",
            "uid": "c-1",
            "resourceVersion": resource_version,
            "labels": {"app": "web", "tier": "front"},
        },
        "dataKeys": ["a", "b"],
    }


def cond(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": ""}


def parts(**changes: Any) -> dict[str, Any]:
    found = object_parts(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["f"]},
            "spec": {"replicas": 2},
            "status": {"availableReplicas": 2},
        }
    )
    found.update(changes)
    return found


def test_no_changed_paths_for_equal_parts() -> None:
    assert changed_paths(parts(), parts()) == []


def test_changed_paths_are_kubernetes_paths_sorted() -> None:
    new = parts(
        labels={"app": "web", "v": "2"},
        annotations={"note": "x"},
        owner_references=[{"kind": "X", "name": "x", "uid": "u"}],
        finalizers=[],
        deletion_timestamp="2025-01-01T00:00:00Z",
        spec={"replicas": 3},
        status={"availableReplicas": 3},
    )

    assert changed_paths(parts(), new) == [
        "metadata.annotations",
        "metadata.deletionTimestamp",
        "metadata.finalizers",
        "metadata.labels",
        "metadata.ownerReferences",
        "spec",
        "status",
    ]


def test_only_status_changed() -> None:
    assert changed_paths(parts(), parts(status={"availableReplicas": 1})) == ["status"]


def test_condition_transitions_changed_appeared_and_disappeared_ordered_by_type() -> None:
    old = [cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "False", "Creating"), cond("Old", "True")]
    new = [
        cond("Ready", "True", "Available"),
        cond("Synced", "False", "ReconcileError", "rate limited"),
        cond("Healthy", "Unknown", "Probing"),
    ]

    assert condition_transitions(old, new) == [
        {"type": "Healthy", "from": None, "to": "Unknown", "reason": "Probing", "message": ""},
        {"type": "Old", "from": "True", "to": None, "reason": "", "message": ""},
        {"type": "Ready", "from": "False", "to": "True", "reason": "Available", "message": ""},
        {"type": "Synced", "from": "True", "to": "False", "reason": "ReconcileError", "message": "rate limited"},
    ]


def test_reason_or_message_alone_is_not_a_transition() -> None:
    old = [cond("Ready", "False", "Creating", "Unready resources: a, b")]
    new = [cond("Ready", "False", "Creating", "Unready resources: b")]

    assert condition_transitions(old, new) == []
    assert condition_transitions([], []) == []
