"""Permission-filtered querysets: every user-facing read goes through `restrict(user, action)`.

Modelled on NetBox's `RestrictedQuerySet`. Platform admins (active staff) see everything; anonymous or inactive
users see nothing; everyone else sees what `restrict_for` allows, which by default is what django-guardian grants
(object permissions on the user or their teams' groups, and global model permissions).
"""

from __future__ import annotations

from typing import Any, Self, cast

from django.db import models
from guardian.shortcuts import get_objects_for_user

from devplat.core.errors import Forbidden

ACTIONS = ("view", "add", "change", "delete")


def is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user: Any, action: str = "view") -> Self:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
        if is_platform_admin(user):
            return self
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.restrict_for(user, action)

    def restrict_for(self, user: Any, action: str) -> Self:
        """What a signed-in, non-admin user may `action`; models override this with their ownership rule."""
        opts = self.model._meta
        perm = f"{opts.app_label}.{action}_{opts.model_name}"
        if user.has_perm(perm):
            # A model-wide grant (to the user or one of their groups) covers every row. Checked here because
            # guardian ignores `accept_global_perms` when `with_superuser=False`.
            return self
        return cast(Self, get_objects_for_user(user, perm, klass=self, accept_global_perms=False, with_superuser=False))


RestrictedManager = models.Manager.from_queryset(RestrictedQuerySet)


def require_platform_admin(user: Any, doing: str) -> None:
    """Raise Forbidden unless `user` is a platform admin; `doing` completes "Only platform admins ..."."""
    if not is_platform_admin(user):
        raise Forbidden(f"Only platform admins {doing}.")
