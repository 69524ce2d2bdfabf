"""Teams, memberships, namespace ownership and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from devplat.core.validators import dns_label
from identity.choices import SCOPE_RANK, MembershipRoleChoices, TokenScopeChoices
from identity.querysets import ApiTokenQuerySet, MembershipQuerySet, NamespaceOwnershipQuerySet, TeamQuerySet


class Team(models.Model):
    """A group of people who own namespaces and what runs in them.

    Backed by a Django group: permissions are granted to the group, so adding a member is one group membership.
    """

    name = models.CharField(max_length=63, unique=True, validators=[dns_label])
    display_name = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team", editable=False)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="service_account_team",
        help_text="The user that owns the team's own API tokens, created on first use.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key permission table (guardian): per-user permissions on a team, indexed and joinable."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)


class TeamGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key permission table (guardian): per-group permissions on a team."""

    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)


class Membership(models.Model):
    """A user's role in a team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(
        max_length=16, choices=MembershipRoleChoices.choices, default=MembershipRoleChoices.DEVELOPER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class NamespaceOwnership(models.Model):
    """A Kubernetes namespace name belongs to one team; synced resources in it are that team's."""

    namespace = models.CharField(max_length=63, unique=True, validators=[dns_label])
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="namespaces")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NamespaceOwnershipQuerySet.as_manager()

    class Meta:
        ordering = ["namespace"]
        verbose_name_plural = "namespace ownerships"

    def __str__(self) -> str:
        return f"{self.namespace} -> {self.team}"


class ApiToken(models.Model):
    """An API token for agents and scripts: `dp_<key_id>_<secret>`, shown once and never stored.

    Only the key id and an HMAC-SHA256 digest of the secret under a versioned pepper are kept; the check
    constraint admits nothing but a 64-character hex digest, so a plaintext secret cannot be stored.
    """

    key_id = models.CharField(max_length=32, unique=True, editable=False)
    pepper_id = models.PositiveSmallIntegerField(editable=False)
    digest = models.CharField(max_length=64, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    scope = models.CharField(max_length=16, choices=TokenScopeChoices.choices, default=TokenScopeChoices.READ)
    description = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(condition=models.Q(digest__regex=r"^[0-9a-f]{64}$"), name="apitoken_digest_only"),
            models.CheckConstraint(condition=models.Q(key_id__regex=r"^[0-9a-f]{16}$"), name="apitoken_key_id_hex"),
        ]

    def __str__(self) -> str:
        return f"dp_{self.key_id}_… ({self.owner})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def allows(self, scope: str) -> bool:
        return SCOPE_RANK[TokenScopeChoices(self.scope)] >= SCOPE_RANK[TokenScopeChoices(scope)]
