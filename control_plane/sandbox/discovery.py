"""Discovery and OpenAPI documents, built from the catalog on every request so CRD changes show at once.

The OpenAPI documents are minimal but truthful: every resource's operations with their
`x-kubernetes-group-version-kind` and query parameters, and CRD schemas as component schemas. kubectl reads them to
learn that the server validates fields itself (`fieldValidation`), so `kubectl apply` needs no `--validate=false`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from control_plane.sandbox.kinds import ALL_VERBS, Catalog, ResourceKind

KUBERNETES_VERSION = {"major": "1", "minor": "32"}
GIT_VERSION = "v1.32.0-devplat-sandbox"


def version() -> dict[str, Any]:
    return {
        **KUBERNETES_VERSION,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _api_resource(kind: ResourceKind) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": list(ALL_VERBS),
        "storageVersionHash": hashlib.sha256(f"{kind.group}/{kind.plural}".encode()).hexdigest()[:12],
    }
    if kind.short_names:
        main["shortNames"] = list(kind.short_names)
    if kind.categories:
        main["categories"] = list(kind.categories)
    resources = [main]
    if kind.scale_subresource:
        resources.append(
            {
                "name": f"{kind.plural}/scale",
                "singularName": "",
                "namespaced": kind.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    if kind.status_subresource:
        resources.append(
            {
                "name": f"{kind.plural}/status",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return resources


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    kinds = [k for k in catalog.all() if k.group == group and k.version == version]
    if not kinds:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for kind in sorted(kinds, key=lambda k: k.plural) for entry in _api_resource(kind)],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(catalog: Catalog) -> dict[str, Any]:
    groups = catalog.group_versions()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in sorted(groups.items()) if name],
    }


def api_group(catalog: Catalog, name: str) -> dict[str, Any] | None:
    versions = catalog.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


# OpenAPI.

_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
_APPLY_PARAMS = ("force",)


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(kind: ResourceKind) -> str:
    reversed_group = ".".join(reversed(kind.group.split("."))) if kind.group else "io.k8s.api.core"
    return f"{reversed_group}.{kind.version}.{kind.kind}"


def _query(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for name in names]


def _operations(kind: ResourceKind, ref: dict[str, Any], *, v2: bool) -> dict[str, dict[str, Any]]:
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    prefix = f"/{_gv_path(kind.group, kind.version)}"
    scope = "/namespaces/{namespace}" if kind.namespaced else ""
    collection, item = f"{prefix}{scope}/{kind.plural}", f"{prefix}{scope}/{kind.plural}/{{name}}"
    if v2:
        body = {"200": {"description": "OK", "schema": ref}}
        params = [{"name": p, "in": "query", "type": "string", "uniqueItems": True} for p in _WRITE_PARAMS]
    else:
        body = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        params = _query(_WRITE_PARAMS)

    def op(action: str, verb_name: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        extra_params = [{"name": p, "in": "query", "type": "string"} for p in extra] if v2 else _query(extra)
        return {
            "operationId": f"{verb_name}{kind.kind}",
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params + extra_params,
            "responses": body,
        }

    return {
        collection: {"get": op("list", "list"), "post": op("post", "create")},
        item: {
            "get": op("get", "read"),
            "put": op("put", "replace"),
            "patch": op("patch", "patch", _APPLY_PARAMS),
            "delete": op("delete", "delete"),
        },
    }


def _component_schema(kind: ResourceKind, *, v2: bool = False) -> dict[str, Any]:
    """The CRD schema in v3; in v2 (Swagger lacks `nullable`, `anyOf`...) an open object, which kubectl accepts."""
    if kind.schema and not v2:
        base = dict(kind.schema)
    else:
        base = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    base["x-kubernetes-group-version-kind"] = [{"group": kind.group, "version": kind.version, "kind": kind.kind}]
    return base


def openapi_v3_index(catalog: Catalog) -> dict[str, Any]:
    paths = {}
    for group, versions in catalog.group_versions().items():
        for gv_version in versions:
            gv = _gv_path(group, gv_version)
            digest = hashlib.sha256(orjson.dumps(openapi_v3_document(catalog, group, gv_version))).hexdigest()[:16]
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_document(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    kinds = [k for k in catalog.all() if k.group == group and k.version == version]
    if not kinds:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for kind in kinds:
        name = _schema_name(kind)
        schemas[name] = _component_schema(kind)
        paths.update(_operations(kind, {"$ref": f"#/components/schemas/{name}"}, v2=False))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (devplat sandbox)", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_v2(catalog: Catalog) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for kind in catalog.all():
        name = _schema_name(kind)
        definitions[name] = _component_schema(kind, v2=True)
        paths.update(_operations(kind, {"$ref": f"#/definitions/{name}"}, v2=True))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes (devplat sandbox)", "version": GIT_VERSION},
        "paths": paths,
        "definitions": definitions,
    }
