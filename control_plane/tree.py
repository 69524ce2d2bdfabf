"""The resource tree: what a composite, claim or owner is made of, and how healthy that whole is.

The children of a resource P are (a) the live targets of P's `composes` and `claims` edges, resolved by (cluster,
group, kind, namespace, name), and (b) the live resources with an `owned-by` edge to P's uid. A child reached both
ways (a composed resource is also owned by its composite) counts once. Edges are resolved when read (see
`ResourceEdge`), so everything here is one recursive CTE in PostgreSQL: a tree costs the same few queries whatever
its size, and a rollup of 20k composites is one UPDATE. Walks stop at `MAX_DEPTH` and never revisit a resource on
the same path, so a cycle in the references ends.

Health rollup: a tree is as healthy as its worst member, in the order healthy < unknown < progressing < degraded
(unknown is worse than healthy, since nobody can vouch for it, but better than progressing, which is known not to be
done). `failing` names the resource that decides a degraded or progressing tree: its deepest member with that
health (ties go to the lowest id), since the deepest failure is usually the cause and the ones above it the
symptom. A healthy or unknown tree has no `failing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from control_plane.choices import EdgeRelationChoices, HealthChoices, ResourceCategoryChoices
from control_plane.models import Resource, ResourceEdge, ResourceType

MAX_DEPTH = 8
# Fields a tree never shows; they can be large, so the fetch leaves them out.
HEAVY_FIELDS = ("spec", "status", "annotations", "owner_references")


def _sql(*templates: str, **parts: str) -> str:
    """A query from templates: table names and choice values (never input) go in as text, input as parameters."""
    names = {
        "resource": Resource._meta.db_table,
        "edge": ResourceEdge._meta.db_table,
        "type": ResourceType._meta.db_table,
        "composes": EdgeRelationChoices.COMPOSES.value,
        "claims": EdgeRelationChoices.CLAIMS.value,
        "owned_by": EdgeRelationChoices.OWNED_BY.value,
        "degraded": HealthChoices.DEGRADED.value,
        "progressing": HealthChoices.PROGRESSING.value,
        "unknown": HealthChoices.UNKNOWN.value,
        "composite": ResourceCategoryChoices.COMPOSITE.value,
        "claim": ResourceCategoryChoices.CLAIM.value,
    }
    return "\n".join(templates).format(**names, **parts)


# The children of the row `parent` (with columns id, cluster_id, uid): (child_id, cluster_id, uid, health,
# relation). The LATERAL subquery of every walk down a tree. A child both composed and owned comes twice; the walks
# drop the second copy (rollup: UNION; display: `resource_tree`), which is cheaper than sorting here for each row.
CHILDREN_SQL = _sql("""
SELECT target.id AS child_id, target.cluster_id, target.uid, target.health, edge.relation
FROM {edge} edge
JOIN {resource} target
    ON target.cluster_id = edge.cluster_id AND target.kind = edge.target_kind
    AND target.namespace = edge.target_namespace AND target.name = edge.target_name
    AND target.api_group = edge.target_group AND target.deleted_at IS NULL
