"""Crossplane's XRD-to-CRD derivation: the CustomResourceDefinition a CompositeResourceDefinition implies.

In a cluster, Crossplane's definition reconciler derives a CustomResourceDefinition from each XRD (`internal/xcrd`,
`ForCompositeResource`) and applies it; the offered reconciler does the same for a legacy XRD's claim
(`ForCompositeResourceClaim`). The sandbox serves these CRDs when an XRD is stored (`control_plane.sandbox.xrds`);
the package validator checks examples against them.

Derivation, as Crossplane does it: each XRD version becomes a CRD version (served as given, storage where
`referenceable`, a status subresource) whose schema is the version's `openAPIV3Schema` with Crossplane's machinery
added: for v2 XRs (scope Namespaced or Cluster) `spec.crossplane` with the composition references, selectors, update
policy and `resourceRefs`, and `status.crossplane`; for legacy XRs (scope LegacyCluster, the v1 default) the same
fields directly under `spec` plus `claimRef` and `writeConnectionSecretToRef`, and `status.connectionDetails`;
always `status.conditions`. The XRD's printer columns come first, then SYNCED, READY, COMPOSITION and AGE; category
`composite` (claims: `claim`). Labels are the XRD's, plus `spec.metadata.labels`.

Not derived: conversion webhooks and `connectionSecretKeys`.
"""

from __future__ import annotations

import copy
from typing import Any

Object = dict[str, Any]

GROUP = "apiextensions.crossplane.io"
NAMESPACED, CLUSTER, LEGACY = "Namespaced", "Cluster", "LegacyCluster"
MAX_NAME_LENGTH = 63  # Crossplane uses composite and claim names as label values


def scope_of(xrd: Object) -> str:
    """The XRD's scope; when unset (a stored object that skipped admission) the default of its API version."""
    legacy_default = xrd.get("apiVersion") == f"{GROUP}/v1"
    return (xrd.get("spec") or {}).get("scope") or (LEGACY if legacy_default else NAMESPACED)


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _named_ref() -> dict[str, Any]:
    return {"type": "object", "required": ["name"], "properties": {"name": _string()}}


def _label_selector() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["matchLabels"],
        "properties": {"matchLabels": {"type": "object", "additionalProperties": _string()}},
    }


def _composition_props(update_policy_default: str | None) -> dict[str, Any]:
    policy: dict[str, Any] = {"type": "string", "enum": ["Automatic", "Manual"]}
    if update_policy_default:
        policy["default"] = update_policy_default
    return {
        "compositionRef": _named_ref(),
        "compositionSelector": _label_selector(),
        "compositionRevisionRef": _named_ref(),
        "compositionRevisionSelector": _label_selector(),
        "compositionUpdatePolicy": policy,
    }


def composite_spec_props(scope: str, update_policy_default: str | None) -> dict[str, Any]:
    """Crossplane's machinery fields of a composite's spec (`CompositeResourceSpecProps`)."""
    ref = {"apiVersion": _string(), "name": _string(), "kind": _string()}
    if scope != NAMESPACED:  # namespaced XRs only compose resources in their own namespace
        ref["namespace"] = _string()
    props = {
        **_composition_props(update_policy_default),
        "resourceRefs": {
            "type": "array",
            "x-kubernetes-list-type": "atomic",  # controllers replace the whole list
            "items": {"type": "object", "required": ["apiVersion", "kind"], "properties": ref},
        },
    }
    if scope != LEGACY:
        return {
            "crossplane": {
                "type": "object",
                "description": "Configures how Crossplane will reconcile this composite resource",
                "properties": props,
            }
        }
    typed_ref = ("apiVersion", "kind", "namespace", "name")
    props["claimRef"] = {
        "type": "object",
        "required": list(typed_ref),
        "properties": {key: _string() for key in typed_ref},
    }
    props["writeConnectionSecretToRef"] = {
        "type": "object",
        "required": ["name", "namespace"],
        "properties": {"name": _string(), "namespace": _string()},
    }
    return props


