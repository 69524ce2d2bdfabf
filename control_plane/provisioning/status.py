"""How far a request got, in one word and a sentence: devplat's part (waiting, applied, failed, deleted) joined with
Crossplane's (the synced composite's readiness and its deepest failure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from control_plane.choices import HealthChoices, RequestStatusChoices
from control_plane.models import ProvisioningRequest, Resource


@dataclass(frozen=True)
class RequestState:
    phase: str  # Waiting, Applied, Updating, Creating, Ready, Failing, Failed, Deleted, Gone
    message: str
    resource: Resource | None


def states_for(requests: Iterable[ProvisioningRequest]) -> dict[int, RequestState]:
    """Each request's state, by request id, in one query for all their synced composites."""
    requests = list(requests)
    keys = Q()
    for request in requests:
        if request.resource_uid:
            keys |= Q(cluster_id=request.cluster_id, uid=request.resource_uid)
    found: dict[tuple[int, str], Resource] = {}
    if keys:
        for resource in Resource.objects.filter(keys).select_related("cluster", "team"):
            found[(resource.cluster_id, resource.uid)] = resource
    return {r.pk: _state(r, found.get((r.cluster_id, r.resource_uid))) for r in requests}


def _acted_on(resource: Resource) -> int:
    """The generation Crossplane last reported on (its Ready condition's observedGeneration); the resource's own
    generation when its conditions do not say."""
    status = resource.status if isinstance(resource.status, dict) else {}
    for condition in status.get("conditions") or ():  # as stored: `conditions` keeps only the text fields
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            observed = condition.get("observedGeneration")
            return observed if isinstance(observed, int) else (resource.generation or 0)
    return resource.generation or 0


def _state(request: ProvisioningRequest, resource: Resource | None) -> RequestState:
    if request.status == RequestStatusChoices.WAITING:
        return RequestState("Waiting", "; ".join(request.waiting_for), resource)
    if request.status == RequestStatusChoices.FAILED:
        return RequestState("Failed", request.status_message, resource)
    if request.status == RequestStatusChoices.DELETED:
        return RequestState("Deleted", "", resource)
    if resource is None or (resource.generation or 0) < (request.applied_generation or 0):
        return RequestState("Applied", "applied; the sync has not brought it back yet", resource)
    if resource.deleted_at is not None:
        return RequestState("Gone", "the composite was deleted in the cluster, not through devplat", resource)
    if _acted_on(resource) < (resource.generation or 0):
        return RequestState("Updating", "Crossplane has not acted on the last change yet", resource)
    if resource.ready:
        return RequestState("Ready", "", resource)
    message = resource.failing_message or resource.health_reason
    if HealthChoices.DEGRADED in (resource.health, resource.tree_health):
        return RequestState("Failing", message, resource)
    return RequestState("Creating", message, resource)
