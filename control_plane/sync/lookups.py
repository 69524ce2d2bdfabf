"""What deriving a row needs to know beyond the object: which kinds of the cluster are namespaced.

Loaded once per window and again on discovery, so deriving a row's references costs dictionary lookups.
"""

from __future__ import annotations

from control_plane.models import ResourceType


class Lookups:
    """Namespaced-ness of the cluster's kinds, as a plain dictionary."""

    def __init__(self, cluster_id: int) -> None:
        self.cluster_id = cluster_id
        self._namespaced: dict[tuple[str, str], bool] = {}
        self.refresh()

    def refresh(self) -> None:
        types = ResourceType.objects.filter(cluster_id=self.cluster_id).exclude(kind="")
        self._namespaced = {
            (group, kind): namespaced for group, kind, namespaced in types.values_list("group", "kind", "namespaced")
        }

    def namespaced(self, group: str, kind: str) -> bool | None:
        return self._namespaced.get((group, kind))
