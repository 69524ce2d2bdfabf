"""Helpers for sync tests: change the sandbox cluster directly, and compare it with the database."""

from __future__ import annotations

from typing import Any

from control_plane.models import Cluster, Resource
from control_plane.sandbox.apiserver import WriteOptions
from control_plane.sandbox.runner import Sandbox

OPTS = WriteOptions()


def configmap(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "data": data or {"key": "value"},
    }


def create(sandbox: Sandbox, obj: dict[str, Any]) -> dict[str, Any]:
    api = sandbox.api
    kind = api.kind_for(obj["apiVersion"], obj["kind"])
    return api.create(kind, obj["metadata"].get("namespace"), obj, OPTS).object


def update(sandbox: Sandbox, obj: dict[str, Any]) -> dict[str, Any]:
    """Replace `obj` unconditionally (its resourceVersion is dropped)."""
    api = sandbox.api
    kind = api.kind_for(obj["apiVersion"], obj["kind"])
    body = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}
    return api.update(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"], body, OPTS).object


def delete(sandbox: Sandbox, obj: dict[str, Any]) -> None:
    api = sandbox.api
    kind = api.kind_for(obj["apiVersion"], obj["kind"])
    api.delete(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"], OPTS)


def cluster_state(sandbox: Sandbox, api_version: str, kind: str) -> dict[str, str]:
    """uid -> resourceVersion of every object of a kind in the sandbox."""
    api = sandbox.api
    resource_kind = api.kind_for(api_version, kind)
    snapshot = api.store.snapshot(resource_kind.storage)
    return {obj["metadata"]["uid"]: obj["metadata"]["resourceVersion"] for obj in snapshot.objects}


def database_state(cluster: Cluster, kind: str) -> dict[str, str]:
    """uid -> resourceVersion of the live rows of a kind."""
    rows = Resource.objects.filter(cluster=cluster, kind=kind, deleted_at__isnull=True)
    return dict(rows.values_list("uid", "resource_version"))
