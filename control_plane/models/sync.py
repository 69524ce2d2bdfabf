"""The sync ledger: one row per list, relist or watch window of a resource type."""

from __future__ import annotations

from django.db import models

from control_plane.choices import SyncModeChoices
from control_plane.querysets import SyncRunQuerySet


class SyncRun(models.Model):
    """What one list or watch window did: counts, duration and the error that ended it, if any.

    `repaired` counts rows a periodic resync found wrong in the database (missing, stale or wrongly tombstoned),
    which should be 0 while the watch path works.
    """

    cluster = models.ForeignKey("control_plane.Cluster", on_delete=models.CASCADE, related_name="sync_runs")
    resource_type = models.ForeignKey(
        "control_plane.ResourceType", on_delete=models.CASCADE, null=True, blank=True, related_name="sync_runs"
    )
    mode = models.CharField(max_length=16, choices=SyncModeChoices.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.IntegerField(default=0)
    modified = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    repaired = models.IntegerField(default=0)
    error = models.TextField(blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["cluster", "-started_at"], name="syncrun_cluster_recent")]

    def __str__(self) -> str:
        return f"{self.mode} {self.resource_type_id or self.cluster_id} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