WHERE edge.source_id = parent.id AND edge.relation IN ('{composes}', '{claims}')
UNION ALL
SELECT owned.id, owned.cluster_id, owned.uid, owned.health, edge.relation
FROM {edge} edge
JOIN {resource} owned ON owned.id = edge.source_id AND owned.deleted_at IS NULL
WHERE edge.cluster_id = parent.cluster_id AND edge.target_uid = parent.uid AND edge.relation = '{owned_by}'
""")

# Every (root, member) pair of the trees below the `roots` parameter (an array), roots included at depth 0. UNION
# (not ALL) drops a row met twice on the same path, so a child both composed and owned is walked once when
# `relation` is left out (as the rollup does).
_WALK = """
WITH RECURSIVE parent(root_id, id, cluster_id, uid, health, parent_id, relation, depth, path) AS (
    SELECT root.id, root.id, root.cluster_id, root.uid, root.health, NULL::bigint, ''::varchar, 0, ARRAY[root.id]
    FROM {resource} root
    WHERE root.id = ANY(%(roots)s) {root_filter}
  UNION
    SELECT parent.root_id, child.child_id, child.cluster_id, child.uid, child.health, parent.id, {relation},
        parent.depth + 1, parent.path || child.child_id
    FROM parent CROSS JOIN LATERAL ({children}) child
    WHERE parent.depth < %(max_depth)s AND child.child_id <> ALL(parent.path)
)
"""

# Composed-and-owned children come first as composed, so `resource_tree` keeps that relation.
_TREE_SQL = _sql(
    _WALK,
    "SELECT id, parent_id, relation, depth FROM parent ORDER BY depth, id, relation = '{owned_by}'",
    root_filter="",
    relation="child.relation::varchar",
    children=CHILDREN_SQL,
)

# Roots that are composites or claims, or have children, get the worst health of their tree and its deepest member
# with that health as `failing` (when degraded or progressing); other roots are reset to no rollup. Only rows whose
# values change are written.
_ROLLUP_SQL = _sql(
    _WALK,
    """
