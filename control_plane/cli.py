"""`devplat clusters ...`: register, list, test and remove clusters, and rotate the keys their credentials use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from control_plane import services
from control_plane.credentials import CredentialsUnreadable
from control_plane.kube.kubeconfig import KUBECONFIG_MAX_CHARS
from control_plane.models import Cluster
from control_plane.selectors import cluster_for, require_platform_admin
from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb

CLUSTER_COLUMNS = (
    "name",
    "server",
    "enabled",
    "auth_method",
    "kubernetes_version",
    "crossplane_version",
    "last_contact_at",
    "labels",
)


def cluster_row(cluster: Cluster) -> dict[str, Any]:
    """What the CLI shows of a cluster: never the credentials, only how they authenticate."""
    return {
        "name": cluster.name,
        "server": cluster.server,
        "enabled": cluster.enabled,
        "auth_method": cluster.auth_method,
        "labels": [f"{key}={value}" for key, value in sorted(cluster.labels.items())],
        "kubernetes_version": cluster.kubernetes_version,
        "crossplane_version": cluster.crossplane_version,
        "last_contact_at": cluster.last_contact_at,
        "last_error": cluster.last_error,
        "created_at": cluster.created_at,
    }


def _read(path: str | None, flag: str) -> str | None:
    """The text of a file the operator named; a kubeconfig-sized cap keeps a wrong path from loading a disk image."""
    if not path:
        return None
    try:
        with Path(path).open(encoding="utf-8") as handle:
            text = handle.read(KUBECONFIG_MAX_CHARS + 1)
    except OSError as exc:
        raise CliError(f"{flag} {path}: cannot read it ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise CliError(f"{flag} {path}: not a UTF-8 text file.") from None
    if len(text) > KUBECONFIG_MAX_CHARS:
        raise CliError(f"{flag} {path}: larger than {KUBECONFIG_MAX_CHARS // 1024} KiB; is it the right file?")
    return text


def _labels(pairs: list[str] | None) -> dict[str, str]:
    labels = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--label {pair!r}: write labels as KEY=VALUE, e.g. --label env=prod.")
        labels[key] = value
    return labels


class ClustersNoun(Noun):
    name = "clusters"
    help = "The Kubernetes clusters devplat watches and provisions into."

    @verb(
        "add",
        "Register a cluster (platform admins): a kubeconfig with embedded credentials, or a server URL and token.",
        arg("name", help="DNS label, e.g. prod-eu."),
        arg("--kubeconfig", metavar="FILE", help="A kubeconfig with credentials embedded as data."),
        arg("--context", metavar="CTX", help="The kubeconfig context to use (default: its current context)."),
        arg("--server", metavar="URL", help="The API server URL (https), instead of a kubeconfig."),
        arg("--token-file", metavar="FILE", help="A file holding the bearer token (with --server)."),
        arg("--ca-file", metavar="FILE", help="The API server's CA certificates, PEM (with --server)."),
        arg("--label", action="append", metavar="KEY=VALUE", help="A label; repeat for more."),
        arg("--disabled", action="store_true", help="Register without syncing it yet."),
    )
    def add(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "register clusters")
        args = inv.args
        credentials = services.credentials_from_input(
            kubeconfig=_read(args.kubeconfig, "--kubeconfig"),
            context=args.context,
            server=args.server,
            token=_read(args.token_file, "--token-file"),
            ca_data=_read(args.ca_file, "--ca-file"),
        )
        cluster = services.cluster_register(
            name=args.name, credentials=credentials, enabled=not args.disabled, labels=_labels(args.label)
        )
        return Output(
            data=cluster_row(cluster),
            message=f"cluster {cluster.name} registered ({cluster.server}); check it with "
            f"`devplat clusters test {cluster.name}`",
        )

    @verb("list", "List the registered clusters.")
    def list(self, inv: Invocation) -> Output:
        clusters = Cluster.objects.restrict(inv.user, "view")
        return Output(rows=[cluster_row(c) for c in clusters], columns=CLUSTER_COLUMNS)

    @verb(
        "test",
        "Connect to a cluster and report whether it answers, its Kubernetes version and whether Crossplane is "
        "installed (platform admins).",
        arg("name"),
    )
    def test(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.name)
        require_platform_admin(inv.user, "test clusters")
        result = services.cluster_test(cluster=cluster)
        if not result.reachable:
            raise CliError(f"cluster {cluster.name} is not reachable: {result.error}")
        crossplane = f"Crossplane {result.crossplane_version}" if result.crossplane_version else "no Crossplane"
        row = {
            "name": cluster.name,
            "reachable": True,
            "kubernetes_version": result.kubernetes_version,
            "crossplane_version": result.crossplane_version,
            "crossplane_installed": result.crossplane_version is not None,
            "tested_at": result.tested_at,
        }
        return Output(
            data=row,
            message=f"cluster {cluster.name} is reachable: Kubernetes {result.kubernetes_version}, {crossplane}",
        )

    @verb("remove", "Remove a cluster and its stored credentials (platform admins).", arg("name"))
    def remove(self, inv: Invocation) -> Output:
        cluster = cluster_for(inv.user, inv.args.name)
        require_platform_admin(inv.user, "remove clusters")
        services.cluster_remove(cluster=cluster)
        return Output(data={"name": inv.args.name, "removed": True}, message=f"cluster {inv.args.name} removed")

    @verb(
        "rotate-keys",
        "Re-encrypt every cluster's credentials with the newest key in DEVPLAT_CLUSTER_KEYS (platform admins).",
    )
    def rotate_keys(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "rotate the cluster credential keys")
        try:
            clusters = services.clusters_rotate_keys()
        except CredentialsUnreadable as exc:
            raise CliError(f"nothing was re-encrypted: {exc}") from None
        return Output(
            data={"rotated": [c.name for c in clusters]},
            message=f"re-encrypted the credentials of {len(clusters)} cluster(s) with the newest key; keys after "
            "the first in DEVPLAT_CLUSTER_KEYS can now be removed",
        )
