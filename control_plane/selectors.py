"""Permission-checked reads of clusters and the synced inventory, shared by the API, MCP, the CLI and the admin.

Every function takes the acting `user` and sees only what `restrict()` lets that user see. Bad input raises a
Django ValidationError keyed by the argument at fault (the API answers 400 problem+json naming the parameter, the
CLI prints it); an object the user may not see raises NotFound, exactly as one that does not exist.
"""

from __future__ import annotations

import datetime
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.lookups import Lookup
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from control_plane.choices import HealthChoices, ResourceCategoryChoices, SyncModeChoices
from control_plane.labelselector import parse_label_selector
from control_plane.models import Cluster, Resource, ResourceChange, ResourceType, SyncRun
from control_plane.models.provisioning import XRD_GROUP, XRD_KIND
from control_plane.querysets import ResourceQuerySet
from control_plane.tree import HEAVY_FIELDS, TreeNode, resource_tree
from devplat.core.errors import NotFound
from devplat.core.querysets import require_platform_admin
from identity.models import Team

KNOWN_KINDS_SHOWN = 40
HISTORY_MAX = 500
# Up to this many label-index matches, a resource list is read by their ids (see `_label_matches_first`).
LABEL_MATCHES_RESOLVED = 1000
CHANGES_MAX_WAIT_DEFAULT = 30.0
# How often a waiting `changes_after` looks again: an indexed `id > after` query, so a few per second cost nothing.
CHANGES_POLL_SECONDS = 0.3
FAILING_TREES_SHOWN = 50
# What a root's `failing_message` reads when its deepest failure is a resource the caller may not see.
HIDDEN_FAILURE_MESSAGE = "The deepest failure is in a resource you may not see; ask a platform admin."
# On an XRD: the name of the Secret an instance's dependents wait for, with `{name}` for the instance's name.
CONNECTION_SECRET_ANNOTATION = "devplat.io/connection-secret"  # noqa: S105 (a Secret's name, not a password)
# The core API group has no name; filters spell it `core`, as the Kubernetes docs do.
CORE_GROUP_ALIASES = frozenset({"core"})
# Worst first: the order a tree's health rolls up in (see control_plane.tree).
HEALTH_RANK = {
    HealthChoices.HEALTHY.value: 0,
    HealthChoices.UNKNOWN.value: 1,
    HealthChoices.PROGRESSING.value: 2,
    HealthChoices.DEGRADED.value: 3,
}
FAILING_HEALTH = (HealthChoices.DEGRADED.value, HealthChoices.PROGRESSING.value)
TREE_ROOT_CATEGORIES = (ResourceCategoryChoices.COMPOSITE.value, ResourceCategoryChoices.CLAIM.value)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_DURATION = re.compile(r"^(\d{1,9})([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --- argument parsing: every face passes strings, typed callers pass values ------------------------------------------


def _invalid(argument: str, message: str) -> ValidationError:
    return ValidationError({argument: message})


def parse_bool(value: bool | str | None, argument: str) -> bool | None:
    """`value` as a boolean: True/False, or the strings true/false (1/0, yes/no); None means "not given" (an empty
    string is not a boolean)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(argument, f"{value!r} is not a boolean; use true or false.")


def parse_int(value: int | str | None, argument: str, *, minimum: int, maximum: int | None = None) -> int | None:
    """`value` as an integer in [minimum, maximum]; None means "not given" (an empty string is not a number)."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(argument, f"{value!r} is not an integer; give a whole number.") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise _invalid(argument, f"{number} is out of range; give a number {bound}.")
    return number


def parse_since(value: datetime.datetime | str | None, argument: str) -> datetime.datetime | None:
    """A point in time: a datetime, an ISO 8601 timestamp (UTC unless it says otherwise), or a duration back from
    now (`90s`, `15m`, `2h`, `7d`), which is what an agent usually means by "recently"."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = value.strip()
        duration = _DURATION.match(text)
        if duration:
            seconds = int(duration.group(1)) * _DURATION_UNITS[duration.group(2)]
            return timezone.now() - datetime.timedelta(seconds=min(seconds, 3650 * 86400))
        try:
            parsed = parse_datetime(text.replace(" ", "+"))  # a `+` in a query string arrives as a space
        except ValueError:
            parsed = None
        if parsed is None:
            raise _invalid(
                argument,
                f"{value!r} is neither an ISO 8601 time (2026-11-25T10:00:00Z) nor a duration back from now "
                "(90s, 15m, 2h, 7d).",
            )
        moment = parsed
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


# --- clusters, teams, kinds ------------------------------------------------------------------------------------------


def cluster_for(user: Any, name: str) -> Cluster:
    """The cluster named `name`, if `user` may see it (every signed-in user may)."""
    cluster = Cluster.objects.restrict(user, "view").filter(name=name).first()
    if cluster is None:
        raise NotFound(f"No cluster named {name!r}. List them with `devplat clusters list`.")
    return cluster


def _cluster_arg(user: Any, cluster: Cluster | str | None) -> Cluster | None:
    """A cluster filter given as an object (the CLI resolved it) or a name (API, MCP): an unknown name is bad input,
    not a missing object, since every signed-in user may list the clusters."""
    if cluster is None or isinstance(cluster, Cluster):
        return cluster
    name = cluster.strip()
    if not name:
        return None
    found = Cluster.objects.restrict(user, "view").filter(name=name).first()
    if found is None:
        known = sorted(Cluster.objects.restrict(user, "view").values_list("name", flat=True)[:KNOWN_KINDS_SHOWN])
        raise _invalid("cluster", f"No cluster named {name!r}. Known clusters: {', '.join(known) or 'none yet'}.")
    return found


def _team_id(user: Any, team: str) -> int:
    """The id of the team named `team` among those `user` may see. A team the user may not see gets the same
    answer as one that does not exist, so team names cannot be probed."""
    visible = Team.objects.restrict(user, "view")
    found = visible.filter(name=team).values_list("id", flat=True).first()
    if found is None:
        mine = sorted(visible.values_list("name", flat=True)[:KNOWN_KINDS_SHOWN])
        raise _invalid("team", f"No team named {team!r} that you may see. Your teams: {', '.join(mine) or 'none'}.")
    return found


def _kind_pairs(
    user: Any, kind: str, *, cluster: Cluster | None = None, argument: str = "kind"
) -> set[tuple[str, str]]:
    """The (group, Kind) pairs a kubectl-style type name means among the synced types; a ValidationError keyed by
    `argument` if none."""
    wanted = kind.strip().lower()
    name, _, group = wanted.partition(".")
    types = ResourceType.objects.restrict(user, "view")
    if cluster is not None:
        types = types.filter(cluster=cluster)
    bare = Q(kind__iexact=wanted) | Q(plural=wanted)
    qualified = (Q(kind__iexact=name) | Q(plural=name)) & Q(group=group) if group else Q(pk__in=[])
    pairs = set(types.filter(bare | qualified).order_by().values_list("group", "kind").distinct())
    if not pairs:
        known = sorted(set(types.values_list("kind", flat=True)))
        shown = ", ".join(known[:KNOWN_KINDS_SHOWN])
        if len(known) > KNOWN_KINDS_SHOWN:
            shown += f" and {len(known) - KNOWN_KINDS_SHOWN} more"
        where = f" in cluster {cluster.name}" if cluster is not None else ""
        raise _invalid(argument, f"No synced kind {kind!r}{where}. Known kinds: {shown or 'none yet'}.")
    return pairs


def _pairs_q(pairs: Iterable[tuple[str, str]], *, group_field: str = "api_group", kind_field: str = "kind") -> Q:
    """Rows of any of the (group, Kind) pairs; the field names fit the model queried (resources, their changes,
    types, sync runs)."""
    query = Q(pk__in=[])
    for api_group, kind_name in sorted(pairs):
        query |= Q(**{group_field: api_group, kind_field: kind_name})
    return query


def kind_q(user: Any, kind: str, *, cluster: Cluster | None = None) -> Q:
    """Resources of `kind` as kubectl reads a type name: the Kind in any case (`deployment`), the plural
    (`deployments`), or either qualified with the group (`deployments.apps`, `XDatabase.example.org`).

    Resolved against the synced types, so a name no cluster serves is an error that lists the known kinds.
    """
    return _pairs_q(_kind_pairs(user, kind, cluster=cluster))


def _group_arg(user: Any, group: str) -> str:
    """An API group filter: `core` (or "") is the core group; a group no synced type has is bad input."""
    name = group.strip().lower()
    if name in CORE_GROUP_ALIASES:
        return ""
    types = ResourceType.objects.restrict(user, "view")
    if not types.filter(group=name).exists():
        known = sorted({g or "core" for g in types.values_list("group", flat=True).distinct()})
        shown = ", ".join(known[:KNOWN_KINDS_SHOWN]) + (" ..." if len(known) > KNOWN_KINDS_SHOWN else "")
        raise _invalid("group", f"No synced API group {group!r}. Known groups: {shown or 'none yet'}.")
    return name


# --- resources -------------------------------------------------------------------------------------------------------


def resources_for(
    user: Any,
    *,
    cluster: Cluster | str | None = None,
    kind: str | None = None,
    namespace: str | None = None,
    label_selector: str | None = None,
    health: str | None = None,
    team: str | None = None,
    include_deleted: bool = False,
    group: str | None = None,
    name: str | None = None,
    ready: bool | str | None = None,
    q: str | None = None,
    changed_since: datetime.datetime | str | None = None,
) -> QuerySet[Resource]:
    """The resources `user` may see, filtered: live ones unless `include_deleted`.

    `cluster` is a Cluster or its name; `team` a team name; `kind` kubectl-style (see `kind_q`); `group` an API
    group (`core` for the core group); `ready` true/false; `q` words that must all occur in the name (any case);
    `changed_since` a time or a duration back from now (`15m`): resources with a change-feed entry since then.
    Every filter is an indexed column (or the labels GIN index), resolved to ids first, so the query is one index
    walk in id order. Raises ValidationError, keyed by the argument at fault, for bad or unknown values.
    """
    resources = Resource.objects.restrict(user, "view")
    if not include_deleted:
        resources = resources.live()
    cluster_obj = _cluster_arg(user, cluster)
    if cluster_obj is not None:
        resources = resources.filter(cluster=cluster_obj)
    if kind:
        resources = resources.filter(kind_q(user, kind, cluster=cluster_obj))
    if group is not None and group != "":
        resources = resources.filter(api_group=_group_arg(user, group))
    if namespace is not None:
        resources = resources.filter(namespace=namespace)
    if name:
        resources = resources.filter(name=name)
    if label_selector:
        try:
            selector = parse_label_selector(label_selector)
        except ValueError as exc:
            raise _invalid("label_selector", str(exc)) from None
        resources = resources.filter(selector.q)
        if selector.indexed is not None:
            resources = _label_matches_first(resources, selector.indexed)
    if health is not None:
        if health not in HealthChoices.values:
            raise _invalid("health", f"No health {health!r}; use one of {', '.join(HealthChoices.values)}.")
        resources = resources.filter(health=health)
    ready_value = parse_bool(ready, "ready")
    if ready_value is not None:
        resources = resources.filter(ready=ready_value)
    if team:
        resources = resources.filter(team_id=_team_id(user, team))
    if q:
        terms = q.split()
        if len(terms) > 8 or any(len(term) > 100 for term in terms):
            raise _invalid("q", "Search with at most 8 words of at most 100 characters each.")
        for term in terms:
            # `~*` (not icontains' UPPER(...) LIKE) is what the trigram index on names answers.
            resources = resources.filter(name__iregex=re.escape(term))
    since = parse_since(changed_since, "changed_since")
    if since is not None:
        changed = ResourceChange.objects.filter(time__gte=since).values("resource_id")
        resources = resources.filter(pk__in=changed)
    return resources


def _label_matches_first(resources: ResourceQuerySet, indexed: Q) -> ResourceQuerySet:
    """`resources` narrowed to the ids the labels GIN index finds for `indexed`, when they are few.

    A page is `ORDER BY id LIMIT n`: the planner either collects the index's matches and sorts them, or walks the
    primary key in id order until the page is full. It picks by its estimate of how many rows match, which for
    jsonb containment comes from a histogram of a hundred sampled `labels` values: a value that happens to be in
    the sample is estimated at 1 % of the table, and the walk then reads most of it (0.4-0.7 s at 1M rows, for a
    page of 140 matches). Asked alone, the index answers in about a millisecond; up to LABEL_MATCHES_RESOLVED
    matches the page is then read by id (`id = ANY(...)`, exact whatever the statistics say). A selector matching
    more (`env=prod`) fills a page quickly in id order, which the planner then rightly prefers.
    """
    # Unordered: in id order, the probe could itself be planned as the walk.
    matches = Resource.objects.filter(indexed).order_by().values_list("id", flat=True)
    ids = list(matches[: LABEL_MATCHES_RESOLVED + 1])
    return resources if len(ids) > LABEL_MATCHES_RESOLVED else resources.filter(_AnyOf(F("pk"), ids))


class _AnyOf(Lookup):
    """`lhs = ANY(%s)`, the values as one array parameter: what `__in` means to PostgreSQL, without the ORM
    preparing, and the driver quoting, each of hundreds of ids as a parameter of its own (a third of a
    millisecond per page of a label selector)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


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


def resource_by_id(user: Any, resource_id: int) -> Resource:
    """The resource with this id, live or a tombstone, with its cluster, team and type; NotFound when `user` may
    not see it or it does not exist (the two are not told apart)."""
    try:
        number = int(resource_id)
    except (TypeError, ValueError):
        number = 0
    found = (
        Resource.objects.restrict(user, "view")
        .select_related("cluster", "team", "resource_type")
        .filter(pk=number)
        .first()
        if number > 0
        else None
    )
    if found is None:
        raise NotFound(
            f"No resource with id {resource_id} (or you may not see it). Find ids with GET /api/v1/resources/."
        )
    return found


def visible_failing(user: Any, roots: Iterable[Resource]) -> dict[int, Resource]:
    """The `failing` resources of `roots` that `user` may also see, by id, in one query. A tree can hold
    another team's (or nobody's) resources: naming those would leak them, so callers show only these."""
    ids = {root.failing_id for root in roots if root.failing_id}
    if not ids:
        return {}
    failing = Resource.objects.restrict(user, "view").filter(pk__in=ids).defer(*HEAVY_FIELDS)
    return {resource.pk: resource for resource in failing}


def hidden_failing_ids(user: Any, failing_ids: Iterable[int | None]) -> set[int]:
    """Which of these `failing` ids `user` may not see, in one query (none when there are no ids).

    The rollup copies the deepest failure's message onto the root (`failing_message`), so a root the user owns can
    carry the words of a resource they may not see; callers replace such a message with HIDDEN_FAILURE_MESSAGE.
    """
    ids = {failing_id for failing_id in failing_ids if failing_id}
    if not ids:
        return set()
    return ids - set(Resource.objects.restrict(user, "view").filter(pk__in=ids).values_list("pk", flat=True))


def resource_references(user: Any, resource: Resource) -> list[dict[str, Any]]:
    """The references `resource` states (owner, composed resources, claim, composition, provider config, ...) whose
    target `user` may see, each with the target's id, in two queries.

    A reference to something the user may not see (another team's or an unowned resource, or an object the sync
    never stores, such as a Secret) is left out: its name is another owner's. Keys: relation, id, api_group, kind,
    namespace, name.
    """
    edges = list(resource.edges_out.order_by("relation", "target_kind", "target_name", "id"))
    if not edges:
        return []
    wanted = Q(pk__in=[])
    for edge in edges:
        if edge.target_uid:
            wanted |= Q(uid=edge.target_uid)
        else:
            wanted |= Q(
                api_group=edge.target_group,
                kind=edge.target_kind,
                namespace=edge.target_namespace,
                name=edge.target_name,
            )
    targets = Resource.objects.restrict(user, "view").live().filter(wanted, cluster_id=resource.cluster_id)
    by_uid, by_ref = {}, {}
    for target_id, uid, *ref in targets.values_list("id", "uid", "api_group", "kind", "namespace", "name"):
        by_uid[uid] = target_id
        by_ref[tuple(ref)] = target_id
    found = []
    for edge in edges:
        ref = (edge.target_group, edge.target_kind, edge.target_namespace, edge.target_name)
        target_id = by_uid.get(edge.target_uid) if edge.target_uid else by_ref.get(ref)
        if target_id is not None:
            found.append(
                dict(
                    zip(
                        ("relation", "id", "api_group", "kind", "namespace", "name"),
                        (edge.relation, target_id, *ref),
                        strict=True,
                    )
                )
            )
    return found


# --- trees and health ------------------------------------------------------------------------------------------------


@dataclass
class ResourceTreeView:
    """A resource's tree as `user` may see it, its health, and its deepest failure if the user may see that."""

    root: TreeNode
    tree_health: str
    failing: TreeNode | None
    failure_hidden: bool
    node_count: int


def resource_tree_for(user: Any, resource: Resource) -> ResourceTreeView:
    """The tree below `resource` (claim -> composite -> composed, owner -> owned), members `user` may not see left
    out with everything below them.

    Health and failure are the stored rollup's (`tree_health`, `failing`): the root's own state, whoever owns the
    member that caused it. When the user may not see the failing member it is not named: `failing` is None and
    `failure_hidden` says so (naming a visible substitute would point at a symptom, not the cause). Without a
    stored rollup (a resource the sync has not rolled up), both are taken from the visible members by the
    rollup's rule: the worst health, then the deepest member with it, then the lowest id.
    """
    tree = resource_tree(resource, visible=Resource.objects.restrict(user, "view"))
    nodes = list(tree.walk())
    if resource.tree_health:
        failing = next((node for _, node in nodes if node.resource.pk == resource.failing_id), None)
        hidden = resource.failing_id is not None and failing is None
        return ResourceTreeView(tree, resource.tree_health, failing, hidden, len(nodes))
    worst_rank = max(HEALTH_RANK.get(node.resource.health, 1) for _, node in nodes)
    tree_health = next(health for health, rank in HEALTH_RANK.items() if rank == worst_rank)
    failing = None
    if worst_rank >= HEALTH_RANK[HealthChoices.PROGRESSING]:
        candidates = [(depth, node) for depth, node in nodes if HEALTH_RANK.get(node.resource.health) == worst_rank]
        failing = min(candidates, key=lambda pair: (-pair[0], pair[1].resource.pk))[1]
    return ResourceTreeView(tree, tree_health, failing, False, len(nodes))


def resource_history(user: Any, resource: Resource, *, limit: int | str | None = 50) -> list[ResourceChange]:
    """The change-feed entries of `resource` that `user` may see, newest first, at most `limit` (1-500)."""
    count = parse_int(limit, "limit", minimum=1, maximum=HISTORY_MAX) or 50
    return list(ResourceChange.objects.restrict(user, "view").filter(resource=resource).order_by("-id")[:count])


def explain_health(user: Any, resource: Resource) -> dict[str, Any]:
    """Why `resource` is (not) ready, in one answer: its health and reason, its conditions, the deepest failing
    resource of its tree that `user` may see with that resource's conditions, message and recent changes, and the
    resource's own recent changes. Keys: resource, health, health_reason, ready, synced, conditions, tree_health,
    failing (None or: resource, health, message, conditions, recent_changes), failure_hidden (the deepest failure
    is in a resource the user may not see, so it is not named), failing_message, recent_changes.

    `resource` refs are dicts (id, cluster, api_version, kind, namespace, name); changes are ResourceChange rows.
    """
    view = resource_tree_for(user, resource)
    failing: dict[str, Any] | None = None
    if view.failing is not None and view.failing.resource.pk != resource.pk:
        bottom = view.failing.resource
        failing = {
            "resource": resource_ref(bottom, cluster_name=resource.cluster.name),
            "health": bottom.health,
            "message": bottom.health_reason,
            "conditions": bottom.conditions,
            "recent_changes": resource_history(user, bottom, limit=5),
        }
    return {
        "resource": resource_ref(resource),
        "health": resource.health,
        "health_reason": resource.health_reason,
        "ready": resource.ready,
        "synced": resource.synced,
        "conditions": resource.conditions,
        "tree_health": view.tree_health,
        "failing": failing,
        "failure_hidden": view.failure_hidden,
        "failing_message": HIDDEN_FAILURE_MESSAGE if view.failure_hidden else resource.failing_message,
        "recent_changes": resource_history(user, resource, limit=10),
    }


def resource_ref(resource: Resource, *, cluster_name: str | None = None) -> dict[str, Any]:
    """How one resource is named in answers: enough to find it again (id) and to say it to a person."""
    return {
        "id": resource.pk,
        "cluster": cluster_name if cluster_name is not None else resource.cluster.name,
        "api_version": resource.api_version,
        "kind": resource.kind,
        "namespace": resource.namespace,
        "name": resource.name,
    }


def _health_rows(groups: dict[Any, dict[str, int]], key: str, names: dict[Any, Any]) -> list[dict[str, Any]]:
    """Count rows by health, named by `key` and sorted by name (None, rows no team owns, last)."""
    rows = [{key: names.get(group), **counts, "total": sum(counts.values())} for group, counts in groups.items()]
    return sorted(rows, key=lambda row: (row[key] is None, row[key] or ""))


def health_summary(user: Any) -> dict[str, Any]:
    """What is healthy and what is broken, as `user` may see it: live resources counted by health per cluster and
    per team (team None: rows no team owns, which only platform admins see), the totals, and the failing
    composites and claims (tree health degraded first, then progressing; at most FAILING_TREES_SHOWN, with
    `failing_truncated`) each with the deepest failing resource of its tree when the user may see that resource.

    One aggregate over the live rows by (cluster, team, health) serves every count; the failing trees come from a
    small partial index. Keys: totals, by_cluster, by_team ({cluster|team, healthy, progressing, degraded,
    unknown, total}), failing ({resource, team, health, tree_health, message, failure_hidden, deepest_failure}),
    failing_truncated.
    """
    live = Resource.objects.restrict(user, "view").live()
    by_cluster: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(HEALTH_RANK, 0))
    by_team: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(HEALTH_RANK, 0))
    totals = dict.fromkeys(HEALTH_RANK, 0)
    grouped = live.order_by().values_list("cluster_id", "team_id", "health").annotate(count=Count("id"))
    for cluster_id, team_id, health, count in grouped:
        by_cluster[cluster_id][health] += count
        by_team[team_id][health] += count
        totals[health] += count
    cluster_names = dict(Cluster.objects.filter(pk__in=list(by_cluster)).values_list("id", "name"))
    team_names = dict(Team.objects.filter(pk__in=[t for t in by_team if t is not None]).values_list("id", "name"))
    roots = list(
        live.filter(tree_health__in=FAILING_HEALTH, resource_type__category__in=TREE_ROOT_CATEGORIES)
        .select_related("cluster", "team")
        .defer(*HEAVY_FIELDS, "conditions", "labels")
        .order_by("-tree_health", "id")[: FAILING_TREES_SHOWN + 1]  # "progressing" sorts after "degraded"
    )
    shown = roots[:FAILING_TREES_SHOWN]
    failing = visible_failing(user, shown)
    return {
        "totals": {**totals, "total": sum(totals.values())},
        "by_cluster": _health_rows(by_cluster, "cluster", cluster_names),
        "by_team": _health_rows(by_team, "team", team_names),
        "failing": [
            {
                "resource": resource_ref(root),
                "team": root.team.name if root.team else None,
                "health": root.health,
                "tree_health": root.tree_health,
                "message": root.failing_message if root.failing_id in failing else root.health_reason,
                "failure_hidden": bool(root.failing_id) and root.failing_id not in failing,
                "deepest_failure": (
                    {
                        **resource_ref(failing[root.failing_id], cluster_name=root.cluster.name),
                        "health": failing[root.failing_id].health,
                        "message": failing[root.failing_id].health_reason,
                    }
                    if root.failing_id in failing
                    else None
                ),
            }
            for root in shown
        ],
        "failing_truncated": len(roots) > FAILING_TREES_SHOWN,
    }


