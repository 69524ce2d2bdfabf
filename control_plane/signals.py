"""Cross-cutting reactions: synced rows follow namespace ownership and team names as they change."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from control_plane.sync.teams import retag_namespace, retag_team_label
from identity.models import NamespaceOwnership, Team


@receiver([post_save, post_delete], sender=NamespaceOwnership, dispatch_uid="control_plane.retag_namespace")
def _namespace_ownership_changed(instance: NamespaceOwnership, **kwargs: Any) -> None:
    retag_namespace(instance.namespace)


@receiver([post_save, post_delete], sender=Team, dispatch_uid="control_plane.retag_team_label")
def _team_changed(instance: Team, **kwargs: Any) -> None:
    retag_team_label(instance.name)
