"""Indexes and statistics the inventory API's queries need at a million rows (issue 5), measured on 1M resources:

- `resource_name_trgm_live`: a trigram GIN index on live names, for `q=` (words anywhere in the name: 800 ms -> 7 ms)
  and `name=` without a kind (a scan of the whole ref index: 136 ms -> 12 ms). pg_trgm is a trusted extension.
- `resource_failing_trees_live`: the few roots whose tree is degraded or progressing, for the failing trees of
  `health/` (a sequential scan: 470 ms -> under 1 ms). Small, since healthy trees are not in it.
- `resource_kind_ns_stats`: extended statistics on (cluster, kind, namespace). Kinds and namespaces are correlated
  (a namespace holds a few kinds), so the planner, multiplying their selectivities, expects a handful of rows,
  sorts a bitmap scan of all of them and pays for every heap row; with these it walks (kind, namespace, id) in id
  order and stops at the page (100 ms -> 2 ms for a page of 100 of 5,000 rows).

Raw SQL, so the model state is unchanged (the indexes are the API's, not the model's invariants), built
CONCURRENTLY so an upgrade does not block the sync's writes while a large table is indexed.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TABLE = "control_plane_resource"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("control_plane", "0003_sync_tick_schedule")]

    operations = [
        TrigramExtension(),
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS resource_name_trgm_live ON {TABLE} "
            "USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS resource_name_trgm_live",
        ),
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS resource_failing_trees_live ON {TABLE} (tree_health, id) "
            "WHERE deleted_at IS NULL AND tree_health IN ('degraded', 'progressing')",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS resource_failing_trees_live",
        ),
        migrations.RunSQL(
            f"CREATE STATISTICS IF NOT EXISTS resource_kind_ns_stats (ndistinct, dependencies) "
            f"ON cluster_id, kind, namespace FROM {TABLE}",
            reverse_sql="DROP STATISTICS IF EXISTS resource_kind_ns_stats",
        ),
    ]
