"""The row digest: blind to resourceVersion, sensitive to every stored value."""

from __future__ import annotations

import copy
from typing import Any

from control_plane.sync.rows import TypeInfo, build_row

CONFIGMAPS = TypeInfo(
    id=1, group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True, category="core"
)


def configmap(resource_version: str = "100", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "settings",
            "namespace": "team-a",
            "uid": "c-1",
            "resourceVersion": resource_version,
            "creationTimestamp": "2026-11-25T10:00:00Z",
            "labels": labels or {"app": "web"},
        },
        "data": {"a": "1"},
    }


def digest(obj: dict[str, Any]) -> str:
    return build_row(copy.deepcopy(obj), CONFIGMAPS, namespaced=lambda group, kind: None).digest


def test_the_digest_ignores_the_resource_version_and_key_order():
    reordered = configmap("200")
    reordered["metadata"] = dict(reversed(list(reordered["metadata"].items())))
    assert digest(reordered) == digest(configmap("100"))


def test_the_digest_sees_labels_data_keys_and_deletion():
    base = digest(configmap())
    assert digest(configmap(app="api")) != base
    assert digest({**configmap(), "data": {"a": "1", "b": "2"}}) != base
    deleting = configmap()
    deleting["metadata"]["deletionTimestamp"] = "2026-11-25T11:00:00Z"
    assert digest(deleting) != base


def test_secret_values_change_nothing_but_their_key_names():
    """Values are never stored, so a changed value is not a change of the row (its key names are)."""
    assert digest({**configmap(), "data": {"a": "2"}}) == digest(configmap())