, ranked AS (
    SELECT parent.root_id, parent.id, parent.health, parent.depth,
        CASE parent.health WHEN '{degraded}' THEN 3 WHEN '{progressing}' THEN 2 WHEN '{unknown}' THEN 1 ELSE 0
        END AS rank
    FROM parent
), worst AS (
    SELECT DISTINCT ON (ranked.root_id) ranked.root_id, ranked.id, ranked.health, ranked.rank,
        count(*) OVER (
            PARTITION BY ranked.root_id ORDER BY ranked.rank DESC, ranked.depth DESC, ranked.id
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS members  -- ordered as DISTINCT ON is, so one sort serves both
    FROM ranked
    ORDER BY ranked.root_id, ranked.rank DESC, ranked.depth DESC, ranked.id
), rolled AS (
    SELECT worst.root_id,
        CASE WHEN rolls THEN worst.health ELSE '' END AS tree_health,
        CASE WHEN rolls AND worst.rank >= 2 THEN worst.id END AS failing_id,
        CASE WHEN rolls AND worst.rank >= 2 THEN failing.health_reason ELSE '' END AS failing_message
    FROM worst
    JOIN {resource} root ON root.id = worst.root_id
    JOIN {type} root_type ON root_type.id = root.resource_type_id
    JOIN {resource} failing ON failing.id = worst.id
    CROSS JOIN LATERAL (
        SELECT worst.members > 1 OR root_type.category IN ('{composite}', '{claim}') AS rolls
    ) decide
)
UPDATE {resource} target
SET tree_health = rolled.tree_health, failing_id = rolled.failing_id, failing_message = rolled.failing_message
FROM rolled
WHERE target.id = rolled.root_id
    AND (target.tree_health, target.failing_id, target.failing_message)
        IS DISTINCT FROM (rolled.tree_health, rolled.failing_id, rolled.failing_message)
""",
    root_filter="AND root.deleted_at IS NULL",
    relation="''::varchar",
    children=CHILDREN_SQL,
)

# The reverse walk: the live parents of each row, up to `max_depth` levels, never revisiting a row on a path.
_ANCESTORS_SQL = _sql("""
WITH RECURSIVE child(id, cluster_id, api_group, kind, namespace, name, depth, path) AS (
    SELECT start.id, start.cluster_id, start.api_group, start.kind, start.namespace, start.name, 0, ARRAY[start.id]
    FROM {resource} start WHERE start.id = ANY(%(ids)s)
  UNION
    SELECT above.id, above.cluster_id, above.api_group, above.kind, above.namespace, above.name, child.depth + 1,
        child.path || above.id
    FROM child CROSS JOIN LATERAL (
        SELECT referrer.id, referrer.cluster_id, referrer.api_group, referrer.kind, referrer.namespace, referrer.name
        FROM {edge} edge
        JOIN {resource} referrer ON referrer.id = edge.source_id AND referrer.deleted_at IS NULL
        WHERE edge.cluster_id = child.cluster_id AND edge.target_kind = child.kind
            AND edge.target_namespace = child.namespace AND edge.target_name = child.name
            AND edge.target_group = child.api_group AND edge.relation IN ('{composes}', '{claims}')
        UNION
        SELECT owner.id, owner.cluster_id, owner.api_group, owner.kind, owner.namespace, owner.name
        FROM {edge} edge
        JOIN {resource} owner
            ON owner.cluster_id = edge.cluster_id AND owner.uid = edge.target_uid AND owner.deleted_at IS NULL
        WHERE edge.source_id = child.id AND edge.relation = '{owned_by}'
    ) above
    WHERE child.depth < %(max_depth)s AND above.id <> ALL(child.path)
)
SELECT DISTINCT id FROM child WHERE depth > 0
""")


@dataclass
class TreeNode:
    """One resource in a tree, with the relation that attaches it to its parent ("" for the root)."""

    resource: Resource
    relation: str = ""
    children: list[TreeNode] = field(default_factory=list)

    def walk(self, depth: int = 0) -> Iterable[tuple[int, TreeNode]]:
        """(depth, node) for this node and everything below it, depth first, children in id order."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


def resource_tree(root: Resource, *, max_depth: int = MAX_DEPTH, visible: QuerySet[Resource] | None = None) -> TreeNode:
    """The tree below `root` for display, in two queries whatever its size.

    A resource reachable along several paths appears once, at its shallowest place. With `visible` (a restricted
    queryset), members outside it are left out with everything below them. The members are fetched without
    HEAVY_FIELDS; the root is the object given.
    """
    with connection.cursor() as cursor:
        cursor.execute(_TREE_SQL, {"roots": [root.pk], "max_depth": max_depth})
        rows = cursor.fetchall()
    member_ids = {row[0] for row in rows if row[0] != root.pk}
    members = (visible if visible is not None else Resource.objects.all()).filter(pk__in=member_ids)
    fetched = {resource.pk: resource for resource in members.defer(*HEAVY_FIELDS)} if member_ids else {}
    nodes = {root.pk: TreeNode(root)}
    for child_id, parent_id, relation, _depth in rows:  # by depth: every parent is placed before its children
        if child_id in nodes or parent_id not in nodes or child_id not in fetched:
            continue
        node = TreeNode(fetched[child_id], relation)
        nodes[parent_id].children.append(node)
        nodes[child_id] = node
    return nodes[root.pk]


def rollup(resource_ids: Iterable[int], *, max_depth: int = MAX_DEPTH) -> int:
    """Write `tree_health`, `failing` and `failing_message` of the given live resources; returns rows written.

    Composites, claims and any resource with children are rolled up over their tree (themselves included); the
    others get no rollup ("" and NULL). Tombstones keep what they had. Rows already right are not written.
    """
    ids = sorted(set(resource_ids))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_ROLLUP_SQL, {"roots": ids, "max_depth": max_depth})
        return cursor.rowcount


def ancestors(resource_ids: Iterable[int], *, max_depth: int = MAX_DEPTH) -> set[int]:
    """Ids of the live resources above the given ones (tombstones included as starting points), at any depth.

    A given resource is in the result only when it is above another given one: a walk never comes back to where it
    started, so a cycle ends. The sync engine rolls up `changed | ancestors(changed)` after a batch. Edges of a
    tombstone must still exist when this runs, or the owners it named are not found.
    """
    ids = sorted(set(resource_ids))
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_ANCESTORS_SQL, {"ids": ids, "max_depth": max_depth})
        return {row[0] for row in cursor.fetchall()}
