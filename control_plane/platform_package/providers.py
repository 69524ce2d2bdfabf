"""Which provider serves a composed resource's API group, and whether the package installs it.

Upjet providers name their groups `<service>.<cloud>.upbound.io` (cluster-scoped, Crossplane v1 style) and
`<service>.<cloud>.m.upbound.io` (namespaced, Crossplane v2), served by the family provider
`provider-<cloud>-<service>`; provider-kubernetes and provider-helm serve `kubernetes.(m.)crossplane.io` and
`helm.(m.)crossplane.io`. Kubernetes' own groups and Crossplane's core groups need no provider; neither do the
composite kinds of the package's XRDs (nested composites).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UPJET = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<cloud>aws|gcp|azure|azuread)\.(?P<m>m\.)?upbound\.io$")
_CONTRIB = re.compile(r"^(?P<provider>kubernetes|helm)\.(?P<m>m\.)?crossplane\.io$")
CROSSPLANE_CORE_GROUPS = frozenset(
    ("apiextensions.crossplane.io", "pkg.crossplane.io", "protection.crossplane.io", "ops.crossplane.io")
)


def is_kubernetes_group(group: str) -> bool:
    """A group of Kubernetes itself: the core group, the unqualified ones (apps, batch ...) and *.k8s.io."""
    return "." not in group or group.endswith(".k8s.io")


@dataclass(frozen=True)
class ProviderNeed:
    """The provider a group needs (`repository`, e.g. provider-aws-rds) and whether the group is namespaced."""

    repository: str
    namespaced: bool
    namespaced_group: str  # the namespaced twin of a cluster-scoped group, for the fix


def provider_for(group: str) -> ProviderNeed | None:
    """The provider serving `group`; None when the group is not one a provider is known to serve."""
    if match := _UPJET.match(group):
        twin = f"{match['service']}.{match['cloud']}.m.upbound.io"
        return ProviderNeed(f"provider-{match['cloud']}-{match['service']}", bool(match["m"]), twin)
    if match := _CONTRIB.match(group):
        return ProviderNeed(f"provider-{match['provider']}", bool(match["m"]), f"{match['provider']}.m.crossplane.io")
    return None


# Kubernetes kinds that are cluster-scoped: a namespaced composite cannot compose them directly.
CLUSTER_SCOPED_KINDS = frozenset(
    (
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "CSIDriver",
        "IngressClass",
        "PriorityClass",
        "RuntimeClass",
        "CustomResourceDefinition",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    )
)
