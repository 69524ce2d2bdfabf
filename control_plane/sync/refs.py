"""References from one object to others, which the inventory stores as edges to draw trees and follow failures.

A reference names its target by group, kind, namespace and name (and by uid where Kubernetes gives one: owner
references); the engine resolves names to rows. Crossplane spreads references over v1 fields (`spec.resourceRef`,
`spec.claimRef`, `spec.resourceRefs`) and v2 ones (`spec.crossplane.*`), and leaves a ref's namespace out when it
is the referrer's own, so the namespace is filled in from whether the target kind is namespaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from control_plane.choices import EdgeRelationChoices
from control_plane.sync.shapes import as_dict, as_list

NamespacedLookup = Callable[[str, str], bool | None]
"""(group, kind) -> whether that kind is namespaced in the object's cluster; None when the cluster does not serve it."""

OWNED_BY: Final[str] = EdgeRelationChoices.OWNED_BY.value
COMPOSES: Final[str] = EdgeRelationChoices.COMPOSES.value
CLAIMS: Final[str] = EdgeRelationChoices.CLAIMS.value
CLAIMED_BY: Final[str] = EdgeRelationChoices.CLAIMED_BY.value
USES_COMPOSITION: Final[str] = EdgeRelationChoices.USES_COMPOSITION.value
USES_PROVIDER_CONFIG: Final[str] = EdgeRelationChoices.USES_PROVIDER_CONFIG.value
USES_SECRET: Final[str] = EdgeRelationChoices.USES_SECRET.value
CROSSPLANE_GROUP: Final = "apiextensions.crossplane.io"
_COMPOSITION_REFS: Final = (("compositionRef", "Composition"), ("compositionRevisionRef", "CompositionRevision"))


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference, `relation` from the referring object to the target."""

    relation: str
    target_uid: str
    target_group: str
    target_kind: str
    target_namespace: str
    target_name: str


# Ref fields in order; a dict of them keeps the first of duplicates and their order.
_Found = dict[tuple[str, str, str, str, str, str], None]


def references(obj: dict[str, Any], namespaced: NamespacedLookup) -> list[Ref]:
    """Every reference `obj` holds, without duplicates, in the order the fields are read."""
    metadata = as_dict(obj.get("metadata"))
    spec = as_dict(obj.get("spec"))
    namespace = _text(metadata.get("namespace"))
    found: _Found = {}
    for owner in as_list(metadata.get("ownerReferences")):
        _typed(found, OWNED_BY, owner, namespace, namespaced, uid=True)
    crossplane = as_dict(spec.get("crossplane"))
    holders = (crossplane, spec) if crossplane else (spec,)  # v2 keeps Crossplane's fields under spec.crossplane
    for holder in holders:
        for target in as_list(holder.get("resourceRefs")):
            _typed(found, COMPOSES, target, namespace, namespaced)
    _typed(found, CLAIMS, spec.get("resourceRef"), namespace, namespaced)
    _typed(found, CLAIMED_BY, spec.get("claimRef"), namespace, namespaced)
    for holder in holders:
        for field, kind in _COMPOSITION_REFS:
            _named(found, USES_COMPOSITION, holder.get(field), CROSSPLANE_GROUP, kind, "")
    provider_config = spec.get("providerConfigRef")
    if isinstance(provider_config, dict):
        _provider_config(found, provider_config, _group(obj.get("apiVersion")), namespace, namespaced)
    for holder in holders:
        _named(found, USES_SECRET, holder.get("writeConnectionSecretToRef"), "", "Secret", namespace)
    return [Ref(*key) for key in found]


def _typed(
    found: _Found, relation: str, ref: Any, namespace: str, namespaced: NamespacedLookup, *, uid: bool = False
) -> None:
    """A reference that names its target's apiVersion and kind (ownerReferences, Crossplane object refs).

    A target of a namespaced object is in the same namespace unless the cluster says its kind is cluster-scoped.
    """
    if not isinstance(ref, dict) or not isinstance(ref.get("kind"), str):
        return
    group, kind = _group(ref.get("apiVersion")), ref["kind"]
    if namespace and namespaced(group, kind) is False:
        namespace = ""
    _named(found, relation, ref, group, kind, namespace, uid=_text(ref.get("uid")) if uid else "")


def _provider_config(
    found: _Found, ref: dict[str, Any], group: str, namespace: str, namespaced: NamespacedLookup
) -> None:
    """A managed resource's provider config lives in the provider's group: the MR's group minus its first label.

    Crossplane v2 (`.m.` groups) has a namespaced ProviderConfig beside a ClusterProviderConfig; v1 has only
    cluster-scoped ones. The cluster's discovery says which is which; the naming rule is the fallback.
    """
    group = group.partition(".")[2] or group
    kind = _text(ref.get("kind")) or "ProviderConfig"
    scoped = namespaced(group, kind)
    if scoped is None:
        scoped = kind != "ClusterProviderConfig" and ".m." in f".{group}."
    _named(found, USES_PROVIDER_CONFIG, ref, group, kind, namespace if scoped else "")


def _named(found: _Found, relation: str, ref: Any, group: str, kind: str, namespace: str, *, uid: str = "") -> None:
    """Add the reference, the ref's own namespace winning over `namespace`; nothing when it has no name."""
    if not isinstance(ref, dict):
        return
    name = ref.get("name")
    if isinstance(name, str) and name:
        found[relation, uid, group, kind, _text(ref.get("namespace")) or namespace, name] = None


def _group(api_version: Any) -> str:
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
