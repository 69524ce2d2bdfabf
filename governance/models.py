"""The audit log (one row per change, written in the change's own transaction, append-only and hash-chained) and
admission policies."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from devplat.core.actor import Face
from devplat.core.validators import DNS_LABEL, dns_label
from governance.choices import PolicyModeChoices


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


# What each target list holds, how to recognise it and how to say so.
_TARGETS = {
    "capabilities": (re.compile(rf"{DNS_LABEL}(\.{DNS_LABEL})+"), "an XRD name (databases.platform.devplat.io)"),
    "kinds": (re.compile(r"[A-Z][A-Za-z0-9]{0,62}"), "a kind in CamelCase (Database)"),
    "teams": (re.compile(DNS_LABEL), "a team name, a DNS label (payments)"),
    "environments": (re.compile(DNS_LABEL), "an environment name, a DNS label (prod)"),
}


def _targets(max_length: int, help_text: str) -> ArrayField:
    return ArrayField(models.CharField(max_length=max_length), blank=True, default=list, help_text=help_text)


class Policy(models.Model):
    """An admission rule: a CEL expression over `object` (the composite being requested) and `context` (team,
    environment, actor, capability, kind) that is true when the object is allowed.

    It applies to a request when every non-empty target list contains the request's value; an empty list means
    all. The expression is compiled (and checked) in clean(), so the admin, the API and the services refuse one
    that cannot run; see governance.policies.expressions for the language and its limits.
    """

    name = models.CharField(max_length=63, unique=True, validators=[dns_label])
    description = models.TextField(blank=True)
    expression = models.TextField(
        help_text="CEL over `object` and `context`; true means allowed. "
        "E.g. has(object.spec.backups) && object.spec.backups.enabled == true"
    )
    message = models.CharField(max_length=500, help_text="Shown to the requester when the expression is false.")
    mode = models.CharField(
        max_length=16,
        choices=PolicyModeChoices.choices,
        default=PolicyModeChoices.ENFORCE,
        help_text="enforce denies the request, warn lets it through with a warning, audit only records.",
    )
    capabilities = _targets(253, "XRD names, e.g. databases.platform.devplat.io; empty means all.")
    kinds = _targets(63, "Composite kinds, e.g. Database; empty means all.")
    teams = _targets(63, "Team names; empty means all.")
    environments = _targets(63, "Environments, e.g. prod; empty means all.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Imported here: the governance.policies package imports this module.
        from governance.policies.expressions import CompileError, compile_expression

        errors: dict[str, Any] = {}
        if self.expression:
            try:
                compile_expression(self.expression)
            except CompileError as error:
                errors["expression"] = str(error)
        for field, (pattern, what) in _TARGETS.items():
            values = list(dict.fromkeys(value.strip() for value in getattr(self, field) or ()))
            bad = [value for value in values if not pattern.fullmatch(value)]
            if bad:
                errors[field] = f"{', '.join(map(repr, bad))}: each entry must be {what}."
            setattr(self, field, values)
        if errors:
            raise ValidationError(errors)

    def target_mismatches(self, *, capability: str, kind: str, team: str, environment: str) -> list[str]:
        """Why the policy does not apply to a request (one reason per target it misses); empty when it applies."""
        requested = {"capabilities": capability, "kinds": kind, "teams": team, "environments": environment}
        return [
            f"it targets {field} {', '.join(targets)}, not {requested[field] or '(none)'}"
            for field in _TARGETS
            if (targets := getattr(self, field)) and requested[field] not in targets
        ]

    def targets_summary(self) -> str:
        """`kinds=Database environments=prod`, or `all`."""
        parts = [f"{field}={','.join(values)}" for field in _TARGETS if (values := getattr(self, field))]
        return " ".join(parts) or "all"
