"""Whether an object a composition renders is one the API server would accept.

Kubernetes' own kinds are checked with kubernetes-validate (the published OpenAPI schemas of one Kubernetes
release, strict: unknown fields are errors); kinds with a CRD in the registry against that CRD; a provider-kubernetes
`Object` also has its `spec.forProvider.manifest` checked the same way, since that is what lands on the cluster.
Kinds with neither (for instance provider-aws managed resources when their CRDs are not in `--crds`) are checked
only for their provider, by the caller.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from control_plane.platform_package.crds import CrdRegistry
from control_plane.platform_package.documents import group_of
from control_plane.platform_package.providers import is_kubernetes_group

KUBERNETES_VERSION = "1.33.0"
_OBJECT_GROUPS = ("kubernetes.m.crossplane.io", "kubernetes.crossplane.io")


def object_problems(obj: Any, registry: CrdRegistry, where: str = "") -> list[str]:
    """What is wrong with `obj` as an object to apply; `where` prefixes field paths of an embedded object."""
    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        return [f"{where or 'object'}: not a Kubernetes object; it needs apiVersion and kind"]
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    group = group_of(api_version)
    if is_kubernetes_group(group) and registry.find(api_version, kind) is None:
        problems = _kubernetes_problems(obj, where)
    else:
        checked = registry.check(obj, where=where)
        problems = checked.problems if checked else []
    if group in _OBJECT_GROUPS and kind == "Object":
        manifest = ((obj.get("spec") or {}).get("forProvider") or {}).get("manifest")
        if manifest is not None:
            problems += object_problems(manifest, registry, f"{where}spec.forProvider.manifest.")
    return problems


def _kubernetes_problems(obj: dict[str, Any], where: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{where}{_path(error.absolute_path) or 'object'}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{where}apiVersion: Kubernetes {KUBERNETES_VERSION.rsplit('.', 1)[0]} has no kind {obj['kind']} "
            f"in {obj['apiVersion']}; use an API version the cluster serves"
        ]
    return []


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
