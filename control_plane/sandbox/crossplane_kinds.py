"""Our own CustomResourceDefinitions for the parts of Crossplane the demo cluster uses.

These are written for the sandbox, not copied from upstream: the schemas cover the fields devplat reads (conditions,
resource references, composition references, connection secrets, the XRD fields the XRD controller derives from) and
keep everything else open. Tests that need Crossplane's exact schemas load the upstream CRDs from
`../shared/crossplane-crds` instead. Composite kinds are not defined here: XRDs define them (`xrds`).
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


def _xrd_spec(version: str) -> dict[str, Any]:
    """An XRD's spec as the API server admits it: the scope and policy defaults of the version, its immutable fields
    and the rules on claims and connection secrets (v1 keeps them for LegacyCluster XRDs, v2 has neither)."""
    legacy = version == "v1"
    immutable = [{"rule": "self == oldSelf", "message": "Value is immutable"}]
    if legacy:
        rules = [
            {
                "rule": "self.scope == 'LegacyCluster' || !has(self.claimNames)",
                "message": "Only LegacyCluster composite resources can offer claims",
            },
            {
                "rule": "self.scope == 'LegacyCluster' || !has(self.connectionSecretKeys)",
                "message": "Only LegacyCluster composite resources support connection secrets",
            },
        ]
    else:
        rules = [
            {"rule": "!has(self.claimNames)", "message": "Claims aren't supported in apiextensions.crossplane.io/v2"},
            {
                "rule": "!has(self.connectionSecretKeys)",
                "message": "XR connection secrets aren't supported in apiextensions.crossplane.io/v2",
            },
        ]
    delete_policy: dict[str, Any] = {"type": "string", "enum": ["Background", "Foreground"]}
    if legacy:
        delete_policy["default"] = "Background"
    return {
        "type": "object",
        "required": ["group", "names", "versions"],
        "x-kubernetes-preserve-unknown-fields": True,
        "x-kubernetes-validations": rules,
        "properties": {
            "group": {"type": "string", "x-kubernetes-validations": immutable},
            "names": {**OPEN, "x-kubernetes-validations": immutable},
            "claimNames": {**OPEN, "x-kubernetes-validations": immutable},
            "connectionSecretKeys": {"type": "array", "items": {"type": "string"}},
            "scope": {
                "type": "string",
                "enum": ["LegacyCluster", "Namespaced", "Cluster"] if legacy else ["Namespaced", "Cluster"],
                "default": "LegacyCluster" if legacy else "Namespaced",
                "x-kubernetes-validations": immutable,
            },
            "defaultCompositionUpdatePolicy": {
                "type": "string",
                "enum": ["Automatic", "Manual"],
                "default": "Automatic",
            },
            "defaultCompositeDeletePolicy": delete_policy,
            "versions": {"type": "array", "items": OPEN},
        },
    }


def _xrd_crd() -> dict[str, Any]:
    """CompositeResourceDefinition, served as v2 and v1 with each version's own spec schema."""
    definition = crd(
        "apiextensions.crossplane.io",
        "CompositeResourceDefinition",
        "compositeresourcedefinitions",
        namespaced=False,
        categories=("crossplane",),
        short_names=("xrd", "xrds"),
        versions=("v2", "v1"),
        columns=[
            _column("ESTABLISHED", ".status.conditions[?(@.type=='Established')].status"),
            _column("OFFERED", ".status.conditions[?(@.type=='Offered')].status"),
            _column("AGE", ".metadata.creationTimestamp", "date"),
        ],
    )
    for version in definition["spec"]["versions"]:
        shared = version["schema"]["openAPIV3Schema"]
        schema = {**shared, "properties": {**shared["properties"], "spec": _xrd_spec(version["name"])}}
        version["schema"] = {"openAPIV3Schema": schema}
    return definition


def _managed(group: str, kind: str, plural: str, provider: str, version: str = "v1beta1") -> dict[str, Any]:
    """A provider's namespaced (`.m.`) or cluster-scoped managed-resource kind."""
    return crd(
        group,
        kind,
        plural,
        namespaced=".m." in f".{group}.",
        categories=("crossplane", "managed", provider),
        spec=MANAGED_SPEC,
        versions=(version,),
    )


def crossplane_crds() -> list[dict[str, Any]]:
    """Crossplane's own kinds and the managed kinds of the providers the platform package uses.

    The composite kinds are not here: they come from XRDs (the platform package's, `package.platform_xrds()`), from
    which the sandbox derives their CRDs as Crossplane does (`xrds`).
    """
    core_columns = [_column("AGE", ".metadata.creationTimestamp", "date")]
    package_columns = [
        _column("INSTALLED", ".status.conditions[?(@.type=='Installed')].status"),
        _column("HEALTHY", ".status.conditions[?(@.type=='Healthy')].status"),
        _column("PACKAGE", ".spec.package"),
        _column("AGE", ".metadata.creationTimestamp", "date"),
    ]
    return [
        _xrd_crd(),
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
        _managed("rds.aws.m.upbound.io", "Instance", "instances", "aws"),
        _managed("rds.aws.upbound.io", "Instance", "instances", "aws"),
        _managed("ec2.aws.m.upbound.io", "SecurityGroup", "securitygroups", "aws"),
        _managed("elasticache.aws.m.upbound.io", "ReplicationGroup", "replicationgroups", "aws"),
        _managed("s3.aws.m.upbound.io", "Bucket", "buckets", "aws"),
        _managed("s3.aws.m.upbound.io", "BucketVersioning", "bucketversionings", "aws"),
        _managed("s3.aws.m.upbound.io", "BucketPublicAccessBlock", "bucketpublicaccessblocks", "aws"),
        _managed("s3.aws.m.upbound.io", "BucketLifecycleConfiguration", "bucketlifecycleconfigurations", "aws"),
        _managed("kubernetes.m.crossplane.io", "Object", "objects", "kubernetes", "v1alpha1"),
    ]
