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
    return _retag(
        "r.namespace = %s OR (r.namespace = '' AND r.labels @> %s::jsonb)",
        [namespace, f'{{"{CLAIM_NAMESPACE_LABEL}": "{namespace}"}}'],
    )


def retag_team_label(team_name: str) -> int:
    """Re-derive the team of live rows labelled `devplat.io/team: <team_name>` (the team was created or renamed)."""
    return _retag("r.labels @> %s::jsonb", [f'{{"{TEAM_LABEL}": "{team_name}"}}'])


class TeamSnapshot:
    """`team_expression` evaluated in Python from one read of the ownership tables, for inserting a first list's
    rows with COPY (which cannot evaluate SQL). The expression stays the rule: a list that inserted this way ends
    with `retag_type`, which corrects any row whose ownership changed while the list ran."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT namespace, team_id FROM identity_namespaceownership")
            self.owners: dict[str, int] = dict(cursor.fetchall())
            cursor.execute("SELECT name, id FROM identity_team")
            self.teams: dict[str, int] = dict(cursor.fetchall())
        self.used = False

    def team_for(self, namespace: str, labels: dict[str, str]) -> int | None:
        owner = self.owners.get(namespace) if namespace else self.owners.get(labels.get(CLAIM_NAMESPACE_LABEL) or "")
        if owner is None:
            owner = self.teams.get(labels.get(TEAM_LABEL) or "")
        return owner


def retag_type(resource_type_id: int) -> int:
    """Re-derive the team of the type's live rows where it differs from `team_expression`; returns rows changed."""
    return _retag("r.resource_type_id = %s", [resource_type_id])


def _retag(where: str, params: list[str | int]) -> int:
    """Set `team_expression` on the live rows matching `where` (SQL over alias `r`) where it differs, and on their
    change-feed entries: a resource's history is seen by whoever may see the resource. Returns rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH changed AS (UPDATE control_plane_resource r SET team_id = {team_expression('r')} "  # noqa: S608
            f"WHERE r.deleted_at IS NULL AND ({where}) AND r.team_id IS DISTINCT FROM {team_expression('r')} "
            "RETURNING r.id, r.team_id), "
            "history AS (UPDATE control_plane_resourcechange c SET team_id = changed.team_id FROM changed "
            "WHERE c.resource_id = changed.id AND c.team_id IS DISTINCT FROM changed.team_id) "
            "SELECT count(*) FROM changed",
            params,
        )
        return int(cursor.fetchone()[0])
