"""Requesting, changing and deleting capability instances: the one write path behind the CLI, the API and the admin.

Each write validates the parameters, evaluates the admission policies, renders the composite into the team's
namespace (from the team's namespace ownership, never from the caller) and server-side applies it as `devplat`.
The request row, the apply and the audit event share one transaction: when the cluster refuses, nothing is
recorded. A dry run does all of it but the recording, with the server's own dry run, and returns the object as the
server would store it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from control_plane.choices import EnvironmentChoices, RequestStatusChoices
from control_plane.models import Cluster, ProvisioningRequest
from control_plane.provisioning import cluster as kube
from control_plane.provisioning import dependencies
from control_plane.provisioning.catalog import Offer, offer_for
from control_plane.provisioning.parameters import admit_parameters
from control_plane.provisioning.render import render
from devplat.core.errors import Conflict, Forbidden, NotFound
from devplat.core.querysets import is_platform_admin
from devplat.core.validators import DNS_LABEL
from governance.policies import policy_evaluate_admission
from governance.services import audit_record
from identity.choices import PROVISIONING_ROLES
from identity.models import Membership, NamespaceOwnership, Team
from identity.selectors import team_for

NAME = re.compile(rf"\A{DNS_LABEL}\Z")


@dataclass
class Outcome:
    """What a request did: the stored request (None on a dry run), the object as the server has (or would have)
    it, the policies' warnings, and whether an Idempotency-Key replay answered it."""

    request: ProvisioningRequest | None
    object: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    replayed: bool = False


def _require_writer(user: Any, team: Team) -> None:
    if is_platform_admin(user) or Membership.objects.filter(team=team, user=user, role__in=PROVISIONING_ROLES).exists():
        return
    raise Forbidden(
        f"Only developers and admins of team {team.name} may request, change or delete its capabilities; ask a "
        "team admin to make you a developer."
    )


def _placement(offer: Offer, team: Team, namespace: str | None, cluster: str | None) -> tuple[str, Cluster]:
    """Where the composite goes: one of the team's namespaces, on a cluster that offers the capability."""
    owned = sorted(NamespaceOwnership.objects.filter(team=team).values_list("namespace", flat=True))
    if not owned:
        raise ValidationError(
            {
                "team": f"Team {team.name} owns no namespace yet; a platform admin assigns one with "
                f"`devplat teams add-namespace {team.name} NAMESPACE`."
            }
        )
    if namespace is None and len(owned) > 1:
        raise ValidationError(
            {"namespace": f"Team {team.name} has several namespaces; choose one of: {', '.join(owned)}."}
        )
    namespace = namespace or owned[0]
    if namespace not in owned:
        raise ValidationError(
            {"namespace": f"{namespace!r} is not team {team.name}'s; its namespaces: {', '.join(owned)}."}
        )
    clusters = list(Cluster.objects.filter(name__in=offer.clusters, enabled=True).order_by("name"))
    if cluster is not None:
        clusters = [c for c in clusters if c.name == cluster]
        if not clusters:
            offered = ", ".join(offer.clusters)
            raise ValidationError(
                {"cluster": f"{offer.kind} is not offered on cluster {cluster!r}; it is on: {offered}."}
            )
    if not clusters:
        raise ValidationError({"cluster": f"No enabled cluster offers {offer.kind} now."})
    if len(clusters) > 1:
        names = ", ".join(c.name for c in clusters)
        raise ValidationError({"cluster": f"{offer.kind} is offered on several clusters; choose one of: {names}."})
    return namespace, clusters[0]


@dataclass(frozen=True)
class Admitted:
    """What the admission policies said of an allowed request: warn-mode messages for the requester, and every
    violation that did not deny it (warn and audit mode) for the audit log."""

    warnings: list[str]
    findings: list[str]


