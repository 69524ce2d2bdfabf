from django.db import models


class PolicyModeChoices(models.TextChoices):
    """What a violated policy does at admission: `enforce` denies, `warn` lets it through with a warning, `audit`
    only records (compliance reports it; the requester sees nothing)."""

    ENFORCE = "enforce", "Enforce"
    WARN = "warn", "Warn"
    AUDIT = "audit", "Audit"
