"""The cluster registry: the Kubernetes clusters devplat watches and provisions into."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from control_plane import credentials
from control_plane.choices import ClusterAuthMethodChoices
from control_plane.kube.credentials import ClusterCredentials
from control_plane.querysets import ClusterQuerySet
from devplat.core.validators import dns_label

# Kubernetes label syntax: an optional DNS-subdomain prefix and "/", a name of up to 63 characters; values likewise.
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# What `credentials.encrypt` produces: a Fernet token (version byte 0x80 and a timestamp, url-safe base64).
FERNET_TOKEN_REGEX = r"^gAAAAA[A-Za-z0-9_-]+=*$"  # noqa: S105 (a pattern, not a secret)


def validate_labels(value: Any) -> None:
    """Labels are a flat mapping of Kubernetes-style keys to short string values, as on Kubernetes objects."""
    if not isinstance(value, dict):
        raise ValidationError('Labels are a mapping of keys to values, like {"env": "prod"}.')
    for key, label in value.items():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.match(name) or (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix))):
            raise ValidationError(
                f"Label key {key!r} is not a Kubernetes label key: an optional DNS prefix and '/', then up to 63 "
                "letters, digits, '-', '_' or '.', starting and ending with a letter or digit."
            )
        if not isinstance(label, str) or (label and not _LABEL_NAME.match(label)):
            raise ValidationError(
                f"Label {key!r} has a value that is not a Kubernetes label value: a string of up to 63 letters, "
                "digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)."
            )


class Cluster(models.Model):
    """A Kubernetes cluster registered by a platform admin.

    The credentials are stored only as a Fernet token under keys from the environment (R16); the check constraint
    admits nothing else, so plaintext credentials cannot be stored. `server` repeats the URL inside them for display
    and filtering. The version fields and `last_contact_at` record the most recent successful probe.
    """

    name = models.CharField(max_length=63, unique=True, validators=[dns_label])
    server = models.CharField(max_length=2048, help_text="The Kubernetes API server URL (https).")
    auth_method = models.CharField(max_length=32, choices=ClusterAuthMethodChoices.choices, editable=False)
    credentials_ciphertext = models.TextField(
        editable=False, help_text="The credentials, encrypted with DEVPLAT_CLUSTER_KEYS (a Fernet token)."
    )
    enabled = models.BooleanField(default=True, help_text="Disabled clusters are neither synced nor provisioned into.")
    labels = models.JSONField(default=dict, blank=True, validators=[validate_labels])
    last_contact_at = models.DateTimeField(null=True, blank=True, editable=False)
    kubernetes_version = models.CharField(max_length=64, blank=True, editable=False)
    crossplane_version = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Empty when Crossplane was not found (or never probed)."
    )
    last_error = models.TextField(blank=True, editable=False, help_text="Why the most recent probe failed.")
    lease_epoch = models.BigIntegerField(
        default=0,
        editable=False,
        help_text="Bumped each time a sync worker takes the cluster's lease; every sync write checks it (fencing).",
    )
    lease_holder = models.CharField(max_length=200, blank=True, editable=False)
    lease_acquired_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credentials_ciphertext__regex=FERNET_TOKEN_REGEX),
                name="cluster_credentials_fernet_only",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def credentials(self) -> ClusterCredentials:
        """The decrypted credentials, for the Kubernetes client only: never log, display or serialize them."""
        return credentials.decrypt(self.credentials_ciphertext)