def _admission(offer: Offer, obj: dict[str, Any], *, team: Team, environment: str, user: Any) -> Admitted:
    """Evaluate the admission policies: a denial lists every violated policy."""
    result = policy_evaluate_admission(
        obj=obj,
        capability=offer.name,
        kind=offer.kind,
        team=team.name,
        environment=environment,
        actor=user.get_username(),
    )
    if result.denied:
        messages = [f"{v.policy}: {v.message}" for v in result.violations if v.mode == "enforce"]
        raise ValidationError({"policies": messages})
    findings = [f"{v.policy} ({v.mode}): {v.message}" for v in result.violations]
    return Admitted(warnings=list(result.warnings), findings=findings)


def _audited(snapshot: dict[str, Any], admitted: Admitted) -> dict[str, Any]:
    """A request's audit snapshot with the policy violations that did not deny it, when there were any."""
    return {**snapshot, "policy_findings": admitted.findings} if admitted.findings else snapshot


def _digest(**request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _check_environment(environment: str) -> None:
    if environment not in EnvironmentChoices.values:
        raise ValidationError(
            {"environment": f"Unknown environment {environment!r}; use one of: {', '.join(EnvironmentChoices.values)}."}
        )


def _snapshot(request: ProvisioningRequest) -> dict[str, Any]:
    return {
        "capability": request.capability,
        "cluster": request.cluster.name,
        "namespace": request.namespace,
        "name": request.name,
        "environment": request.environment,
        "parameters": request.parameters,
        "depends_on": sorted(d.reference for d in request.depends_on.all()),
        "status": request.status,
    }


def _apply(request: ProvisioningRequest, offer: Offer) -> dict[str, Any]:
    """Apply the rendered composite now and record that it was."""
    stored = kube.apply(request.cluster, offer, request.rendered)
    request.status = RequestStatusChoices.APPLIED
    request.status_message = ""
    request.waiting_for = []
    request.applied_at = timezone.now()
    metadata = stored.get("metadata") or {}
    request.resource_uid = metadata.get("uid", "")
    request.applied_generation = metadata.get("generation")
    return stored


def _namespaced(offer: Offer) -> Offer:
    if offer.scope != "Namespaced":
        raise ValidationError(
            {
                "capability": f"{offer.name} is a Crossplane v1 XRD (scope {offer.scope}, instances through claims); "
                "devplat requests and changes v2 namespaced capabilities only."
            }
        )
    return offer


def capability_request(
    *,
    user: Any,
    capability: str,
    name: str,
    team: str,
    parameters: dict[str, Any] | None = None,
    environment: str = EnvironmentChoices.DEV,
    namespace: str | None = None,
    cluster: str | None = None,
    depends_on: Sequence[str] = (),
    dry_run: bool = False,
    idempotency_key: str = "",
) -> Outcome:
    """Request one instance of `capability` named `name` for `team` (see the module docstring)."""
    parameters = {} if parameters is None else parameters
    digest = _digest(
        capability=capability, name=name, team=team, parameters=parameters, environment=environment,
        namespace=namespace, cluster=cluster, depends_on=list(depends_on),
    )  # fmt: skip
    owner = team_for(user, team)
    _require_writer(user, owner)
    if idempotency_key and not dry_run:
        earlier = ProvisioningRequest.objects.filter(created_by=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.request_digest != digest:
                raise ValidationError(
                    {"Idempotency-Key": "This key was used for a different request; use a new key for a new request."}
                )
            return Outcome(request=earlier, object=earlier.rendered, warnings=earlier.warnings, replayed=True)
    _check_environment(environment)
    if not NAME.match(name or ""):
        raise ValidationError(
            {
                "name": f"{name!r} is not a valid name: use at most 63 lowercase letters, digits and '-', starting and "
                "ending with a letter or digit."
            }
        )
    offer = _namespaced(offer_for(user, capability))
    target_namespace, target = _placement(offer, owner, namespace, cluster)
    existing = ProvisioningRequest.objects.live().filter(
        cluster=target, capability=offer.name, namespace=target_namespace, name=name
    )
    if existing.exists():
        raise Conflict(
            f"{offer.kind}/{name} already exists in {target_namespace} on {target.name}; change it with an update "
            "(PATCH, or `devplat create` of a new name) or delete it first."
        )
    spec = admit_parameters(offer, name=name, namespace=target_namespace, parameters=parameters)
    needs = dependencies.resolve(team=owner, cluster=target, references=depends_on)
    obj = render(offer, team=owner.name, environment=environment, namespace=target_namespace, name=name, spec=spec)
    admitted = _admission(offer, obj, team=owner, environment=environment, user=user)
    warnings = admitted.warnings
    if dry_run:
        stored = kube.apply(target, offer, obj, dry_run=True)
        return Outcome(request=None, object=stored, warnings=warnings, waiting_for=dependencies.unmet(needs))
    try:
        return _record_and_apply(
            user=user, offer=offer, owner=owner, target=target, namespace=target_namespace, name=name,
            environment=environment, parameters=parameters, spec=spec, needs=needs, admitted=admitted,
            idempotency_key=idempotency_key, digest=digest,
        )  # fmt: skip
    except IntegrityError:
        # A concurrent request took the name, or the same Idempotency-Key, between the checks above and the insert.
        raise Conflict(
            f"Another request for {offer.kind}/{name} in {target_namespace}, or with this Idempotency-Key, is being "
            "made right now; look it up, or retry in a moment."
        ) from None


def _record_and_apply(
    *,
    user: Any,
    offer: Offer,
    owner: Team,
    target: Cluster,
    namespace: str,
    name: str,
    environment: str,
    parameters: dict[str, Any],
    spec: dict[str, Any],
    needs: list[ProvisioningRequest],
    admitted: Admitted,
    idempotency_key: str,
    digest: str,
) -> Outcome:
    """Insert the request, apply it now or leave it waiting, and audit it: one transaction."""
    with transaction.atomic():
        request = ProvisioningRequest.objects.create(
            team=owner,
            cluster=target,
            capability=offer.name,
            api_version=offer.api_version,
            kind=offer.kind,
            namespace=namespace,
            name=name,
            environment=environment,
            parameters=parameters,
            connection_secret=offer.secret_for(name),
            warnings=admitted.warnings,
            created_by=user,
            idempotency_key=idempotency_key,
            request_digest=digest,
        )
        request.depends_on.set(needs)
        request.rendered = render(
            offer, team=owner.name, environment=environment, namespace=namespace, name=name, spec=spec,
            request_id=request.pk,
        )  # fmt: skip
        request.waiting_for = dependencies.unmet(needs)
        stored = request.rendered if request.waiting_for else _apply(request, offer)
        request.save()
        audit_record(action="provisioning.request.create", target=request, after=_audited(_snapshot(request), admitted))
        if request.waiting_for:
            _advance_soon(request)
    return Outcome(request=request, object=stored, warnings=admitted.warnings, waiting_for=request.waiting_for)


def _advance_soon(request: ProvisioningRequest) -> None:
    from control_plane.tasks import provisioning_advance

    transaction.on_commit(lambda: provisioning_advance.delay(request.pk))


def _offer_of(user: Any, request: ProvisioningRequest) -> Offer:
    try:
        return _namespaced(offer_for(user, request.capability))
    except NotFound:
        raise Conflict(
            f"{request.capability} is no longer offered (its XRD is gone from every cluster); a platform admin must "
            "restore it before this request can change."
        ) from None


def provisioning_request_update(
    *,
    user: Any,
    request: ProvisioningRequest,
    parameters: dict[str, Any] | None = None,
    environment: str | None = None,
    depends_on: Sequence[str] | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Change a request: `parameters` is a JSON merge patch over the requested parameters (null removes one),
    `depends_on` replaces the dependencies. The whole desired object is re-applied, so server-side apply removes
    what the requester dropped."""
    _require_writer(user, request.team)
    if request.status == RequestStatusChoices.DELETED:
        raise Conflict(f"{request.reference} was deleted; request it again instead.")
    environment = environment or request.environment
    _check_environment(environment)
    merged = _merge(request.parameters, parameters or {})
    offer = _offer_of(user, request)
    spec = admit_parameters(
        offer, name=request.name, namespace=request.namespace, parameters=merged, old=request.rendered or None
    )
    obj = render(
        offer, team=request.team.name, environment=environment, namespace=request.namespace, name=request.name,
        spec=spec, request_id=request.pk,
    )  # fmt: skip
    admitted = _admission(offer, obj, team=request.team, environment=environment, user=user)
    warnings = admitted.warnings
    needs = None
    if depends_on is not None:
        needs = dependencies.resolve(
            team=request.team, cluster=request.cluster, references=depends_on, requester=request
        )
    if dry_run:
        return Outcome(request=None, object=kube.apply(request.cluster, offer, obj, dry_run=True), warnings=warnings)
    with transaction.atomic():
        locked = ProvisioningRequest.objects.select_for_update().select_related("cluster", "team").get(pk=request.pk)
        before = _snapshot(locked)
        locked.parameters, locked.environment, locked.rendered, locked.warnings = merged, environment, obj, warnings
        if needs is not None:
            locked.depends_on.set(needs)
        stored = obj
        if locked.status != RequestStatusChoices.WAITING:
            stored = _apply(locked, offer)
        locked.save()
        after = _audited(_snapshot(locked), admitted)
        audit_record(action="provisioning.request.update", target=locked, before=before, after=after)
    return Outcome(request=locked, object=stored, warnings=warnings, waiting_for=locked.waiting_for)


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def provisioning_request_delete(*, user: Any, request: ProvisioningRequest) -> ProvisioningRequest:
    """Delete the composite from the cluster and mark the request deleted. Refused while live requests depend on
    it, as Crossplane's Usages refuse it: delete those first."""
    _require_writer(user, request.team)
    if request.status == RequestStatusChoices.DELETED:
        return request
    dependents = sorted(d.reference for d in request.dependents.live())
    if dependents:
        raise Conflict(f"{', '.join(dependents)} depend on {request.reference}; delete them first.")
    with transaction.atomic():
        locked = ProvisioningRequest.objects.select_for_update().select_related("cluster", "team").get(pk=request.pk)
        before = _snapshot(locked)
        if locked.status != RequestStatusChoices.WAITING:
            kube.delete(locked.cluster, _offer_of(user, locked), locked.namespace, locked.name)
        locked.status = RequestStatusChoices.DELETED
        locked.deleted_at = timezone.now()
        locked.waiting_for = []
        locked.save()
        audit_record(action="provisioning.request.delete", target=locked, before=before, after=_snapshot(locked))
    return locked


def provisioning_request_advance(*, request_id: int) -> str | None:
    """Apply a waiting request whose dependencies are now satisfied, or record what it still waits for.

    Called by the Celery tasks; the row lock (skipped when another worker holds it) makes a request advance once.
    Returns the request's status after the attempt, None when there was nothing to do.
    """
    with transaction.atomic():
        request = (
            ProvisioningRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("cluster", "team")
            .filter(pk=request_id, status=RequestStatusChoices.WAITING)
            .first()
        )
        if request is None:
            return None
        waiting = dependencies.unmet(request.depends_on.select_related("cluster"))
        if waiting:
            if waiting != request.waiting_for:
                request.waiting_for = waiting
                request.save(update_fields=["waiting_for", "updated_at"])
            return request.status
        try:
            offer = offer_for(request.created_by, request.capability) if request.created_by else None
        except NotFound:
            offer = None
        if offer is None:
            request.status = RequestStatusChoices.FAILED
            request.status_message = f"{request.capability} is no longer offered to its requester."
        else:
            try:
                _apply(request, offer)
            except (Conflict, ValidationError, Forbidden) as exc:
                request.status = RequestStatusChoices.FAILED
                request.status_message = str(exc.messages if isinstance(exc, ValidationError) else exc)
        request.save()
        audit_record(
            action=f"provisioning.request.{'apply' if request.status == RequestStatusChoices.APPLIED else 'fail'}",
            target=request,
            after=_snapshot(request),
        )
        return request.status
