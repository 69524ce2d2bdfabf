"""Requests that wait for others: an App that needs its Database Ready and the Database's connection secret.

Dependencies are named `Kind/name` (`Database/orders-db`) and must be live requests of the same team on the same
cluster, so a request can only wait for what already exists: a missing dependency or a cycle is refused when the
request is made. Whether a dependency is satisfied is asked of the cluster itself, not of the synced copy, so a
request is applied as soon as it may be, whatever the sync's lag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError

from control_plane.choices import RequestStatusChoices
from control_plane.kube.discovery import ResourceType
from control_plane.models import Cluster, ProvisioningRequest
from control_plane.provisioning import cluster as kube
from identity.models import Team


def _split(reference: str) -> tuple[str, str]:
    kind, slash, name = reference.strip().partition("/")
    if not slash or not kind or not name:
        raise ValidationError({"depends_on": f"{reference!r} is not KIND/NAME, e.g. Database/orders-db."})
    return kind.lower(), name


def resolve(
    *, team: Team, cluster: Cluster, references: Sequence[str], requester: ProvisioningRequest | None = None
) -> list[ProvisioningRequest]:
    """The live requests `references` name, refused with what exists when one is missing, or when depending on
    them would close a cycle through `requester` (an update of an existing request)."""
    candidates = list(ProvisioningRequest.objects.live().filter(team=team, cluster=cluster).select_related("cluster"))
    found: list[ProvisioningRequest] = []
    for reference in dict.fromkeys(references):
        kind, name = _split(reference)
        match = next((r for r in candidates if r.name == name and kind in _spellings(r)), None)
        if match is None:
            known = ", ".join(sorted(r.reference for r in candidates)) or "none"
            raise ValidationError(
                {
                    "depends_on": f"No request {reference} in team {team.name} on cluster {cluster.name}; create it "
                    f"first. Its requests there: {known}."
                }
            )
        found.append(match)
    if requester is not None:
        _refuse_cycle(requester, found)
    return found


def _spellings(request: ProvisioningRequest) -> set[str]:
    plural = request.capability.partition(".")[0]
    return {request.kind.lower(), plural, request.capability}


def _refuse_cycle(requester: ProvisioningRequest, dependencies: Iterable[ProvisioningRequest]) -> None:
    """Walk what the new dependencies depend on; reaching `requester` again means a cycle."""
    path: dict[int, str] = {}
    stack = [(dependency, [requester.reference, dependency.reference]) for dependency in dependencies]
    while stack:
        current, trail = stack.pop()
        if current.pk == requester.pk:
            raise ValidationError({"depends_on": f"That would be a cycle: {' -> '.join(trail)}."})
        if current.pk in path:
            continue
        path[current.pk] = current.reference
        stack.extend((following, [*trail, following.reference]) for following in current.depends_on.all())


def unmet(dependencies: Iterable[ProvisioningRequest]) -> list[str]:
    """What a request on `dependencies` still waits for, in words; empty when each is Ready with its secret."""
    waiting: list[str] = []
    for dependency in dependencies:
        if dependency.status in (RequestStatusChoices.FAILED, RequestStatusChoices.DELETED):
            waiting.append(f"{dependency.reference} is {dependency.status}: {dependency.status_message}".rstrip(": "))
            continue
        if dependency.status == RequestStatusChoices.WAITING:
            waiting.append(f"{dependency.reference} is itself waiting")
            continue
        group, _, version = dependency.api_version.rpartition("/")
        plural = dependency.capability.partition(".")[0]
        rt = ResourceType(group, version, dependency.kind, plural, namespaced=True)
        live = kube.live(dependency.cluster, rt, dependency.namespace, dependency.name)
        ready = kube.ready_condition(live) if live else None
        if live is None:
            waiting.append(f"{dependency.reference} does not exist in the cluster")
        elif ready is None or ready.get("status") != "True":
            why = (ready or {}).get("message") or (ready or {}).get("reason") or "no Ready condition yet"
            waiting.append(f"{dependency.reference} is not Ready ({why})")
        elif dependency.connection_secret and not kube.live(
            dependency.cluster, kube.SECRETS, dependency.namespace, dependency.connection_secret
        ):
            waiting.append(f"Secret {dependency.connection_secret} of {dependency.reference} does not exist yet")
    return waiting
