"""Which resource types devplat syncs from a cluster, chosen from the server's discovery documents.

A fixed allow-list of built-in kinds (the workloads and networking objects people ask about), everything Crossplane
defines about the platform itself (CRDs, XRDs, compositions, packages, provider configs), and every resource in the
categories Crossplane puts on what it creates: `composite` (XRs), `claim` and `managed`. Both Crossplane v1 and v2
are covered, since v2 keeps the categories while moving XRs into namespaces and managed resources into `.m.` groups.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CORE = "core"
CROSSPLANE = "crossplane"
COMPOSITE = "composite"
CLAIM = "claim"
MANAGED = "managed"
ADDED = "added"

# (group, kind) pairs; the group pins the kind so a CRD that reuses a built-in name is not mistaken for it.
CORE_ALLOW_LIST: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("", "Service"),
        ("networking.k8s.io", "Ingress"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("", "ConfigMap"),
        ("", "Secret"),
    }
)
CROSSPLANE_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiextensions.crossplane.io", "CompositeResourceDefinition"),
        ("apiextensions.crossplane.io", "Composition"),
        ("apiextensions.crossplane.io", "CompositionRevision"),
        ("apiextensions.crossplane.io", "EnvironmentConfig"),
        ("pkg.crossplane.io", "Provider"),
        ("pkg.crossplane.io", "Function"),
    }
)
# Every provider defines its own config kinds in its own group, so these match in any group.
PROVIDER_CONFIG_KINDS: frozenset[str] = frozenset({"ProviderConfig", "ClusterProviderConfig"})
# Checked in this order: a resource takes the first category it carries.
CROSSPLANE_CATEGORIES: tuple[str, ...] = (CLAIM, COMPOSITE, MANAGED)
# A type is synced by list + watch; discovery entries without both cannot be.
SYNC_VERBS = frozenset({"list", "watch"})


@dataclass(frozen=True)
class ResourceType:
    """One resource type served by a cluster, at the version devplat reads it in. `category` is devplat's grouping."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    category: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """`plural.group` as kubectl spells it (`deployments.apps`, `configmaps`): stable when the served version
        changes, since objects and their resourceVersions belong to the group and resource, not the version."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def select_resource_types(
    api_resource_lists: Iterable[Mapping[str, Any]], extra: Collection[str] = ()
) -> list[ResourceType]:
    """The types to sync from `APIResourceList` documents (`/api/v1`, `/apis/<group>/<version>`), plus the types
    an operator added by key (`pods`, `widgets.example.com`), which get the category `added`.

    Give the documents in preference order (each group's preferred version first): a resource served in several
    versions is taken once, from the first document that has it. Subresources (`deployments/status`) and types
    that cannot be listed and watched are skipped.
    """
    selected: dict[tuple[str, str], ResourceType] = {}
    for document in api_resource_lists:
        group, _, version = str(document.get("groupVersion", "")).rpartition("/")
        for entry in document.get("resources") or ():
            name = str(entry.get("name", ""))
            if not name or "/" in name or (group, name) in selected:
                continue
            verbs = tuple(str(verb) for verb in entry.get("verbs") or ())
            if not SYNC_VERBS.issubset(verbs):
                continue
            kind = str(entry.get("kind", ""))
            categories = tuple(str(category) for category in entry.get("categories") or ())
            category = devplat_category(group, kind, categories)
            if not category and (f"{name}.{group}" if group else name) in extra:
                category = ADDED
            if category:
                selected[(group, name)] = ResourceType(
                    group=group,
                    version=version,
                    kind=kind,
                    plural=name,
                    namespaced=bool(entry.get("namespaced")),
                    categories=categories,
                    verbs=verbs,
                    category=category,
                )
    return list(selected.values())


def devplat_category(group: str, kind: str, categories: Iterable[str]) -> str:
    """`core`, `crossplane`, `claim`, `composite` or `managed`; "" for a type devplat does not sync."""
    if (group, kind) in CROSSPLANE_KINDS or kind in PROVIDER_CONFIG_KINDS:
        return CROSSPLANE
    if (group, kind) in CORE_ALLOW_LIST:
        return CORE
    carried = set(categories)
    return next((category for category in CROSSPLANE_CATEGORIES if category in carried), "")