# --- the change feed -------------------------------------------------------------------------------------------------


def changes_max_wait() -> float:
    return float(getattr(settings, "DEVPLAT_CHANGES_MAX_WAIT", CHANGES_MAX_WAIT_DEFAULT))


def _changes_page(user: Any, after: int, limit: int, filters: Q) -> tuple[list[ResourceChange], int]:
    """One look at the feed: up to `limit` entries after `after`, and the cursor to continue from.

    When the page is not full, every matching entry up to the newest id in the feed has been seen, so the cursor
    moves to that id even past entries the caller may not see or did not ask for: the next call does not scan them
    again. The newest id is read before the page, so nothing committed in between is passed over.
    """
    newest = ResourceChange.objects.aggregate(newest=Max("id"))["newest"] or 0
    entries = list(
        ResourceChange.objects.restrict(user, "view")
        .filter(filters, id__gt=after, id__lte=newest)
        .select_related("cluster", "team", "resource")
        .only(
            *(f.name for f in ResourceChange._meta.concrete_fields),
            "cluster__name",
            "team__name",
            "resource__api_version",
            "resource__kind",
            "resource__namespace",
            "resource__name",
        )
        .order_by("id")[:limit]
    )
    if len(entries) == limit:
        return entries, entries[-1].pk
    return entries, max(after, newest)


