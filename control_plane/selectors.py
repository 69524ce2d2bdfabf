"""Permission-checked cluster lookups shared by the API, the CLI and the admin."""

from __future__ import annotations

from typing import Any

from control_plane.models import Cluster
from devplat.core.errors import NotFound
from devplat.core.querysets import require_platform_admin


def cluster_for(user: Any, name: str) -> Cluster:
    """The cluster named `name`, if `user` may see it (every signed-in user may)."""
    cluster = Cluster.objects.restrict(user, "view").filter(name=name).first()
    if cluster is None:
        raise NotFound(f"No cluster named {name!r}. List them with `devplat clusters list`.")
    return cluster


__all__ = ["cluster_for", "require_platform_admin"]
