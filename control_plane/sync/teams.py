"""Which team owns a synced row, decided in SQL when the row is written and again when ownership changes.

The owner is the team owning the row's namespace; for a cluster-scoped object a claim created, the team owning the
claim's namespace (Crossplane's `crossplane.io/claim-namespace` label); else the team the `devplat.io/team` label
names. Deciding in the writing statement, not from a cache in the worker, means a row is never written with an
ownership that changed a moment ago; `retag_namespace` fixes rows already written when an ownership changes.
"""

from __future__ import annotations

from django.db import connection

TEAM_LABEL = "devplat.io/team"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"


def team_expression(row: str) -> str:
    """A SQL expression for the owning team's id of the row aliased `row` (it needs `namespace` and `labels`)."""
    return (
        "COALESCE("  # noqa: S608 (an alias and constants, no input)
        f"(SELECT o.team_id FROM identity_namespaceownership o WHERE o.namespace = {row}.namespace "
        f"AND {row}.namespace <> ''), "
        f"(SELECT o.team_id FROM identity_namespaceownership o WHERE {row}.namespace = '' "
        f"AND o.namespace = {row}.labels ->> '{CLAIM_NAMESPACE_LABEL}'), "
        f"(SELECT t.id FROM identity_team t WHERE t.name = {row}.labels ->> '{TEAM_LABEL}'))"
    )


def retag_namespace(namespace: str) -> int:
    """Re-derive the team of every live row in `namespace`, or created by a claim in it; returns rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE control_plane_resource r SET team_id = {team_expression('r')} "  # noqa: S608 (constant SQL)
            "WHERE r.deleted_at IS NULL AND (r.namespace = %s OR (r.namespace = '' AND r.labels @> %s::jsonb)) "
            f"AND r.team_id IS DISTINCT FROM {team_expression('r')}",
            [namespace, f'{{"{CLAIM_NAMESPACE_LABEL}": "{namespace}"}}'],
        )
        return cursor.rowcount


def retag_team_label(team_name: str) -> int:
    """Re-derive the team of live rows labelled `devplat.io/team: <team_name>` (the team was created or renamed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE control_plane_resource r SET team_id = {team_expression('r')} "  # noqa: S608 (constant SQL)
            "WHERE r.deleted_at IS NULL AND r.labels @> %s::jsonb "
            f"AND r.team_id IS DISTINCT FROM {team_expression('r')}",
            [f'{{"{TEAM_LABEL}": "{team_name}"}}'],
        )
        return cursor.rowcount
