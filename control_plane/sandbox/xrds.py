"""Crossplane's XRD controllers, emulated: a CompositeResourceDefinition serves its composite resource kind.

The sandbox runs Crossplane's derivation (`control_plane.kubeapi.xrds`) synchronously each time the API server
commits an XRD (`reconcile`), so the composite kind is served as soon as its XRD is stored, then sets the XRD's
Established and Offered conditions. The CRDs carry a controller ownerReference to the XRD, so deleting the XRD
deletes them through garbage collection, and with them every composite and claim.

Not emulated: removing a claim CRD when an XRD stops offering claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from control_plane.kubeapi.errors import ApiError
from control_plane.kubeapi.xrds import GROUP, XrdError, claim_crd, composite_crd
from control_plane.sandbox import meta
from control_plane.sandbox.kinds import CRD_STORAGE
from control_plane.sandbox.store import Object

if TYPE_CHECKING:
    from control_plane.sandbox.apiserver import ApiServer, WriteOptions

XRD_STORAGE = (GROUP, "compositeresourcedefinitions")
MANAGER = "crossplane"  # the field manager of what the emulated controllers write


def reconcile(api: ApiServer, xrd: Object, opts: WriteOptions) -> None:
    """Create or update the XRD's CRDs, then report on the XRD: Established (and Offered) when they were applied,
    Synced=False with the reason when they could not be. Called with the store lock held, after the XRD's commit;
    writes that change nothing are not persisted, so the status write that re-enters here ends the recursion."""
    if xrd["metadata"].get("deletionTimestamp"):
        return
    crd_kind = api.kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    synced = ("Synced", "True", "ReconcileSuccess", "")
    served: list[tuple[str, str, str, str]] = []
    for what, derive, condition, reason in (
        ("Composite Resource", composite_crd, "Established", "WatchingCompositeResource"),
        ("Composite Resource Claim", claim_crd, "Offered", "WatchingCompositeResourceClaim"),
    ):
        try:
            crd = derive(xrd)
            if crd is not None:
                _apply(api, crd_kind, crd, opts)
                served.append((condition, "True", reason, ""))
        except (ApiError, XrdError) as error:
            why = error.message if isinstance(error, ApiError) else str(error)
            synced = (
                "Synced",
                "False",
                "ReconcileError",
                f"cannot apply rendered {what} CustomResourceDefinition: {why}",
            )
            break
    conditions = [synced, *served]
    _report(api, xrd, conditions, opts)


def _apply(api: ApiServer, crd_kind: Any, crd: Object, opts: WriteOptions) -> None:
    name = crd["metadata"]["name"]
    live = api.store.get(CRD_STORAGE, ("", name))
    if live is None:
        api.create(crd_kind, None, crd, opts)
        return
    owners = [ref for ref in live["metadata"].get("ownerReferences") or () if not ref.get("controller")]
    metadata = {
        **live["metadata"],
        "labels": crd["metadata"]["labels"],
        "ownerReferences": [*crd["metadata"]["ownerReferences"], *owners],
    }
    if "annotations" in crd["metadata"]:
        metadata["annotations"] = {**(live["metadata"].get("annotations") or {}), **crd["metadata"]["annotations"]}
    api.update(crd_kind, None, name, {**live, "metadata": metadata, "spec": crd["spec"]}, opts)


def _report(api: ApiServer, xrd: Object, wanted: list[tuple[str, str, str, str]], opts: WriteOptions) -> None:
    """Set the XRD's conditions, keeping a condition's transition time while its status stays the same."""
    live = {c.get("type"): c for c in (xrd.get("status") or {}).get("conditions") or ()}
    conditions = []
    for kind, status, reason, message in wanted:
        previous = live.pop(kind, None) or {}
        entry = {
            "type": kind,
            "status": status,
            "reason": reason,
            "lastTransitionTime": previous.get("lastTransitionTime") if previous.get("status") == status else None,
        }
        entry["lastTransitionTime"] = entry["lastTransitionTime"] or meta.now_rfc3339()
        if message:
            entry["message"] = message
        conditions.append(entry)
    conditions += live.values()  # a failed reconcile leaves Established as it was: the CRDs still serve
    if conditions == (xrd.get("status") or {}).get("conditions"):
        return
    xrd_kind = api.kind_for(xrd["apiVersion"], "CompositeResourceDefinition")
    body = {"status": {**(xrd.get("status") or {}), "conditions": conditions}}
    api.patch(xrd_kind, None, xrd["metadata"]["name"], body, "application/merge-patch+json", opts, subresource="status")
