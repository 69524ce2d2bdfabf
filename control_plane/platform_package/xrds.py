"""The rules Crossplane v2 (and devplat) apply to an XRD, beyond its upstream schema.

New XRDs are `apiextensions.crossplane.io/v2` with `scope: Namespaced` (devplat creates composites in team
namespaces); v2 XRDs offer no claims and no XR connection secrets. The composite CRD Crossplane derives from the XRD
must itself be a valid CRD: names, one storage (referenceable) version, a structural schema and CEL rules that
compile, as kube-apiserver checks when Crossplane creates it.
"""

from __future__ import annotations

from control_plane.kubeapi.schema import crd_problems
from control_plane.kubeapi.xrds import composite_crd, scope_of
from control_plane.platform_package.documents import Document

XRD_GROUP = "apiextensions.crossplane.io"
XRD_V2 = f"{XRD_GROUP}/v2"

# Messages of the upstream XRD schema's CEL rules that the checks below word better; the schema check drops them.
REWORDED_UPSTREAM = (
    "Claims aren't supported in apiextensions.crossplane.io/v2",
    "XR connection secrets aren't supported in apiextensions.crossplane.io/v2",
)
_STORAGE = "must have exactly one version marked as storage version"


def is_xrd(document: Document) -> bool:
    return document.group == XRD_GROUP and document.kind == "CompositeResourceDefinition"


def xrd_problems(document: Document) -> list[str]:
    """What Crossplane v2 would refuse, or devplat does not support, in this XRD."""
    spec = document.obj.get("spec") or {}
    scope = scope_of(document.obj)
    problems = []
    if document.api_version != XRD_V2:
        problems.append(
            f"wrong API version {document.api_version}: write XRDs as {XRD_V2} (namespaced composites, no claims); "
            "v1 XRDs are Crossplane's legacy API"
        )
    else:
        if "claimNames" in spec:
            problems.append(
                f"spec.claimNames: claims are not supported by v2 XRDs with scope {scope}; use the XR directly "
                "(remove claimNames and create the composite in the team's namespace)"
            )
        if "connectionSecretKeys" in spec:
            problems.append(
                "spec.connectionSecretKeys: v2 composites have no connection secret; let a composed resource write "
                "one (writeConnectionSecretToRef) or compose a Secret, and remove connectionSecretKeys"
            )
    if scope != "Namespaced":
        problems.append(
            f"spec.scope: {scope}: devplat creates composites in team namespaces, so XRDs must be scope Namespaced"
        )
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    if versions and not any(v.get("served") for v in versions):
        problems.append("spec.versions: no version is served, so nobody can create the composite; serve one")
    for index, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        if "spec" not in (schema.get("properties") or {}):
            problems.append(
                f"spec.versions[{index}].schema.openAPIV3Schema: define properties.spec; a composite's parameters "
                "live under spec"
            )
    for cause in crd_problems(composite_crd(document.obj)):
        if cause["message"].endswith(_STORAGE):
            problems.append("spec.versions: exactly one version must be referenceable (Crossplane stores it)")
        elif cause["field"] not in ("spec.scope",):
            problems.append(f"{cause['field']}: {cause['message']}")
    return problems
