"""`devplat resources ...`: list, get and trace the synced inventory, as the acting user may see it.

Reads only, each through `control_plane.selectors` (permission-filtered), in a constant number of queries.
The spellings follow kubectl: `-n`/`-A`, `-l app=web`, `-o wide`, kinds as `Deployment`, `deployments` or
`deployments.apps`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from control_plane.choices import HealthChoices
from control_plane.models import Resource
from control_plane.selectors import (
    HIDDEN_FAILURE_MESSAGE,
    cluster_for,
    resource_for,
    resource_references,
    resource_tree_for,
    resources_for,
    visible_failing,
)
from control_plane.tree import HEAVY_FIELDS, TreeNode
from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb

LIST_COLUMNS = ("cluster", "namespace", "kind", "name", "health", "ready", "synced", "age")
WIDE_COLUMNS = (*LIST_COLUMNS, "team", "reason")
TREE_COLUMNS = ("name", "namespace", "health", "ready", "synced", "message")
# How `get` and `tree` name one resource.
ONE_RESOURCE = (
    arg("kind", help="Kind, plural or plural.group."),
    arg("name"),
    arg("-n", "--namespace", metavar="NS", help="Its namespace (needed when the name is in several)."),
    arg("--cluster", metavar="NAME", help="Its cluster (needed when the name is in several)."),
)
# What a failing resource at the bottom of a tree is called, by its health.
FAILING_MARK = {HealthChoices.DEGRADED: "<- deepest failure", HealthChoices.PROGRESSING: "<- still progressing"}


def age(since: datetime.datetime | None, now: datetime.datetime) -> str:
    """kubectl's short age: `45s`, `12m`, `5h`, `3d`."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def resource_summary(resource: Resource) -> dict[str, Any]:
    """A resource as scripts see it in a list: who and where it is and how it is doing, not its spec."""
    return {
        "cluster": resource.cluster.name,
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "namespace": resource.namespace,
        "name": resource.name,
        "uid": resource.uid,
        "health": resource.health,
        "healthReason": resource.health_reason,
        "ready": resource.ready,
        "synced": resource.synced,
        "treeHealth": resource.tree_health,
        "team": resource.team.name if resource.team else None,
        "labels": resource.labels,
        "createdAt": resource.created_at_k8s,
        "deletedAt": resource.deleted_at,
    }


def resource_document(user: Any, resource: Resource) -> dict[str, Any]:
    """The stored object as `kubectl get -o yaml` shows it, plus what devplat derived under `devplat`. The deepest
    failure and the references are shown only where `user` may see their targets (another team's names stay
    theirs)."""
    failing = visible_failing(user, [resource]).get(resource.failing_id or 0)
    hidden = resource.failing_id is not None and failing is None
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": resource.name,
            **({"namespace": resource.namespace} if resource.namespace else {}),
            "uid": resource.uid,
            "resourceVersion": resource.resource_version,
            "generation": resource.generation,
            "creationTimestamp": resource.created_at_k8s,
            "labels": resource.labels,
            "annotations": resource.annotations,
            "ownerReferences": resource.owner_references,
        },
        "spec": resource.spec,
        "status": resource.status,
        "devplat": {
            "cluster": resource.cluster.name,
            "team": resource.team.name if resource.team else None,
            "health": resource.health,
            "healthReason": resource.health_reason,
            "ready": resource.ready,
            "synced": resource.synced,
            "observedGeneration": resource.observed_generation,
            "conditions": resource.conditions,
            "treeHealth": resource.tree_health,
            "failing": f"{failing.kind}/{failing.name}" if failing else None,
            "failingMessage": HIDDEN_FAILURE_MESSAGE if hidden else resource.failing_message,
            "edges": [
                {
                    "relation": ref["relation"],
                    "id": ref["id"],
                    "apiGroup": ref["api_group"],
                    "kind": ref["kind"],
                    "namespace": ref["namespace"],
                    "name": ref["name"],
                }
                for ref in resource_references(user, resource)
            ],
            "firstSeenAt": resource.first_seen_at,
            "lastSeenAt": resource.last_seen_at,
            "deletedAt": resource.deleted_at,
            "deletedReason": resource.deleted_reason,
        },
    }


def _namespace(inv: Invocation) -> str | None:
    if inv.args.namespace and inv.args.all_namespaces:
        raise CliError("give either -n NAMESPACE or -A (all namespaces), not both.")
    return inv.args.namespace or None


def _cluster(inv: Invocation) -> Any:
    return cluster_for(inv.user, inv.args.cluster) if inv.args.cluster else None


def _one(inv: Invocation) -> Resource:
    return resource_for(
        inv.user, cluster=_cluster(inv), kind=inv.args.kind, name=inv.args.name, namespace=inv.args.namespace
    )