def _claim_spec_props(delete_policy_default: str | None) -> dict[str, Any]:
    """Crossplane's machinery fields of a claim's spec (`CompositeResourceClaimSpecProps`)."""
    policy: dict[str, Any] = {"type": "string", "enum": ["Background", "Foreground"]}
    if delete_policy_default:
        policy["default"] = delete_policy_default
    return {
        **_composition_props(None),
        "compositeDeletePolicy": policy,
        "resourceRef": {
            "type": "object",
            "required": ["apiVersion", "kind", "name"],
            "properties": {"apiVersion": _string(), "kind": _string(), "name": _string()},
        },
        "writeConnectionSecretToRef": _named_ref(),
    }


def composite_status_props(scope: str) -> dict[str, Any]:
    """Crossplane's machinery fields of a composite's (or claim's) status (`CompositeResourceStatusProps`)."""
    condition_fields = ("lastTransitionTime", "message", "reason", "status", "type")
    condition = {
        "type": "object",
        "required": ["lastTransitionTime", "reason", "status", "type"],
        "properties": {
            **{key: _string() for key in condition_fields},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer", "format": "int64"},
        },
    }
    published = {
        "type": "object",
        "properties": {"lastPublishedTime": {"type": "string", "format": "date-time"}},
    }
    props: dict[str, Any] = {
        "conditions": {
            "description": "Conditions of the resource.",
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "items": condition,
        }
    }
    if scope == LEGACY:
        props["connectionDetails"] = published
        props["claimConditionTypes"] = {"type": "array", "x-kubernetes-list-type": "set", "items": _string()}
    else:
        props["crossplane"] = {
            "type": "object",
            "description": "Indicates how Crossplane is reconciling this composite resource",
            "properties": {"connectionDetails": published},
        }
    return props


def _column(name: str, path: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "jsonPath": path, **extra}


SYNCED_READY = (
    _column("SYNCED", ".status.conditions[?(@.type=='Synced')].status"),
    _column("READY", ".status.conditions[?(@.type=='Ready')].status"),
)
AGE = _column("AGE", ".metadata.creationTimestamp", "date")


def composite_columns(scope: str) -> list[dict[str, Any]]:
    """The printer columns Crossplane adds after an XRD version's own (`CompositeResourcePrinterColumns`)."""
    machinery = ".spec" if scope == LEGACY else ".spec.crossplane"
    return [
        *SYNCED_READY,
        _column("COMPOSITION", f"{machinery}.compositionRef.name"),
        _column("COMPOSITIONREVISION", f"{machinery}.compositionRevisionRef.name", priority=1),
        AGE,
    ]


CLAIM_COLUMNS = [*SYNCED_READY, _column("CONNECTION-SECRET", ".spec.writeConnectionSecretToRef.name"), AGE]


class XrdError(Exception):
    """An XRD from which no CRD can be derived; the message is Crossplane's."""


def _crd_version(version: Object, spec_props: dict[str, Any], status_props: dict[str, Any]) -> Object:
    """One CRD version (`genCrdVersion`): Crossplane's base schema, the XRD version's spec and status merged in,
    then the machinery fields, which win over the XRD's own."""
    schema = (version.get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        raise XrdError("custom resource validation cannot be nil")
    schema = copy.deepcopy(schema)
    properties = schema.get("properties") or {}
    declared_name = ((properties.get("metadata") or {}).get("properties") or {}).get("name") or {}
    name_length = min(MAX_NAME_LENGTH, declared_name.get("maxLength", MAX_NAME_LENGTH))
    root: dict[str, Any] = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": _string(),
            "kind": _string(),
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": name_length}}},
        },
    }
    if "description" in schema:
        root["description"] = schema["description"]
    for part, machinery in (("spec", spec_props), ("status", status_props)):
        given = properties.get(part) or {}
        node: dict[str, Any] = {"type": "object"}
        for key in ("required", "x-kubernetes-validations", "oneOf", "description"):
            if key in given:
                node[key] = given[key]
        if part == "spec" and "x-kubernetes-preserve-unknown-fields" in given:
            node["x-kubernetes-preserve-unknown-fields"] = given["x-kubernetes-preserve-unknown-fields"]
        node["properties"] = {**(given.get("properties") or {}), **copy.deepcopy(machinery)}
        root["properties"][part] = node
    found: Object = {
        "name": version["name"],
        "served": version.get("served", True),
        "storage": bool(version.get("referenceable")),
        "schema": {"openAPIV3Schema": root},
        "subresources": {"status": {}},
    }
    if version.get("deprecated"):
        found["deprecated"] = True
    if version.get("deprecationWarning"):
        found["deprecationWarning"] = version["deprecationWarning"]
    return found


