"""Self-service provisioning: what a developer asked for, where devplat applied it, and how far it got."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from control_plane.choices import EnvironmentChoices, RequestStatusChoices
from control_plane.models.inventory import Resource
from control_plane.querysets import ProvisioningRequestQuerySet, ResourceQuerySet


class ProvisioningRequest(models.Model):
    """One capability instance requested through devplat (CLI, API or admin), e.g. the Database `orders-db` of team
    checkout in its namespace on cluster `prod`.

    `parameters` are what the requester gave; `rendered` is the composite exactly as devplat applied it (defaults
    filled in), so an update re-applies the whole desired object and server-side apply removes what was dropped.
    The composite itself lives in the cluster; the sync brings it back as a `Resource` (found by `resource_uid`),
    whose health says how far Crossplane got. A request that depends on others waits (`waiting_for` says for what)
    until they are Ready and their connection secrets exist.
    """

    team = models.ForeignKey("identity.Team", on_delete=models.PROTECT, related_name="provisioning_requests")
    cluster = models.ForeignKey("control_plane.Cluster", on_delete=models.CASCADE, related_name="provisioning_requests")
    capability = models.CharField(max_length=253, help_text="The XRD's name: plural.group.")
    api_version = models.CharField(max_length=316)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=63)
    environment = models.CharField(max_length=16, choices=EnvironmentChoices.choices, default=EnvironmentChoices.DEV)
    parameters = models.JSONField(default=dict, blank=True)
    rendered = models.JSONField(default=dict, blank=True, editable=False)
    depends_on = models.ManyToManyField("self", symmetrical=False, related_name="dependents", blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatusChoices.choices, default=RequestStatusChoices.WAITING, editable=False
    )
    status_message = models.TextField(blank=True, editable=False)
    waiting_for = models.JSONField(default=list, blank=True, editable=False)
    warnings = models.JSONField(default=list, blank=True, editable=False)
    connection_secret = models.CharField(
        max_length=253, blank=True, editable=False, help_text="The Secret dependents wait for; empty when none."
    )
    resource_uid = models.CharField(max_length=64, blank=True, editable=False)
    applied_generation = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="metadata.generation of the composite devplat last applied."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    idempotency_key = models.CharField(max_length=255, blank=True, editable=False)
    request_digest = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ProvisioningRequestQuerySet.as_manager()

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "capability", "namespace", "name"],
                condition=~Q(status=RequestStatusChoices.DELETED),
                name="provisioning_request_unique_live_name",
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="provisioning_request_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="provisioning_request_status")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.namespace})"

    @property
    def reference(self) -> str:
        """How people and `--depends-on` name it: Kind/name."""
        return f"{self.kind}/{self.name}"


XRD_GROUP = "apiextensions.crossplane.io"
XRD_KIND = "CompositeResourceDefinition"


class CapabilityManager(models.Manager.from_queryset(ResourceQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> ResourceQuerySet:
        return super().get_queryset().filter(api_group=XRD_GROUP, kind=XRD_KIND)


class Capability(Resource):
    """The operator console's view of what the platform offers: the synced XRDs (a proxy of their inventory rows)."""

    objects = CapabilityManager()

    class Meta:
        proxy = True
        verbose_name_plural = "capabilities"