def tree_rows(root: TreeNode, failing_id: int | None) -> list[dict[str, Any]]:
    """One row per node, the name indented under its parent with box-drawing branches as `crossplane beta trace`."""
    rows = []

    def add(node: TreeNode, prefix: str, branch: str) -> None:
        resource = node.resource
        message = resource.health_reason if resource.health != HealthChoices.HEALTHY else ""
        if resource.pk == failing_id:
            message = f"{message} {FAILING_MARK.get(HealthChoices(resource.health), '')}".strip()
        rows.append(
            {
                "name": f"{prefix}{branch}{resource.kind}/{resource.name}",
                "namespace": resource.namespace,
                "health": resource.health,
                "ready": resource.ready,
                "synced": resource.synced,
                "message": message,
            }
        )
        below = prefix + ("   " if branch == "└─ " else "│  " if branch else "")
        for index, child in enumerate(node.children):
            add(child, below, "└─ " if index == len(node.children) - 1 else "├─ ")

    add(root, "", "")
    return rows


def _tree_data(node: TreeNode, failing_id: int | None) -> dict[str, Any]:
    resource = node.resource
    return {
        "kind": resource.kind,
        "apiVersion": resource.api_version,
        "namespace": resource.namespace,
        "name": resource.name,
        "relation": node.relation,
        "health": resource.health,
        "healthReason": resource.health_reason,
        "ready": resource.ready,
        "synced": resource.synced,
        "deepestFailure": resource.pk == failing_id,
        "children": [_tree_data(child, failing_id) for child in node.children],
    }


class ResourcesNoun(Noun):
    name = "resources"
    help = "The Kubernetes and Crossplane objects devplat has synced from its clusters (read-only)."

    @verb(
        "list",
        "List synced resources you may see, across clusters and namespaces unless narrowed.",
        arg("--cluster", metavar="NAME", help="Only this cluster."),
        arg("--kind", metavar="KIND", help="Kind, plural or plural.group: Deployment, deployments, xdatabases.x.io."),
        arg("-n", "--namespace", metavar="NS", help="Only this namespace."),
        arg("-A", "--all-namespaces", action="store_true", help="Every namespace (the default)."),
        arg("-l", "--selector", metavar="SELECTOR", help="Label selector, e.g. 'app=web,tier in (api,db)'."),
        arg("--health", choices=HealthChoices.values, help="Only resources with this health."),
        arg("--team", metavar="TEAM", help="Only resources of this team."),
        formats=("table", "wide", "json", "yaml"),
    )
    def list(self, inv: Invocation) -> Output:
        resources: QuerySet[Resource] = (
            resources_for(
                inv.user,
                cluster=_cluster(inv),
                kind=inv.args.kind,
                namespace=_namespace(inv),
                label_selector=inv.args.selector,
                health=inv.args.health,
                team=inv.args.team,
            )
            .select_related("cluster", "team")
            .defer(*HEAVY_FIELDS, "conditions")
            .order_by("cluster__name", "namespace", "kind", "name", "id")
        )
        now = timezone.now()
        found = list(resources)
        if inv.output in ("json", "yaml"):
            return Output(data=[resource_summary(resource) for resource in found])
        rows = [
            {
                "cluster": resource.cluster.name,
                "namespace": resource.namespace,
                "kind": resource.kind,
                "name": resource.name,
                "health": resource.health,
                "ready": resource.ready,
                "synced": resource.synced,
                "age": age(resource.created_at_k8s, now),
                "team": resource.team.name if resource.team else "",
                "reason": resource.health_reason,
            }
            for resource in found
        ]
        return Output(rows=rows, columns=WIDE_COLUMNS if inv.output == "wide" else LIST_COLUMNS)

    @verb(
        "get",
        "Show one resource as stored: metadata, spec, status, conditions, health, team and references.",
        *ONE_RESOURCE,
        formats=("yaml", "json"),
    )
    def get(self, inv: Invocation) -> Output:
        return Output(data=resource_document(inv.user, _one(inv)))

    @verb(
        "tree",
        "Show what a resource is made of, with the health of each part and the deepest failure marked.",
        *ONE_RESOURCE,
    )
    def tree(self, inv: Invocation) -> Output:
        root = _one(inv)
        view = resource_tree_for(inv.user, root)
        failing_id = view.failing.resource.pk if view.failing is not None else None
        if inv.output in ("json", "yaml"):
            data = _tree_data(view.root, failing_id)
            message = HIDDEN_FAILURE_MESSAGE if view.failure_hidden else root.failing_message
            return Output(data={**data, "treeHealth": view.tree_health, "failingMessage": message})
        return Output(rows=tree_rows(view.root, failing_id), columns=TREE_COLUMNS)
