"""The inventory: what the sync operator found in each cluster, kept in PostgreSQL for the API, CLI and admin.

Rows are written only by the sync engine (`control_plane.sync.writer`), in bulk, keyed by (cluster, uid): a name is
reused when an object is deleted and created again, a uid never is. Everything a query filters on (kind,
namespace, health, readiness, team, labels) is a column or a jsonb with its own index, derived when the row is
written, so no read has to parse the stored object.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models

from control_plane.choices import (
    ChangeTypeChoices,
    DeletedReasonChoices,
    EdgeRelationChoices,
    HealthChoices,
    ResourceCategoryChoices,
    ResourceTypeSourceChoices,
)
from control_plane.querysets import ResourceChangeQuerySet, ResourceQuerySet, ResourceTypeQuerySet

LIVE = models.Q(deleted_at__isnull=True)


class ResourceType(models.Model):
    """One resource type of one cluster (`deployments.apps`), with the state of its sync.

    `cursor` is the resourceVersion the next watch starts from; it is written in the same transaction as the rows
    it covers, so after a crash the sync resumes exactly where its last commit left off. Empty means "list first".
    `last_event_at` is when the watch last brought anything (an event or a bookmark): its liveness.
    """

    cluster = models.ForeignKey("control_plane.Cluster", on_delete=models.CASCADE, related_name="resource_types")
    group = models.CharField(max_length=253, blank=True)
    version = models.CharField(max_length=63)
    kind = models.CharField(max_length=100)
    plural = models.CharField(max_length=100)
    namespaced = models.BooleanField()
    category = models.CharField(max_length=16, choices=ResourceCategoryChoices.choices)
    source = models.CharField(
        max_length=16, choices=ResourceTypeSourceChoices.choices, default=ResourceTypeSourceChoices.DISCOVERED
    )
    watched = models.BooleanField(default=True, help_text="Operators exclude a type by unsetting this.")
    served = models.BooleanField(default=True, help_text="False once the cluster's discovery no longer lists it.")
    cursor = models.CharField(max_length=64, blank=True, editable=False)
    last_list_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_event_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_resync_at = models.DateTimeField(null=True, blank=True, editable=False)
    lag_ms = models.IntegerField(
        null=True, blank=True, editable=False, help_text="Received-to-committed delay of the newest event batch."
    )
    object_count = models.IntegerField(default=0, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    error_count = models.IntegerField(default=0, editable=False, help_text="Consecutive failures; 0 when healthy.")
    backoff_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResourceTypeQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "group", "plural"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "group", "plural"], name="resourcetype_unique_per_cluster")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.cluster_id and self.cluster})"

    @property
    def key(self) -> str:
        """`plural.group`, as kubectl spells a type (`deployments.apps`, `configmaps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class Resource(models.Model):
    """One Kubernetes object as last seen, or a tombstone (`deleted_at`) once it is gone.

    Never holds Secret values, `managedFields` or the last-applied annotation (`control_plane.sync.sanitize`).
    `health` is this object's own; `tree_health` rolls a composite or claim up over everything it composes, and
    `failing` names the deepest failing resource in that tree with its condition message.
    """

    # No single-column indexes where a composite one starts with the column: every index slows the bulk writes.
    cluster = models.ForeignKey(
        "control_plane.Cluster", on_delete=models.CASCADE, related_name="resources", db_index=False
    )
    resource_type = models.ForeignKey(ResourceType, on_delete=models.CASCADE, related_name="resources")
    uid = models.CharField(max_length=64)
    api_group = models.CharField(max_length=253, blank=True)
    api_version = models.CharField(max_length=316)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=63, blank=True)
    name = models.CharField(max_length=253)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    spec = models.JSONField(null=True, blank=True)
    status = models.JSONField(null=True, blank=True)
    owner_references = models.JSONField(default=list, blank=True)
    finalizers = models.JSONField(default=list, blank=True)
    deleting_since = models.DateTimeField(
        null=True, blank=True, help_text="metadata.deletionTimestamp: deletion asked, finalizers still pending."
    )
    resource_version = models.CharField(max_length=64)
    generation = models.BigIntegerField(null=True, blank=True)
    observed_generation = models.BigIntegerField(null=True, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    ready = models.BooleanField(null=True, blank=True)
    synced = models.BooleanField(null=True, blank=True)
    health = models.CharField(max_length=16, choices=HealthChoices.choices, default=HealthChoices.UNKNOWN)
    health_reason = models.TextField(blank=True)
    tree_health = models.CharField(max_length=16, choices=HealthChoices.choices, blank=True)
    failing = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    failing_message = models.TextField(blank=True)
    team = models.ForeignKey(
        "identity.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    content_hash = models.CharField(max_length=32)
    created_at_k8s = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_reason = models.CharField(max_length=16, choices=DeletedReasonChoices.choices, blank=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["cluster", "uid"], name="resource_unique_uid_per_cluster")]
        indexes = [
            models.Index(fields=["cluster", "kind", "namespace", "id"], name="resource_kind_ns_live", condition=LIVE),
            models.Index(fields=["kind", "namespace", "id"], name="resource_kind_ns_all_live", condition=LIVE),
            models.Index(fields=["cluster", "kind", "namespace", "name"], name="resource_ref_live", condition=LIVE),
            models.Index(fields=["resource_type", "id"], name="resource_type_live", condition=LIVE),
            models.Index(fields=["team", "id"], name="resource_team_live", condition=LIVE),
            models.Index(fields=["health", "id"], name="resource_health_live", condition=LIVE),
            models.Index(fields=["ready", "id"], name="resource_ready_live", condition=LIVE),
            models.Index(fields=["namespace", "id"], name="resource_ns_live", condition=LIVE),
            GinIndex(fields=["labels"], name="resource_labels", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class ResourceEdge(models.Model):
    """A reference from one resource to another, as the `from` object states it.

    The target is kept as the reference says it (uid for ownerReferences; group, kind, namespace and name for
    Crossplane's refs) and resolved against live rows when read, so a target synced later, or deleted and created
    again under the same name, is found without rewriting the edge.
    """

    cluster = models.ForeignKey("control_plane.Cluster", on_delete=models.CASCADE, related_name="+", db_index=False)
    source = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="edges_out", db_index=False)
    relation = models.CharField(max_length=32, choices=EdgeRelationChoices.choices)
    target_uid = models.CharField(max_length=64, blank=True)
    target_group = models.CharField(max_length=253, blank=True)
    target_kind = models.CharField(max_length=100, blank=True)
    target_namespace = models.CharField(max_length=63, blank=True)
    target_name = models.CharField(max_length=253)

    class Meta:
        indexes = [
            models.Index(fields=["source"], name="edge_source"),
            models.Index(fields=["cluster", "target_uid"], name="edge_target_uid"),
            models.Index(fields=["cluster", "target_kind", "target_namespace", "target_name"], name="edge_target_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.relation} {self.target_kind} {self.target_namespace}/{self.target_name}"


class ResourceChange(models.Model):
    """The change feed: one row per real change of a resource. `id` only grows, so it is the agents' cursor.

    `changed_paths` names the top-level parts that changed (`spec`, `status`, `metadata.labels`, ...);
    `condition_transitions` lists conditions whose status changed, with the new reason and message.
    """

    cluster = models.ForeignKey("control_plane.Cluster", on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="changes")
    team = models.ForeignKey("identity.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    change_type = models.CharField(max_length=16, choices=ChangeTypeChoices.choices)
    resource_version = models.CharField(max_length=64, blank=True)
    changed_paths = models.JSONField(default=list, blank=True)
    condition_transitions = models.JSONField(default=list, blank=True)
    time = models.DateTimeField()

    objects = ResourceChangeQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["resource", "id"], name="change_resource"),
            models.Index(fields=["team", "id"], name="change_team"),
            models.Index(fields=["time"], name="change_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.change_type} {self.resource_id}"
