"""The audit log: one row per change, written in the change's own transaction, append-only and hash-chained."""

from __future__ import annotations

from django.db import models

from devplat.core.actor import Face


class AuditEvent(models.Model):
    """An append-only record of one change made through any face.

    The database refuses UPDATE and DELETE on this table (a trigger, see the migration). Rows carry a contiguous
    sequence number and a hash over their content and the previous row's hash, so `devplat audit verify` can name
    the first altered or removed row even when someone bypassed the trigger.
    Actors and targets are stored by value, not by foreign key: the log outlives what it describes.
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    time = models.DateTimeField(db_index=True, editable=False)
    actor_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True, editable=False)
    actor_token = models.CharField(max_length=32, blank=True, editable=False, help_text="Key id of the API token used.")
    face = models.CharField(max_length=16, choices=Face.CHOICES, editable=False)
    action = models.CharField(max_length=64, db_index=True, editable=False)
    target_type = models.CharField(max_length=64, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_repr = models.CharField(max_length=200, blank=True, editable=False)
    before = models.JSONField(null=True, blank=True, editable=False)
    after = models.JSONField(null=True, blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_repr}".strip()