def changes_after(
    user: Any,
    *,
    after: int | str | None = 0,
    limit: int | str | None = 100,
    wait: float | str | None = 0,
    cluster: Cluster | str | None = None,
    team: str | None = None,
    kind: str | None = None,
) -> tuple[list[ResourceChange], int]:
    """The change-feed entries `user` may see with ids above `after`, oldest first, and the cursor to pass as
    `after` next time.

    With `wait` > 0 and nothing new, it looks again every CHANGES_POLL_SECONDS until an entry arrives or `wait`
    seconds (at most settings.DEVPLAT_CHANGES_MAX_WAIT, default 30) have passed: a long poll, so an agent follows
    the platform with one open request instead of a tight loop. Filters: cluster (name), team (name), kind
    (kubectl spelling). Entries come with their cluster, team and resource (only its name fields) loaded.
    """
    start = parse_int(after, "after", minimum=0)
    count = parse_int(limit, "limit", minimum=1, maximum=settings.DEVPLAT_MAX_PAGE_SIZE)
    try:
        seconds = float(wait if wait is not None else 0)
    except (TypeError, ValueError):
        raise _invalid("wait", f"{wait!r} is not a number of seconds; give e.g. wait=20.") from None
    if not seconds >= 0:  # also refuses NaN
        raise _invalid("wait", "wait is a number of seconds, 0 or more.")
    seconds = min(seconds, changes_max_wait())
    filters = Q()
    cluster_obj = _cluster_arg(user, cluster)
    if cluster_obj is not None:
        filters &= Q(cluster=cluster_obj)
    if team:
        filters &= Q(team_id=_team_id(user, team))
    if kind:
        pairs = _kind_pairs(user, kind, cluster=cluster_obj)
        filters &= _pairs_q(pairs, group_field="resource__api_group", kind_field="resource__kind")
    deadline = time.monotonic() + seconds
    cursor = start or 0
    while True:
        entries, cursor = _changes_page(user, cursor, count or 100, filters)
        remaining = deadline - time.monotonic()
        if entries or remaining <= 0:
            return entries, cursor
        time.sleep(min(CHANGES_POLL_SECONDS, remaining))


