"""The Kubernetes calls of provisioning, with the cluster's answers turned into errors every face understands.

A field-manager conflict is a `Conflict` naming the other manager, the server's own validation is a
ValidationError with its causes, and an unreachable or failing API server is `Unavailable`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from control_plane import credentials as vault
from control_plane.kube.client import KubeClient, connect
from control_plane.kube.discovery import ResourceType
from control_plane.kube.endpoints import EndpointRefused
from control_plane.kube.errors import KubeConflict, KubeError, KubeInvalid, KubeNotFound, KubeUnauthorized
from control_plane.models import Cluster
from control_plane.provisioning.catalog import Offer
from devplat.core.errors import Conflict, Unavailable

FIELD_MANAGER = "devplat"
SECRETS = ResourceType("", "v1", "Secret", "secrets", namespaced=True)


def composite_type(offer: Offer) -> ResourceType:
    return ResourceType(offer.group, offer.version, offer.kind, offer.plural, namespaced=True)


@contextlib.contextmanager
def _answers(cluster: Cluster, doing: str) -> Iterator[None]:
    try:
        yield
    except KubeConflict as exc:
        raise Conflict(
            f"Cluster {cluster.name} refused to {doing}: {exc.message}. Another field manager owns these fields; "
            "change them through that manager, or remove its fields first."
        ) from None
    except KubeInvalid as exc:
        causes = {f"cluster.{cause.get('field') or 'object'}": cause.get("message", "") for cause in exc.causes} or {
            "cluster": exc.message
        }
        raise ValidationError(causes) from None
    except KubeUnauthorized as exc:
        raise Unavailable(
            f"Cluster {cluster.name} did not let devplat {doing}: {exc.message}. A platform admin must grant "
            "devplat's credentials this permission."
        ) from None
    except (KubeError, EndpointRefused, vault.CredentialsUnreadable) as exc:
        raise Unavailable(f"Cluster {cluster.name} could not {doing}: {exc}. Try again later.") from None


def _client(cluster: Cluster) -> KubeClient:
    with _answers(cluster, "be reached"):
        return connect(cluster.name, cluster.credentials())


def apply(cluster: Cluster, offer: Offer, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
    """Server-side apply the composite as `devplat`, never forcing: the object as the server stores it."""
    with _answers(cluster, f"apply {offer.kind}/{obj['metadata']['name']}"):
        try:
            stored, _ = _client(cluster).apply(composite_type(offer), obj, field_manager=FIELD_MANAGER, dry_run=dry_run)
        except KubeNotFound:
            raise Unavailable(
                f"Cluster {cluster.name} does not serve {offer.kind} ({offer.api_version}) yet: its XRD may still "
                "be establishing. Try again in a minute."
            ) from None
    return stored


def delete(cluster: Cluster, offer: Offer, namespace: str, name: str) -> None:
    """Delete the composite (Crossplane deletes what it composed); one that is already gone is fine."""
    with _answers(cluster, f"delete {offer.kind}/{name}"), contextlib.suppress(KubeNotFound):
        _client(cluster).delete(composite_type(offer), name, namespace)


def live(cluster: Cluster, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
    """The object as the cluster has it now, None when it does not exist."""
    with _answers(cluster, f"read {rt.kind}/{name}"):
        try:
            return _client(cluster).get(rt, name, namespace)
        except KubeNotFound:
            return None


def ready_condition(obj: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return None
