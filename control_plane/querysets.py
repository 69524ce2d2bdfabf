"""Who may see and change control-plane objects, as `restrict()` rules (see devplat.core.querysets)."""

from __future__ import annotations

from typing import Any, Self

from control_plane.choices import RequestStatusChoices
from devplat.core.querysets import RestrictedQuerySet


class ClusterQuerySet(RestrictedQuerySet):
    """Every signed-in user sees the registered clusters; only platform admins (handled by `restrict`) change them."""

    def restrict_for(self, user: Any, action: str) -> Self:
        return self if action == "view" else self.none()


class ResourceTypeQuerySet(ClusterQuerySet):
    """Like clusters: what is synced, and how well, is visible to every signed-in user; admins change it."""


class SyncRunQuerySet(ClusterQuerySet):
    """The sync ledger is part of a cluster's sync state: visible like clusters and resource types."""


class TeamOwnedQuerySet(RestrictedQuerySet):
    """Inventory rows are seen through their team (namespace ownership, or the `devplat.io/team` label): the teams
    `Team.objects.restrict(user, "view")` gives, read first and filtered as values (`team_id IN (3, 7)`), so the
    planner weighs the rows of those teams, not of an unknown subquery. Rows no team owns are for platform admins
    only. Nobody but the sync writes them."""

    def restrict_for(self, user: Any, action: str) -> Self:
        from identity.models import Team

        if action != "view":
            return self.none()
        teams = Team.objects.granted_pks(user, "view")  # what TeamQuerySet.restrict_for(user, "view") filters on
        return self.filter(team__isnull=False) if teams is None else self.filter(team_id__in=teams)


class ResourceQuerySet(TeamOwnedQuerySet):
    def live(self) -> Self:
        return self.filter(deleted_at__isnull=True)


class ResourceChangeQuerySet(TeamOwnedQuerySet):
    pass


class ProvisioningRequestQuerySet(RestrictedQuerySet):
    """A request is seen by its team's members and written by its developers and admins (the team's service
    account is a developer); viewers only read. Platform admins do anything (handled by `restrict`)."""

    def restrict_for(self, user: Any, action: str) -> Self:
        from identity.choices import PROVISIONING_ROLES
        from identity.models import Membership, Team

        if action == "view":
            teams = Team.objects.granted_pks(user, "view")
            return self.all() if teams is None else self.filter(team_id__in=teams)
        writers = Membership.objects.filter(user=user, role__in=PROVISIONING_ROLES).values("team_id")
        return self.filter(team_id__in=writers)

    def live(self) -> Self:
        return self.exclude(status=RequestStatusChoices.DELETED)
