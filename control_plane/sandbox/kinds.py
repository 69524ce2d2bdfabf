"""What resources the sandbox serves: the built-in kinds, and the kinds CustomResourceDefinitions add at run time.

A `ResourceKind` is one served (group, version, plural). Objects are stored per (group, plural), so every served
version of a CRD reads the same objects; the sandbox does no conversion beyond rewriting `apiVersion`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from control_plane.sandbox.apply import SET_LIST

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceKind:
    """One served resource. `schema` is the CRD version's openAPIV3Schema (None for built-ins)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    builtin: bool = True
    scale_subresource: bool = False
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    # Lists the schema keys for server-side apply: path (indices dropped) -> list-map keys, or SET_LIST for sets.
    list_map_keys: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """How error messages name the resource: `deployments.apps`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(
    group: str,
    version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("all",),
    status: bool = True,
    scale: bool = False,
    columns: tuple[tuple[str, str], ...] = (),
) -> ResourceKind:
    """A built-in kind; `columns` are (name, JSONPath) pairs that `kubectl get` shows between NAME and AGE."""
    printer = tuple({"name": name, "type": "string", "jsonPath": path} for name, path in columns)
    return ResourceKind(
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        categories,
        status,
        printer_columns=(*printer, AGE_COLUMN) if printer else (),
        scale_subresource=scale,
    )


AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
REPLICA_COLUMNS = (
    ("Desired", ".spec.replicas"),
    ("Ready", ".status.readyReplicas"),
    ("Available", ".status.availableReplicas"),
)


BUILTIN_KINDS: tuple[ResourceKind, ...] = (
    _builtin(
        "",
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        short=("ns",),
        categories=(),
        columns=(("Status", ".status.phase"),),
    ),
    _builtin("", "v1", "ConfigMap", "configmaps", short=("cm",), categories=(), status=False),
    _builtin("", "v1", "Secret", "secrets", categories=(), status=False),
    _builtin(
        "",
        "v1",
        "Service",
        "services",
        short=("svc",),
        columns=(("Type", ".spec.type"), ("Cluster-IP", ".spec.clusterIP")),
    ),
    _builtin("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), categories=(), status=False),
    _builtin("", "v1", "Event", "events", short=("ev",), categories=(), status=False),
    _builtin("", "v1", "Pod", "pods", short=("po",), columns=(("Status", ".status.phase"), ("Node", ".spec.nodeName"))),
    _builtin("apps", "v1", "Deployment", "deployments", short=("deploy",), scale=True, columns=REPLICA_COLUMNS),
    _builtin("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), scale=True, columns=REPLICA_COLUMNS),
    _builtin("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), scale=True, columns=REPLICA_COLUMNS),
    _builtin("apps", "v1", "DaemonSet", "daemonsets", short=("ds",)),
    _builtin("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",), categories=()),
    _builtin("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",)),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        categories=("api-extensions",),
    ),
)

CRD_STORAGE = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_STORAGE = ("", "namespaces")


def _schema_list_keys(node: dict[str, Any], path: str) -> dict[str, tuple[str, ...]]:
    """The lists a CRD version's schema keys (`x-kubernetes-list-type` map or set), computed once per version."""
    found: dict[str, tuple[str, ...]] = {}
    if node.get("x-kubernetes-list-type") == "map":
        found[path] = tuple(node.get("x-kubernetes-list-map-keys", ()))
    elif node.get("x-kubernetes-list-type") == "set":
        found[path] = SET_LIST
    for name, child in (node.get("properties") or {}).items():
        found.update(_schema_list_keys(child, f"{path}.{name}" if path else name))
    if isinstance(node.get("items"), dict):
        found.update(_schema_list_keys(node["items"], path))
    return found


def kinds_from_crd(crd: dict[str, Any]) -> list[ResourceKind]:
    """The resources a CRD serves, one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    found = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        found.append(
            ResourceKind(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                status_subresource="status" in (version.get("subresources") or {}),
                builtin=False,
                schema=schema,
                printer_columns=tuple(version.get("additionalPrinterColumns", ())),
                list_map_keys=_schema_list_keys(schema or {}, ""),
            )
        )
    return found


class Catalog:
    """The served resources, changed at run time by CRD writes. Reads take a snapshot of the current map."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str, str], ResourceKind] = {
            (k.group, k.version, k.plural): k for k in BUILTIN_KINDS
        }

    def lookup(self, group: str, version: str, plural: str) -> ResourceKind | None:
        return self._kinds.get((group, version, plural))

    def all(self) -> list[ResourceKind]:
        return list(self._kinds.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> served versions, preferred (the first CRD version, or the only built-in one) first."""
        groups: dict[str, list[str]] = {}
        for kind in self._kinds.values():
            versions = groups.setdefault(kind.group, [])
            if kind.version not in versions:
                versions.append(kind.version)
        return groups

    def by_kind(self, api_version: str, kind: str) -> ResourceKind | None:
        for candidate in self._kinds.values():
            if candidate.api_version == api_version and candidate.kind == kind:
                return candidate
        return None

    def register_crd(self, crd: dict[str, Any]) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        with self._lock:
            kinds = dict(self._kinds)
            for key in [key for key, kind in kinds.items() if (kind.group, kind.plural) == (group, plural)]:
                del kinds[key]
            kinds.update({(k.group, k.version, k.plural): k for k in kinds_from_crd(crd)})
            self._kinds = kinds

    def unregister_crd(self, crd: dict[str, Any]) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        with self._lock:
            self._kinds = {
                key: kind for key, kind in self._kinds.items() if (kind.group, kind.plural) != (group, plural)
            }
