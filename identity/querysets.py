"""Who may see and change identity objects, as `restrict()` rules (see devplat.core.querysets)."""

from __future__ import annotations

from typing import Any, Self

from django.db.models import Q
from django.utils import timezone

from devplat.core.querysets import RestrictedQuerySet


class TeamQuerySet(RestrictedQuerySet):
    """Guardian object permissions: `view_team` through the team's group, `change_team` for team admins."""

    def restrict_for(self, user: Any, action: str) -> Self:
        if action == "add":
            return self.none()  # only platform admins create teams
        return super().restrict_for(user, action)


class MembershipQuerySet(RestrictedQuerySet):
    """Members of a team are visible to its members and managed by its admins."""

    def restrict_for(self, user: Any, action: str) -> Self:
        from identity.models import Team

        teams = Team.objects.restrict(user, "view" if action == "view" else "change")
        return self.filter(team__in=teams)


class NamespaceOwnershipQuerySet(RestrictedQuerySet):
    """Visible to the owning team's members; only platform admins assign namespaces (they decide who sees what)."""

    def restrict_for(self, user: Any, action: str) -> Self:
        from identity.models import Team

        if action != "view":
            return self.none()
        return self.filter(team__in=Team.objects.restrict(user, "view"))


class ApiTokenQuerySet(RestrictedQuerySet):
    """A user's own tokens, plus the tokens of the service accounts of teams the user administers."""

    def restrict_for(self, user: Any, action: str) -> Self:
        from identity.models import Team

        administered = Team.objects.restrict(user, "change").values("service_account_id")
        return self.filter(Q(owner=user) | Q(owner__in=administered))

    def active(self) -> Self:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