# --- resource types, sync runs ---------------------------------------------------------------------------------------


def resource_types_for(
    user: Any,
    *,
    cluster: Cluster | str | None = None,
    group: str | None = None,
    kind: str | None = None,
    category: str | None = None,
) -> QuerySet[ResourceType]:
    """The synced types (every signed-in user may see them) with their sync state, filtered; `kind` matches the
    Kind in any case or the plural, optionally `.group`-qualified, as for resources."""
    types = ResourceType.objects.restrict(user, "view").select_related("cluster")
    cluster_obj = _cluster_arg(user, cluster)
    if cluster_obj is not None:
        types = types.filter(cluster=cluster_obj)
    if group is not None and group != "":
        types = types.filter(group=_group_arg(user, group))
    if kind:
        types = types.filter(_pairs_q(_kind_pairs(user, kind, cluster=cluster_obj), group_field="group"))
    if category is not None:
        if category not in ResourceCategoryChoices.values:
            raise _invalid(
                "category", f"No category {category!r}; use one of {', '.join(ResourceCategoryChoices.values)}."
            )
        types = types.filter(category=category)
    return types


def sync_runs_for(
    user: Any, *, cluster: Cluster | str | None = None, type: str | None = None, mode: str | None = None
) -> QuerySet[SyncRun]:
    """The sync ledger of the clusters `user` may see (every signed-in user sees every cluster's sync state, as
    with resource types), filtered by cluster name, type (kubectl spelling: `deployments.apps`, `Deployment`) and
    mode (list, watch, relist, resync)."""
    runs = SyncRun.objects.restrict(user, "view")
    cluster_obj = _cluster_arg(user, cluster)
    if cluster_obj is not None:
        runs = runs.filter(cluster=cluster_obj)
    if type:
        pairs = _kind_pairs(user, type, cluster=cluster_obj, argument="type")
        runs = runs.filter(_pairs_q(pairs, group_field="resource_type__group", kind_field="resource_type__kind"))
    if mode is not None:
        if mode not in SyncModeChoices.values:
            raise _invalid("mode", f"No sync mode {mode!r}; use one of {', '.join(SyncModeChoices.values)}.")
        runs = runs.filter(mode=mode)
    return runs


