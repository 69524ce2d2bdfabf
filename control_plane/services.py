"""Cluster registry writes: register, update, remove, test, rotate keys. Each is audited; credentials never are.

Audit snapshots name the server and the authentication method only. Every server URL passes
`check_server_url` before it is stored, and again before a probe connects, since the allowed networks may have
changed in between (R15).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from control_plane import credentials as vault
from control_plane.choices import ClusterAuthMethodChoices, ResourceCategoryChoices, ResourceTypeSourceChoices
from control_plane.kube.credentials import ClusterCredentials
from control_plane.kube.endpoints import EndpointRefused, check_server_url
from control_plane.kube.kubeconfig import CredentialsRefused, build_credentials, parse_kubeconfig
from control_plane.models import Cluster, ResourceType
from governance.services import audit_record


def cluster_snapshot(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "server": cluster.server,
        "auth_method": cluster.auth_method,
        "enabled": cluster.enabled,
        "labels": cluster.labels,
    }


def credentials_from_input(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    server: str | None = None,
    token: str | None = None,
    ca_data: str | None = None,
) -> ClusterCredentials:
    """What an admin typed or uploaded (a kubeconfig and context, or a server URL with a token and CA), checked.

    The CLI, the API and the admin form all come through here, so a refused kubeconfig or URL is reported before
    anything is stored; nothing connects. Errors are keyed by the input at fault.
    """
    if kubeconfig and (server or token or ca_data):
        both = "Give either a kubeconfig (and optionally a context) or a server URL with a token, not both."
        raise ValidationError({"kubeconfig": both})
    if context and not kubeconfig:
        raise ValidationError({"context": "A context picks one entry of a kubeconfig; give the kubeconfig too."})
    try:
        if kubeconfig:
            creds = parse_kubeconfig(kubeconfig, context=context or None)
        elif not server:
            raise ValidationError({"server": "Give the API server URL and a token, or a kubeconfig."})
        elif not (token or "").strip():
            raise ValidationError({"token": "Give the bearer token devplat authenticates with (a ServiceAccount's)."})
        else:
            creds = build_credentials(server=server, token=token, ca_data=ca_data or None)
    except CredentialsRefused as exc:
        raise ValidationError({exc.field: str(exc)}) from None
    _admit_server(creds.server)
    return creds


def _auth_method(creds: ClusterCredentials) -> str:
    if creds.token and creds.client_cert_data:
        return ClusterAuthMethodChoices.TOKEN_AND_CLIENT_CERTIFICATE
    return ClusterAuthMethodChoices.TOKEN if creds.token else ClusterAuthMethodChoices.CLIENT_CERTIFICATE


def _admit_server(url: str) -> None:
    try:
        check_server_url(url)
    except EndpointRefused as exc:
        raise ValidationError({"server": str(exc)}) from None


def _store(cluster: Cluster, creds: ClusterCredentials) -> None:
    _admit_server(creds.server)
    cluster.server = creds.server
    cluster.auth_method = _auth_method(creds)
    cluster.credentials_ciphertext = vault.encrypt(creds)


@transaction.atomic
def cluster_register(
    *, name: str, credentials: ClusterCredentials, enabled: bool = True, labels: dict[str, str] | None = None
) -> Cluster:
    if Cluster.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A cluster named {name!r} already exists; remove it first or pick a new name."})
    cluster = Cluster(name=name, enabled=enabled, labels=labels or {})
    _store(cluster, credentials)
    cluster.full_clean()
    cluster.save()
    audit_record(action="cluster.register", target=cluster, after=cluster_snapshot(cluster))
    return cluster


@transaction.atomic
def cluster_update(
    *,
    cluster: Cluster,
    enabled: bool | None = None,
    labels: dict[str, str] | None = None,
    credentials: ClusterCredentials | None = None,
) -> Cluster:
    """Change what is given. New credentials for another server forget what was learnt about the old one."""
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    before = cluster_snapshot(cluster)
    if enabled is not None:
        cluster.enabled = enabled
    if labels is not None:
        cluster.labels = labels
    if credentials is not None:
        if credentials.server != cluster.server:
            cluster.last_contact_at, cluster.kubernetes_version, cluster.crossplane_version = None, "", ""
            cluster.last_error = ""
        _store(cluster, credentials)
    cluster.full_clean()
    cluster.save()
    after = cluster_snapshot(cluster) | ({"auth_replaced": True} if credentials is not None else {})
    audit_record(action="cluster.update", target=cluster, before=before, after=after)
    return cluster


@transaction.atomic
def cluster_remove(*, cluster: Cluster) -> None:
    audit_record(action="cluster.remove", target=cluster, before=cluster_snapshot(cluster))
    cluster.delete()


@dataclass(frozen=True)
class ClusterTestResult:
    """What one probe found. `crossplane_version` is None when Crossplane is not installed."""

    cluster: Cluster
    reachable: bool
    kubernetes_version: str = ""
    crossplane_version: str | None = None
    error: str = ""
    tested_at: datetime.datetime | None = None


def cluster_test(*, cluster: Cluster) -> ClusterTestResult:
    """Connect to the cluster, read its Kubernetes and Crossplane versions, and record the outcome.

    Not one transaction: the probe is network I/O and must not hold a database transaction open; the outcome is
    written and audited in a short one afterwards. A refused URL is recorded like any other failure, without
    connecting.
    """
    try:
        check_server_url(cluster.server)
        creds = cluster.credentials()
    except (EndpointRefused, vault.CredentialsUnreadable) as exc:
        return _record_test(cluster, ClusterTestResult(cluster=cluster, reachable=False, error=str(exc)))
    # Imported here: the Kubernetes client is the one heavy dependency, needed by this service alone.
    from control_plane.kube.client import connect
    from control_plane.kube.errors import KubeError

    try:
        probe = connect(cluster.name, creds).probe()  # `connect` checks the URL again, at connection time
    except (KubeError, EndpointRefused) as exc:
        return _record_test(cluster, ClusterTestResult(cluster=cluster, reachable=False, error=str(exc)))
    result = ClusterTestResult(
        cluster=cluster,
        reachable=True,
        kubernetes_version=probe.kubernetes_version,
        crossplane_version=probe.crossplane_version,
    )
    return _record_test(cluster, result)


@transaction.atomic
def _record_test(cluster: Cluster, result: ClusterTestResult) -> ClusterTestResult:
    now = timezone.now()
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    cluster.last_error = result.error
    if result.reachable:
        cluster.last_contact_at = now
        cluster.kubernetes_version = result.kubernetes_version
        cluster.crossplane_version = result.crossplane_version or ""
    cluster.save(
        update_fields=["last_error", "last_contact_at", "kubernetes_version", "crossplane_version", "updated_at"]
    )
    audit_record(
        action="cluster.test",
        target=cluster,
        after={
            "reachable": result.reachable,
            "kubernetes_version": result.kubernetes_version,
            "crossplane_version": result.crossplane_version,
            "error": result.error,
        },
    )
    return ClusterTestResult(
        cluster=cluster,
        reachable=result.reachable,
        kubernetes_version=result.kubernetes_version,
        crossplane_version=result.crossplane_version,
        error=result.error,
        tested_at=now,
    )


@transaction.atomic
def clusters_rotate_keys() -> list[Cluster]:
    """Re-encrypt every cluster's credentials under the newest key; all or nothing.

    Afterwards the older keys in DEVPLAT_CLUSTER_KEYS decrypt nothing and can be removed. Fails, changing nothing,
    when a ciphertext cannot be read with any configured key.
    """
    clusters = list(Cluster.objects.select_for_update().order_by("name"))
    for cluster in clusters:
        try:
            cluster.credentials_ciphertext = vault.rotate(cluster.credentials_ciphertext)
        except vault.CredentialsUnreadable as exc:
            raise vault.CredentialsUnreadable(f"cluster {cluster.name!r}: {exc}") from None
    Cluster.objects.bulk_update(clusters, ["credentials_ciphertext"])
    audit_record(
        action="cluster.rotate_keys",
        target_type=Cluster._meta.label_lower,
        target_repr=f"{len(clusters)} cluster(s)",
        after={"clusters": [c.name for c in clusters]},
    )
    return clusters


# `plural.group` as kubectl spells a type: a DNS label, then optionally a DNS subdomain (`deployments.apps`, `pods`).
_TYPE_KEY = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")


@transaction.atomic
def resource_type_add(*, cluster: Cluster, key: str) -> ResourceType:
    """Ask the sync to also watch a type its discovery does not pick (`pods`, `widgets.example.com`).

    The row is a placeholder (no version, kind or scope yet, `served=False`): the next sync window asks the cluster's
    discovery for it and fills it in when the cluster serves it, then lists and watches it like any other type.
    """
    key = key.strip().lower()
    if len(key) > 253 or not _TYPE_KEY.match(key):
        message = f"{key!r} is not a resource type: write it as kubectl does, plural.group (widgets.example.com; pods)."
        raise ValidationError({"type": message})
    plural, _, group = key.partition(".")
    if ResourceType.objects.filter(cluster=cluster, group=group, plural=plural).exists():
        raise ValidationError({"type": f"Cluster {cluster.name} already has the type {key}."})
    resource_type = ResourceType.objects.create(
        cluster=cluster,
        group=group,
        plural=plural,
        version="",
        kind="",
        namespaced=False,
        category=ResourceCategoryChoices.ADDED,
        source=ResourceTypeSourceChoices.ADDED,
        served=False,
    )
    audit_record(action="resource_type.add", target=resource_type, after={"cluster": cluster.name, "type": key})
    return resource_type


@transaction.atomic
def resource_type_set_watched(*, resource_type: ResourceType, watched: bool) -> ResourceType:
    """Include a type in the sync of its cluster, or exclude it; audited when it changes.

    Including a type again clears its cursor, so its sync starts with a full list: a watch resumed from the old
    cursor would never bring back what was deleted or tombstoned while it was excluded.
    """
    resource_type = ResourceType.objects.select_for_update().get(pk=resource_type.pk)
    if resource_type.watched == watched:
        return resource_type
    resource_type.watched = watched
    fields = ["watched"]
    if watched:
        resource_type.cursor = ""
        fields.append("cursor")
    resource_type.save(update_fields=fields)
    audit_record(
        action="resource_type.include" if watched else "resource_type.exclude",
        target=resource_type,
        before={"watched": not watched},
        after={"watched": watched, "cluster": resource_type.cluster.name, "type": resource_type.key},
    )
    return resource_type