def _definition(xrd: Object, name: str, names: Object, scope: str, category: str) -> Object:
    """The CRD's frame: name, metadata inherited from the XRD, the XRD as controller owner (when it is a stored
    object with a uid, not a file), names with a category."""
    meta = xrd["metadata"]
    inherited = xrd["spec"].get("metadata") or {}
    metadata: Object = {
        "name": name,
        "labels": {**(meta.get("labels") or {}), **(inherited.get("labels") or {})},
    }
    if meta.get("uid"):
        metadata["ownerReferences"] = [
            {
                "apiVersion": xrd["apiVersion"],
                "kind": "CompositeResourceDefinition",
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if inherited.get("annotations"):
        metadata["annotations"] = dict(inherited["annotations"])
    names = copy.deepcopy(names)
    names["categories"] = [*names.get("categories", []), category]
    spec: Object = {"group": xrd["spec"]["group"], "names": names, "scope": scope, "versions": []}
    if xrd["spec"].get("conversion"):
        spec["conversion"] = copy.deepcopy(xrd["spec"]["conversion"])
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": spec,
    }


def composite_crd(xrd: Object) -> Object:
    """The composite resource's CRD (`ForCompositeResource`), named like the XRD."""
    spec = xrd["spec"]
    scope = scope_of(xrd)
    crd = _definition(
        xrd, xrd["metadata"]["name"], spec["names"], NAMESPACED if scope == NAMESPACED else CLUSTER, "composite"
    )
    spec_props = composite_spec_props(scope, spec.get("defaultCompositionUpdatePolicy", "Automatic"))
    status_props = composite_status_props(scope)
    for version in spec.get("versions") or ():
        derived = _crd_version(version, spec_props, status_props)
        derived["additionalPrinterColumns"] = [*version.get("additionalPrinterColumns", []), *composite_columns(scope)]
        crd["spec"]["versions"].append(derived)
    return crd


def claim_crd(xrd: Object) -> Object | None:
    """The claim's CRD (`ForCompositeResourceClaim`) when a legacy XRD offers one (`claimNames`), else None."""
    spec = xrd["spec"]
    claim_names = spec.get("claimNames")
    if not claim_names or scope_of(xrd) != LEGACY:
        return None
    names = spec["names"]
    for key in ("kind", "plural", "singular", "listKind"):
        if claim_names.get(key) and claim_names.get(key) == names.get(key):
            raise XrdError(f'invalid resource claim names: "{claim_names[key]}" conflicts with composite resource name')
    crd = _definition(xrd, f"{claim_names['plural']}.{spec['group']}", claim_names, NAMESPACED, "claim")
    spec_props = _claim_spec_props(spec.get("defaultCompositeDeletePolicy", "Background"))
    status_props = composite_status_props(LEGACY)
    for version in spec.get("versions") or ():
        derived = _crd_version(version, spec_props, status_props)
        derived["additionalPrinterColumns"] = [*version.get("additionalPrinterColumns", []), *CLAIM_COLUMNS]
        crd["spec"]["versions"].append(derived)
    return crd