# --- capabilities ----------------------------------------------------------------------------------------------------


def _xrds(user: Any) -> QuerySet[Resource]:
    """The live XRD rows of the clusters `user` may see.

    Deliberately not `Resource.objects.restrict(...)`: XRDs are cluster-scoped platform objects that usually have no
    team, so that rule would show them to platform admins only. The catalog of what the platform offers is, like
    the resource types, for every signed-in user, so visibility follows `ResourceType.objects.restrict` (the XRD
    type must be visible). What stays private is who has instances: `capabilities_for` counts those through
    `Resource.objects.restrict`, so a user sees counts for their own teams only.
    """
    types = ResourceType.objects.restrict(user, "view").filter(group=XRD_GROUP, kind=XRD_KIND)
    return (
        Resource.objects.live()
        .filter(resource_type__in=types.values("id"), api_group=XRD_GROUP, kind=XRD_KIND)
        .select_related("cluster")
        .only(
            "id",
            "name",
            "api_version",
            "annotations",
            "spec",
            "conditions",
            "ready",
            "health",
            "last_seen_at",
            "cluster__name",
        )
        .order_by("name", "-last_seen_at", "-id")
    )


def _served_version(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The version instances are created in: the referenceable one, else the first served, else the first."""
    for test in (lambda v: v.get("referenceable"), lambda v: v.get("served", True)):
        for version in versions:
            if test(version):
                return version
    return versions[0] if versions else {}


def _capability(xrd: Resource, clusters: list[str]) -> dict[str, Any]:
    spec = xrd.spec if isinstance(xrd.spec, dict) else {}
    names = spec.get("names") or {}
    claim_names = spec.get("claimNames") or {}
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    served = _served_version(versions)
    schema = ((served.get("schema") or {}).get("openAPIV3Schema")) or {}
    legacy = xrd.api_version.endswith("/v1")
    return {
        "name": xrd.name,
        "group": spec.get("group", ""),
        "kind": names.get("kind", ""),
        "plural": names.get("plural", ""),
        "claim_kind": claim_names.get("kind") or None,
        "claim_plural": claim_names.get("plural") or None,
        "scope": spec.get("scope") or ("LegacyCluster" if legacy else "Namespaced"),
        "versions": [
            {
                "name": v.get("name", ""),
                "served": bool(v.get("served", True)),
                "referenceable": bool(v.get("referenceable")),
            }
            for v in versions
        ],
        "version": served.get("name", ""),
        "schema": schema,
        "ready": xrd.ready,
        "connection_secret": (xrd.annotations or {}).get(CONNECTION_SECRET_ANNOTATION, ""),
        "clusters": clusters,
        "instances": [],
    }


def capability_of(xrd: Resource) -> dict[str, Any]:
    """One synced XRD described as a capability (as in `capabilities_for`, without instance counts): for the
    operator console, which shows each cluster's XRD row on its own."""
    return _capability(xrd, [xrd.cluster.name])


def _with_instances(user: Any, capabilities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill each capability's `instances` ({team, kind, count}; team None for unowned rows, admins only) from one
    aggregate over the live resources `user` may see."""
    pairs = {(c["group"], c["kind"]) for c in capabilities if c["kind"]}
    pairs |= {(c["group"], c["claim_kind"]) for c in capabilities if c["claim_kind"]}
    if not pairs:
        return capabilities
    counts = (
        Resource.objects.restrict(user, "view")
        .live()
        .filter(_pairs_q(pairs))
        .order_by()
        .values("api_group", "kind", "team__name")
        .annotate(count=Count("id"))
    )
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in counts:
        found[(row["api_group"], row["kind"])].append(
            {"team": row["team__name"], "kind": row["kind"], "count": row["count"]}
        )
    for capability in capabilities:
        rows = found.get((capability["group"], capability["kind"]), []) + (
            found.get((capability["group"], capability["claim_kind"]), []) if capability["claim_kind"] else []
        )
        capability["instances"] = sorted(rows, key=lambda r: (r["team"] is None, r["team"] or "", r["kind"]))
    return capabilities


def _capabilities(user: Any, name: str | None = None, *, counted: bool = True) -> list[dict[str, Any]]:
    xrds = _xrds(user)
    if name is not None:
        xrds = xrds.filter(name=name)
    newest: dict[str, Resource] = {}
    clusters: dict[str, list[str]] = defaultdict(list)
    for xrd in xrds:
        newest.setdefault(xrd.name, xrd)  # ordered newest first per name: the first is the one described
        clusters[xrd.name].append(xrd.cluster.name)
    described = [_capability(xrd, sorted(set(clusters[n]))) for n, xrd in newest.items()]
    return _with_instances(user, described) if counted else described


def capabilities_for(user: Any) -> list[dict[str, Any]]:
    """What the platform offers: one entry per XRD name found by the sync in any cluster, by name.

    Keys: name, group, kind, plural, claim_kind, claim_plural (None without claims), scope (Namespaced, Cluster or
    LegacyCluster), versions ({name, served, referenceable}), version (the one instances are made in), schema (its
    openAPIV3Schema: the parameters), ready (the XRD's own readiness), clusters (where it is offered), instances
    ({team, kind, count} of the composites and claims `user` may see), connection_secret (the Secret an
    instance's dependents wait for, `{name}` standing for the instance's name; from the XRD's
    `devplat.io/connection-secret` annotation, empty when it has none). When clusters disagree, the most recently
    seen XRD is described. The catalog is visible to every signed-in user; see `_xrds` for why.
    """
    return _capabilities(user)


def capabilities_offered(user: Any) -> list[dict[str, Any]]:
    """The catalog as in `capabilities_for`, without the instance counts (`instances` stays empty): what a request
    needs to resolve its capability, without the aggregate over every instance on each request."""
    return _capabilities(user, counted=False)


def capability_for(user: Any, name: str) -> dict[str, Any]:
    """One capability by XRD name (`xdatabases.platform.example.org`), as in `capabilities_for`; NotFound otherwise."""
    found = _capabilities(user, name)
    if not found:
        raise NotFound(f"No capability named {name!r}. List them with GET /api/v1/capabilities/.")
    return found[0]


__all__ = [
    "capabilities_for",
    "capabilities_offered",
    "capability_for",
    "capability_of",
    "changes_after",
    "cluster_for",
    "explain_health",
    "health_summary",
    "hidden_failing_ids",
    "kind_q",
    "require_platform_admin",
    "resource_by_id",
    "resource_for",
    "resource_history",
    "resource_ref",
    "resource_references",
    "resource_tree_for",
    "resource_types_for",
    "resources_for",
    "sync_runs_for",
    "visible_failing",
]
