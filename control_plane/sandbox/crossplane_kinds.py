"""Our own CustomResourceDefinitions for the parts of Crossplane the demo cluster uses.

These are written for the sandbox, not copied from upstream: the schemas cover the fields devplat reads (conditions,
resource references, composition references, connection secrets) and keep everything else open. Tests that need
Crossplane's exact schemas load the upstream CRDs from `../shared/crossplane-crds` instead.
"""

from __future__ import annotations

from typing import Any

CONDITIONS = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "required": ["type", "status", "reason", "lastTransitionTime"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer", "format": "int64"},
        },
    },
}
REF = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
    },
}
OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STATUS = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {"conditions": CONDITIONS},
}


def _column(name: str, json_path: str, kind: str = "string", priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": kind, "jsonPath": json_path, "priority": priority}


CONDITION_COLUMNS = [
    _column("SYNCED", ".status.conditions[?(@.type=='Synced')].status"),
    _column("READY", ".status.conditions[?(@.type=='Ready')].status"),
    _column("AGE", ".metadata.creationTimestamp", "date"),
]


def crd(
    group: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool,
    categories: tuple[str, ...] = (),
    short_names: tuple[str, ...] = (),
    spec: dict[str, Any] | None = None,
    versions: tuple[str, ...] = ("v1",),
    columns: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A CustomResourceDefinition with a status subresource and Crossplane-style conditions."""
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec or OPEN,
            "status": STATUS,
        },
    }
    names: dict[str, Any] = {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"}
    if categories:
        names["categories"] = list(categories)
    if short_names:
        names["shortNames"] = list(short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": labels or {}},
        "spec": {
            "group": group,
            "names": names,
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns if columns is not None else CONDITION_COLUMNS,
                }
                for index, version in enumerate(versions)
            ],
        },
    }


def _composite_spec(parameters: dict[str, Any], *, v2: bool) -> dict[str, Any]:
    """A composite's spec: its parameters plus the machinery fields (v2 nests them under spec.crossplane)."""
    machinery = {
        "compositionRef": {"type": "object", "properties": {"name": {"type": "string"}}},
        "compositionSelector": OPEN,
        "resourceRefs": {"type": "array", "x-kubernetes-list-type": "atomic", "items": REF},
    }
    properties = dict(parameters)
    if v2:
        properties["crossplane"] = {"type": "object", "properties": machinery}
    else:
        properties.update(machinery)
        properties["claimRef"] = REF
        properties["writeConnectionSecretToRef"] = REF
    return {"type": "object", "properties": properties}


DATABASE_PARAMETERS = {
    "engine": {"type": "string", "enum": ["postgres", "mysql"], "default": "postgres"},
    "engineVersion": {"type": "string", "default": "16"},
    "size": {"type": "string", "enum": ["small", "medium", "large"], "default": "small"},
    "storageGB": {"type": "integer", "minimum": 10, "maximum": 1000, "default": 20},
}
APP_PARAMETERS = {
    "image": {"type": "string"},
    "port": {"type": "integer", "default": 8080},
    "replicas": {"type": "integer", "minimum": 1, "default": 2},
    "databaseRef": {"type": "object", "properties": {"name": {"type": "string"}}},
}
CACHE_PARAMETERS = {"size": {"type": "string", "enum": ["small", "medium", "large"], "default": "small"}}
MANAGED_SPEC = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "forProvider": OPEN,
        "providerConfigRef": {"type": "object", "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}},
        "writeConnectionSecretToRef": REF,
        "managementPolicies": {"type": "array", "items": {"type": "string"}},
    },
}
PLATFORM_GROUP = "platform.devplat.io"


def crossplane_crds() -> list[dict[str, Any]]:
    """Crossplane's own kinds, the platform's composite kinds (v2 XRs and a v1 XR with its claim) and managed kinds."""
    core_columns = [_column("AGE", ".metadata.creationTimestamp", "date")]
    package_columns = [
        _column("INSTALLED", ".status.conditions[?(@.type=='Installed')].status"),
        _column("HEALTHY", ".status.conditions[?(@.type=='Healthy')].status"),
        _column("PACKAGE", ".spec.package"),
        _column("AGE", ".metadata.creationTimestamp", "date"),
    ]
    return [
        crd(
            "apiextensions.crossplane.io",
            "CompositeResourceDefinition",
            "compositeresourcedefinitions",
            namespaced=False,
            categories=("crossplane",),
            short_names=("xrd", "xrds"),
            versions=("v2", "v1"),
        ),
        crd(
            "apiextensions.crossplane.io",
            "Composition",
            "compositions",
            namespaced=False,
            categories=("crossplane",),
            short_names=("comp",),
            columns=core_columns,
        ),
        crd(
            "apiextensions.crossplane.io",
            "CompositionRevision",
            "compositionrevisions",
            namespaced=False,
            categories=("crossplane",),
            short_names=("comprev",),
            columns=core_columns,
        ),
        crd(
            "apiextensions.crossplane.io",
            "EnvironmentConfig",
            "environmentconfigs",
            namespaced=False,
            categories=("crossplane",),
            short_names=("envcfg",),
            versions=("v1beta1",),
            columns=core_columns,
        ),
        crd(
            "pkg.crossplane.io",
            "Provider",
            "providers",
            namespaced=False,
            categories=("crossplane", "pkg"),
            columns=package_columns,
        ),
        crd(
            "pkg.crossplane.io",
            "Function",
            "functions",
            namespaced=False,
            categories=("crossplane", "pkg"),
            columns=package_columns,
        ),
        crd(
            "aws.m.upbound.io",
            "ProviderConfig",
            "providerconfigs",
            namespaced=True,
            categories=("crossplane", "provider", "aws"),
            versions=("v1beta1",),
            columns=core_columns,
        ),
        crd(
            PLATFORM_GROUP,
            "Database",
            "databases",
            namespaced=True,
            categories=("composite",),
            spec=_composite_spec(DATABASE_PARAMETERS, v2=True),
            versions=("v1alpha1",),
        ),
        crd(
            PLATFORM_GROUP,
            "App",
            "apps",
            namespaced=True,
            categories=("composite",),
            spec=_composite_spec(APP_PARAMETERS, v2=True),
            versions=("v1alpha1",),
        ),
        crd(
            PLATFORM_GROUP,
            "Cache",
            "caches",
            namespaced=True,
            categories=("composite",),
            spec=_composite_spec(CACHE_PARAMETERS, v2=True),
            versions=("v1alpha1",),
        ),
        crd(
            PLATFORM_GROUP,
            "XPostgreSQLInstance",
            "xpostgresqlinstances",
            namespaced=False,
            categories=("composite",),
            spec=_composite_spec(DATABASE_PARAMETERS, v2=False),
            versions=("v1alpha1",),
        ),
        crd(
            PLATFORM_GROUP,
            "PostgreSQLInstance",
            "postgresqlinstances",
            namespaced=True,
            categories=("claim",),
            spec=_composite_spec(DATABASE_PARAMETERS, v2=False),
            versions=("v1alpha1",),
        ),
        crd(
            "rds.aws.m.upbound.io",
            "Instance",
            "instances",
            namespaced=True,
            categories=("crossplane", "managed", "aws"),
            spec=MANAGED_SPEC,
            versions=("v1beta1",),
        ),
        crd(
            "rds.aws.upbound.io",
            "Instance",
            "instances",
            namespaced=False,
            categories=("crossplane", "managed", "aws"),
            spec=MANAGED_SPEC,
            versions=("v1beta1",),
        ),
        crd(
            "ec2.aws.m.upbound.io",
            "SecurityGroup",
            "securitygroups",
            namespaced=True,
            categories=("crossplane", "managed", "aws"),
            spec=MANAGED_SPEC,
            versions=("v1beta1",),
        ),
        crd(
            "elasticache.aws.m.upbound.io",
            "ReplicationGroup",
            "replicationgroups",
            namespaced=True,
            categories=("crossplane", "managed", "aws"),
            spec=MANAGED_SPEC,
            versions=("v1beta1",),
        ),
    ]
