"""Who may see and change control-plane objects, as `restrict()` rules (see devplat.core.querysets)."""

from __future__ import annotations

from typing import Any, Self

from devplat.core.querysets import RestrictedQuerySet


class ClusterQuerySet(RestrictedQuerySet):
    """Every signed-in user sees the registered clusters; only platform admins (handled by `restrict`) change them."""

    def restrict_for(self, user: Any, action: str) -> Self:
        return self if action == "view" else self.none()
