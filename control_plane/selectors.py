"""Permission-checked reads of clusters and the synced inventory, shared by the API, the CLI and the admin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from control_plane.choices import HealthChoices
from control_plane.labelselector import label_selector_q
from control_plane.models import Cluster, Resource, ResourceType
from devplat.core.errors import NotFound
from devplat.core.querysets import require_platform_admin

KNOWN_KINDS_SHOWN = 40


def cluster_for(user: Any, name: str) -> Cluster:
    """The cluster named `name`, if `user` may see it (every signed-in user may)."""
    cluster = Cluster.objects.restrict(user, "view").filter(name=name).first()
    if cluster is None:
        raise NotFound(f"No cluster named {name!r}. List them with `devplat clusters list`.")
    return cluster


def kind_q(user: Any, kind: str, *, cluster: Cluster | None = None) -> Q:
    """Resources of `kind` as kubectl reads a type name: the Kind in any case (`deployment`), the plural
    (`deployments`), or either qualified with the group (`deployments.apps`, `XDatabase.example.org`).

    Resolved against the synced types, so a name no cluster serves is an error that lists the known kinds.
    """
    wanted = kind.strip().lower()
    name, _, group = wanted.partition(".")
    types = ResourceType.objects.restrict(user, "view")
    if cluster is not None:
        types = types.filter(cluster=cluster)
    bare = Q(kind__iexact=wanted) | Q(plural=wanted)
    qualified = (Q(kind__iexact=name) | Q(plural=name)) & Q(group=group) if group else Q(pk__in=[])
    pairs = set(types.filter(bare | qualified).values_list("group", "kind").distinct())
    if not pairs:
        known = sorted(set(types.values_list("kind", flat=True)))
        shown = ", ".join(known[:KNOWN_KINDS_SHOWN])
        if len(known) > KNOWN_KINDS_SHOWN:
            shown += f" and {len(known) - KNOWN_KINDS_SHOWN} more"
        where = f" in cluster {cluster.name}" if cluster is not None else ""
        raise ValidationError({"kind": f"No synced kind {kind!r}{where}. Known kinds: {shown or 'none yet'}."})
    query = Q(pk__in=[])
    for api_group, kind_name in sorted(pairs):
        query |= Q(api_group=api_group, kind=kind_name)
    return query


def resources_for(
    user: Any,
    *,
    cluster: Cluster | None = None,
    kind: str | None = None,
    namespace: str | None = None,
    label_selector: str | None = None,
    health: str | None = None,
    team: str | None = None,
    include_deleted: bool = False,
) -> QuerySet[Resource]:
    """The resources `user` may see, filtered: live ones unless `include_deleted`; `team` is a team name.

    Raises ValidationError, keyed by the argument at fault, for an unknown kind or health or a bad selector.
    """
    resources = Resource.objects.restrict(user, "view")
    if not include_deleted:
        resources = resources.live()
    if cluster is not None:
        resources = resources.filter(cluster=cluster)
    if kind:
        resources = resources.filter(kind_q(user, kind, cluster=cluster))
    if namespace is not None:
        resources = resources.filter(namespace=namespace)
    if label_selector:
        try:
            resources = resources.filter(label_selector_q(label_selector))
        except ValueError as exc:
            raise ValidationError({"label_selector": str(exc)}) from None
    if health:
        if health not in HealthChoices.values:
            raise ValidationError({"health": f"No health {health!r}; use one of {', '.join(HealthChoices.values)}."})
        resources = resources.filter(health=health)
    if team:
        resources = resources.filter(team__name=team)
    return resources


def resource_for(user: Any, *, cluster: Cluster | None, kind: str, name: str, namespace: str | None = None) -> Resource:
    """The one live resource of `kind` named `name` that `user` may see.

    Without a cluster (or namespace) every cluster (or namespace) is searched; when that finds several, a
    ValidationError lists them so the caller can say which one.
    """
    found = list(
        resources_for(user, cluster=cluster, kind=kind, namespace=namespace)
        .filter(name=name)
        .select_related("cluster", "team", "resource_type")
        .order_by("cluster__name", "namespace")[:6]
    )
    if len(found) == 1:
        return found[0]
    if not found:
        place = (f" in namespace {namespace}" if namespace else "") + (f" in cluster {cluster.name}" if cluster else "")
        flags = (f" --cluster {cluster.name}" if cluster else "") + (f" -n {namespace}" if namespace else "")
        raise NotFound(
            f"No {kind} named {name!r}{place} (or you may not see it). "
            f"List them with `devplat resources list --kind {kind}{flags}`."
        )
    where = ", ".join(f"{r.cluster.name}/{r.namespace}" if r.namespace else r.cluster.name for r in found)
    raise ValidationError(
        {"name": f"Several {kind} objects are named {name!r} (in {where}); say which with --cluster and -n."}
    )


__all__ = ["cluster_for", "kind_q", "require_platform_admin", "resource_for", "resources_for"]
