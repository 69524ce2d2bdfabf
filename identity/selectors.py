"""Permission-checked lookups shared by the API, the CLI and the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from devplat.core.errors import Forbidden, NotFound
from devplat.core.querysets import require_platform_admin
from identity.models import Team


def team_for(user: Any, name: str, action: str = "view") -> Team:
    """The team named `name` if `user` may `action` it: NotFound when they may not see it, Forbidden otherwise."""
    team = Team.objects.restrict(user, "view").filter(name=name).first()
    if team is None:
        raise NotFound(f"No team named {name!r} that you can see. List yours with `devplat teams list`.")
    if action != "view" and not Team.objects.restrict(user, action).filter(pk=team.pk).exists():
        raise Forbidden(f"You are not an admin of team {name!r}; ask one of its admins or a platform admin.")
    return team


def user_named(username: str) -> User:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(
            f"No user named {username!r}. Users are created in the admin or with `manage.py createsuperuser`."
        )
    return user


__all__ = ["require_platform_admin", "team_for", "user_named"]
