"""Inventory API shapes: the synced resources, their trees and history, the change feed, health, sync state and
capabilities. Everything is read-only (only the sync writes the inventory), and every field is listed by name.

A resource list row is a summary (who and where it is, how it is doing); the detail is the stored object. Both name
their cluster and team by name, as an agent would say them back in a filter.
"""

from __future__ import annotations

import copy
import datetime
import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from psycopg.types.datetime import TimestamptzLoader
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from control_plane.choices import HealthChoices
from control_plane.models import Resource, ResourceChange, ResourceType, SyncRun
from control_plane.selectors import HIDDEN_FAILURE_MESSAGE


class ReadOnlyModelSerializer(serializers.ModelSerializer):
    """Every field read-only: these objects are written by the sync alone (R13)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


def _labels() -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(allow_blank=True), read_only=True)


# A list row by default, and what `fields=` may add.
SUMMARY_FIELDS = (
    "id",
    "cluster",
    "api_version",
    "kind",
    "namespace",
    "name",
    "team",
    "health",
    "health_reason",
    "ready",
    "synced",
    "tree_health",
    "failing_message",
    "resource_version",
    "last_seen_at",
)
EXTRA_SUMMARY_FIELDS = (
    "uid",
    "api_group",
    "labels",
    "conditions",
    "generation",
    "observed_generation",
    "created_at",
    "first_seen_at",
    "deleting_since",
)


class ResourceSummarySerializer(ReadOnlyModelSerializer):
    """A resource in a list: identity, place, owner and health, never spec or status. A row has the default
    summary fields unless the request's `fields` parameter names others."""

    cluster = serializers.CharField(source="cluster.name", help_text="The cluster's name.")
    team = serializers.CharField(
        source="team.name", allow_null=True, help_text="The owning team's name; null for rows no team owns."
    )
    created_at = serializers.DateTimeField(
        source="created_at_k8s", allow_null=True, help_text="metadata.creationTimestamp."
    )
    tree_health = serializers.CharField(
        help_text="The worst health in its tree (healthy, progressing, degraded, unknown); empty for a resource "
        "with no children.",
    )
    labels = _labels()
    conditions = serializers.ListField(child=serializers.DictField(), read_only=True)

    FIELDS: ClassVar[tuple[str, ...]] = SUMMARY_FIELDS
    EXTRA_FIELDS: ClassVar[tuple[str, ...]] = EXTRA_SUMMARY_FIELDS
    # The column each field reads where it is not the field's own name: a page loads nothing it does not show.
    COLUMNS: ClassVar[dict[str, str]] = {
        "cluster": "cluster__name",
        "team": "team__name",
        "created_at": "created_at_k8s",
    }

    class Meta:
        model = Resource
        fields = [*SUMMARY_FIELDS, *EXTRA_SUMMARY_FIELDS]
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {
            "failing_message": {"help_text": "The condition message of the deepest failing resource in its tree."},
            "last_seen_at": {"help_text": "When the sync last wrote this row (it changed, or was first seen)."},
        }

    def __init__(self, *args: Any, fields: tuple[str, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.selected = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        """The `fields` given, in their order; all of them when none are (the schema: what a caller can ask for)."""
        fields = super().get_fields()
        if self.selected is None:
            return fields
        return {name: fields[name] for name in self.selected}

    @classmethod
    def column(cls, field: str) -> str:
        return cls.COLUMNS.get(field, field)


def _psycopg_timestamps(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """An execute wrapper: timestamptz values read by psycopg's own loader (in C) instead of Django's, a Python
    subclass of it that only swaps the time zone for an equal one (which the fields' conversion to the current
    time zone makes moot anyway): 3 us a value, a third of a millisecond per page of 100 summaries."""
    context["cursor"].cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return execute(sql, params, many, context)


_UTC_ZONES = (datetime.UTC, zoneinfo.ZoneInfo("UTC"))


def _writes_iso(field: serializers.DateTimeField) -> bool:
    """The field writes ISO 8601 (DRF's default), not a strftime format of its own or of the settings."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(output_format, str) and output_format.lower() == ISO_8601


@dataclass(frozen=True)
class SummaryRows:
    """How a page of summaries with the chosen `fields` is read and written, without a model instance or DRF's
    per-field lookups per row: a page of 100 is the hot path of the API (PERFORMANCE.md). Only datetimes need
    converting; every other column is already what JSON holds.

    `columns` are the fields' own columns in their order, then those the view needs when the fields leave them
    out: `id` (where the next page starts) and `failing_id` (whose visibility decides `failing_message`)."""

    fields: tuple[str, ...]
    columns: tuple[str, ...]
    datetimes: tuple[tuple[str, serializers.DateTimeField], ...]

    def of(self, resources: QuerySet[Resource]) -> QuerySet[Any]:
        """`resources` as rows of `columns`, each a named tuple (the paginator reads its `id`)."""
        return resources.values_list(*self.columns, named=True)

    @contextmanager
    def reading(self, resources: QuerySet[Resource]) -> Iterator[None]:
        """Around the query of a page of `of(resources)`: its timestamps read in C (`_psycopg_timestamps`)."""
        with connections[resources.db].execute_wrapper(_psycopg_timestamps):
            yield

    def write(self, page: list[Any], hidden_failures: set[int]) -> list[dict[str, Any]]:
        """The rows of `page` as the answer shows them; `failing_message` says the failure is hidden where its
        resource's id is in `hidden_failures`.

        Each datetime field is asked for the time zone to write in once per page (as DRF would for each value: the
        current one, unless the field has its own). When that zone is UTC, a value in UTC (as psycopg reads them from
        a session in UTC, which Django's always is) is written as DRF writes ISO 8601, without its per-value steps:
        converting it to UTC changes nothing but the tzinfo object, and those steps cost more than the rest of the
        row."""
        written = [dict(zip(self.fields, row, strict=False)) for row in page]  # the fields' columns come first
        for name, field in self.datetimes:
            if not hasattr(field, "timezone"):
                field = copy.copy(field)  # the cached field stays without one: the current zone may change
                field.timezone = field.default_timezone()
            convert = field.to_representation
            utc = field.timezone in _UTC_ZONES and _writes_iso(field)
            for item in written:
                value = item[name]
                if value is None:
                    continue
                if utc and value.tzinfo is datetime.UTC:
                    item[name] = value.isoformat()[:-6] + "Z"  # isoformat ends in +00:00, which DRF writes as Z
                else:
                    item[name] = convert(value)
        if hidden_failures:
            for item, row in zip(written, page, strict=True):
                if row.failing_id in hidden_failures:
                    item["failing_message"] = HIDDEN_FAILURE_MESSAGE
        return written


@functools.lru_cache(maxsize=64)
def summary_rows(fields: tuple[str, ...]) -> SummaryRows:
    """The `SummaryRows` of a choice of fields. Built once per choice: a ModelSerializer builds its fields from the
    model on every instance, which cost more than writing the page of 100 it then converts. Cached by the fields
    chosen (`fields=` is checked against the allowed names first, so the choices are few)."""
    declared = ResourceSummarySerializer(fields=fields).fields
    needed = (*(() if "id" in fields else ("id",)), *(("failing_id",) if "failing_message" in fields else ()))
    return SummaryRows(
        fields=fields,
        columns=(*(ResourceSummarySerializer.column(name) for name in fields), *needed),
        datetimes=tuple(
            (name, field) for name, field in declared.items() if isinstance(field, serializers.DateTimeField)
        ),
    )


class ResourceRefSerializer(serializers.Serializer):
    """How a resource is named elsewhere in an answer: its id to fetch it, and what a person calls it."""

    id = serializers.IntegerField(read_only=True)
    cluster = serializers.CharField(read_only=True)
    api_version = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    namespace = serializers.CharField(read_only=True, help_text="Empty for a cluster-scoped resource.")
    name = serializers.CharField(read_only=True)


class FailingResourceSerializer(ResourceRefSerializer):
    health = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True, help_text="Its health reason: the condition message.")


class ResourceReferenceSerializer(serializers.Serializer):
    """A reference the resource states (ownerReferences, Crossplane resourceRefs, claim and composition refs) to
    a resource you may see: `id` fetches it."""

    relation = serializers.CharField(read_only=True, help_text="owned-by, composes, claims, uses-composition, ...")
    id = serializers.IntegerField(read_only=True)
    api_group = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    namespace = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class ResourceSerializer(ResourceSummarySerializer):
    """A resource as stored: the summary plus metadata, spec, status, conditions, references and sync times.

    `failing` is named only when the caller may see that resource too (a tree can hold other teams' resources).
    """

    annotations = _labels()
    owner_references = serializers.ListField(child=serializers.DictField(), read_only=True)
    finalizers = serializers.ListField(child=serializers.CharField(), read_only=True)
    type = serializers.CharField(source="resource_type.key", help_text="Its type as kubectl spells it.")
    category = serializers.CharField(source="resource_type.category", help_text="core, crossplane, composite, ...")
    failing = serializers.SerializerMethodField(
        help_text="The deepest failing resource in its tree, when you may see it; null otherwise."
    )
    failing_message = serializers.SerializerMethodField(
        help_text="The condition message of the deepest failing resource in its tree; when you may not see that "
        "resource, a note saying so instead."
    )
    references = serializers.SerializerMethodField(
        help_text="The references this object states to resources you may see, by relation."
    )

    class Meta(ResourceSummarySerializer.Meta):
        fields = [
            *ResourceSummarySerializer.Meta.fields,
            "type",
            "category",
            "annotations",
            "owner_references",
            "finalizers",
            "spec",
            "status",
            "failing",
            "references",
            "deleted_at",
            "deleted_reason",
        ]

    def get_failing_message(self, resource: Resource) -> str:
        if resource.failing_id and resource.failing_id not in self.context.get("failing", {}):
            return HIDDEN_FAILURE_MESSAGE
        return resource.failing_message

    @extend_schema_field(FailingResourceSerializer(allow_null=True))
    def get_failing(self, resource: Resource) -> dict[str, Any] | None:
        failing = self.context.get("failing", {}).get(resource.failing_id)
        if failing is None:
            return None
        return {
            "id": failing.pk,
            "cluster": resource.cluster.name,
            "api_version": failing.api_version,
            "kind": failing.kind,
            "namespace": failing.namespace,
            "name": failing.name,
            "health": failing.health,
            "message": failing.health_reason,
        }

    @extend_schema_field(ResourceReferenceSerializer(many=True))
    def get_references(self, resource: Resource) -> list[dict[str, Any]]:
        return ResourceReferenceSerializer(self.context.get("references", []), many=True).data


class TreeNodeSerializer(serializers.Serializer):
    """One member of a tree, with the relation that attaches it to its parent and its own children."""

    id = serializers.IntegerField(source="resource.pk", read_only=True)
    api_version = serializers.CharField(source="resource.api_version", read_only=True)
    kind = serializers.CharField(source="resource.kind", read_only=True)
    namespace = serializers.CharField(source="resource.namespace", read_only=True)
    name = serializers.CharField(source="resource.name", read_only=True)
    relation = serializers.CharField(read_only=True, help_text="composes, claims or owned-by; empty for the root.")
    health = serializers.CharField(source="resource.health", read_only=True)
    health_reason = serializers.CharField(source="resource.health_reason", read_only=True)
    ready = serializers.BooleanField(source="resource.ready", read_only=True, allow_null=True)
    synced = serializers.BooleanField(source="resource.synced", read_only=True, allow_null=True)
    deepest_failure = serializers.SerializerMethodField(help_text="True on the tree's deepest failing member.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["children"] = TreeNodeSerializer(many=True, read_only=True, context=self.context)
        return fields

    def get_deepest_failure(self, node: Any) -> bool:
        return bool(node.resource.pk == self.context.get("failing_id"))


class TreeFailureSerializer(FailingResourceSerializer):
    conditions = serializers.ListField(child=serializers.DictField(), read_only=True)


class ResourceTreeSerializer(serializers.Serializer):
    """A resource's tree as the caller may see it, and the deepest failure in it."""

    tree_health = serializers.CharField(read_only=True, help_text="The worst health among the members shown.")
    node_count = serializers.IntegerField(read_only=True)
    failing = TreeFailureSerializer(
        read_only=True,
        allow_null=True,
        help_text="The deepest failing member (degraded, else progressing); null when healthy or hidden.",
    )
    failure_hidden = serializers.BooleanField(
        read_only=True, help_text="The deepest failure is in a resource you may not see, so it is not named."
    )
    tree = TreeNodeSerializer(read_only=True)


class ConditionTransitionSerializer(serializers.Serializer):
    """A condition whose status moved: `from` and `to` are null when it appeared or disappeared."""

    type = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True, allow_blank=True)
    message = serializers.CharField(read_only=True, allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a keyword in Python, so the status fields are added here.
        return {
            "type": fields["type"],
            "from": serializers.CharField(read_only=True, allow_null=True),
            "to": serializers.CharField(read_only=True, allow_null=True),
            "reason": fields["reason"],
            "message": fields["message"],
        }


class ResourceHistoryEntrySerializer(ReadOnlyModelSerializer):
    """One change of one resource: what kind of change, which parts moved, which conditions flipped."""

    changed_paths = serializers.ListField(
        child=serializers.CharField(), help_text="Top-level parts that changed: spec, status, metadata.labels, ..."
    )
    condition_transitions = ConditionTransitionSerializer(many=True)

    class Meta:
        model = ResourceChange
        fields = ["id", "change_type", "time", "resource_version", "changed_paths", "condition_transitions"]


class ChangeSerializer(ResourceHistoryEntrySerializer):
    """A change-feed entry: the change and the resource it happened to. `id` is the cursor."""

    resource = serializers.SerializerMethodField()
    team = serializers.CharField(source="team.name", allow_null=True)

    class Meta(ResourceHistoryEntrySerializer.Meta):
        fields = [*ResourceHistoryEntrySerializer.Meta.fields, "team", "resource"]

    @extend_schema_field(ResourceRefSerializer)
    def get_resource(self, change: ResourceChange) -> dict[str, Any]:
        resource = change.resource
        return {
            "id": change.resource_id,
            "cluster": change.cluster.name,
            "api_version": resource.api_version,
            "kind": resource.kind,
            "namespace": resource.namespace,
            "name": resource.name,
        }


class ResourceHistorySerializer(serializers.Serializer):
    resource = ResourceRefSerializer(read_only=True)
    results = ResourceHistoryEntrySerializer(many=True, read_only=True, help_text="Newest first.")


class ChangeFeedSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True, read_only=True, help_text="Oldest first.")
    next = serializers.IntegerField(read_only=True, help_text="Pass as `after` on the next call.")
    has_more = serializers.BooleanField(
        read_only=True, help_text="True when the page is full: call again at once instead of waiting."
    )


def _health_counts(**first: serializers.Field) -> dict[str, serializers.Field]:
    """A row of counts by health, after the fields that say what was counted (`first`)."""
    counts = {health: serializers.IntegerField(read_only=True) for health in HealthChoices.values}
    return {**first, **counts, "total": serializers.IntegerField(read_only=True)}


HealthCountsSerializer = type("HealthCountsSerializer", (serializers.Serializer,), _health_counts())
ClusterHealthSerializer = type(
    "ClusterHealthSerializer", (serializers.Serializer,), _health_counts(cluster=serializers.CharField(read_only=True))
)
TeamHealthSerializer = type(
    "TeamHealthSerializer",
    (serializers.Serializer,),
    _health_counts(
        team=serializers.CharField(read_only=True, allow_null=True, help_text="null: rows no team owns (admins only).")
    ),
)


class FailingTreeSerializer(serializers.Serializer):
    resource = ResourceRefSerializer(read_only=True, help_text="The failing composite or claim.")
    team = serializers.CharField(read_only=True, allow_null=True)
    health = serializers.CharField(read_only=True, help_text="Its own health.")
    tree_health = serializers.CharField(read_only=True, help_text="The worst health in its tree.")
    message = serializers.CharField(read_only=True, help_text="The deepest failure's message (or its own reason).")
    failure_hidden = serializers.BooleanField(
        read_only=True, help_text="The deepest failure is in a resource you may not see, so it is not named."
    )
    deepest_failure = FailingResourceSerializer(
        read_only=True, allow_null=True, help_text="null when you may not see that resource."
    )


class HealthSummarySerializer(serializers.Serializer):
    totals = HealthCountsSerializer(read_only=True)
    by_cluster = ClusterHealthSerializer(many=True, read_only=True)
    by_team = TeamHealthSerializer(many=True, read_only=True)
    failing = FailingTreeSerializer(many=True, read_only=True, help_text="Degraded trees first, then progressing.")
    failing_truncated = serializers.BooleanField(read_only=True, help_text="More failing trees exist than listed.")


class ResourceTypeSerializer(ReadOnlyModelSerializer):
    """A synced type of one cluster with the state of its sync: how current it is and what went wrong."""

    cluster = serializers.CharField(source="cluster.name")
    key = serializers.CharField(help_text="plural.group, as kubectl spells a type.")
    api_version = serializers.CharField()
    has_cursor = serializers.SerializerMethodField(help_text="False until the first list has completed.")
    cursor_age_seconds = serializers.SerializerMethodField(
        help_text="Seconds since the watch last brought anything (event or bookmark) or the last list; null before."
    )

    class Meta:
        model = ResourceType
        fields = [
            "id",
            "cluster",
            "key",
            "group",
            "version",
            "api_version",
            "kind",
            "plural",
            "namespaced",
            "category",
            "source",
            "watched",
            "served",
            "object_count",
            "has_cursor",
            "cursor_age_seconds",
            "lag_ms",
            "last_list_at",
            "last_event_at",
            "last_resync_at",
            "last_error",
            "error_count",
            "backoff_until",
        ]

    def get_has_cursor(self, resource_type: ResourceType) -> bool:
        return bool(resource_type.cursor)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_cursor_age_seconds(self, resource_type: ResourceType) -> float | None:
        moments = [m for m in (resource_type.last_event_at, resource_type.last_list_at) if m is not None]
        if not moments:
            return None
        return round((timezone.now() - max(moments)).total_seconds(), 3)


class SyncRunSerializer(ReadOnlyModelSerializer):
    """What one list or watch window did."""

    cluster = serializers.CharField(source="cluster.name")
    type = serializers.CharField(source="resource_type.key", allow_null=True, help_text="null: the whole cluster.")
    duration_seconds = serializers.FloatField(source="duration", allow_null=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "cluster",
            "type",
            "mode",
            "started_at",
            "finished_at",
            "duration_seconds",
            "added",
            "modified",
            "deleted",
            "unchanged",
            "repaired",
            "error",
        ]


class CapabilityVersionSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    served = serializers.BooleanField(read_only=True)
    referenceable = serializers.BooleanField(read_only=True)


class CapabilityInstancesSerializer(serializers.Serializer):
    team = serializers.CharField(read_only=True, allow_null=True)
    kind = serializers.CharField(read_only=True, help_text="The composite or the claim kind.")
    count = serializers.IntegerField(read_only=True)


class CapabilitySerializer(serializers.Serializer):
    """An XRD the sync found: what it makes, the parameters it takes, and how many exist per team."""

    name = serializers.CharField(read_only=True, help_text="The XRD's name: plural.group.")
    group = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="The composite resource kind.")
    plural = serializers.CharField(read_only=True)
    claim_kind = serializers.CharField(read_only=True, allow_null=True)
    claim_plural = serializers.CharField(read_only=True, allow_null=True)
    scope = serializers.CharField(read_only=True, help_text="Namespaced, Cluster or LegacyCluster.")
    versions = CapabilityVersionSerializer(many=True, read_only=True)
    version = serializers.CharField(read_only=True, help_text="The version instances are made in.")
    schema = serializers.JSONField(read_only=True, help_text="That version's openAPIV3Schema: the parameters.")
    ready = serializers.BooleanField(read_only=True, allow_null=True)
    clusters = serializers.ListField(child=serializers.CharField(), read_only=True)
    instances = CapabilityInstancesSerializer(
        many=True, read_only=True, help_text="Counts per team and kind, of the instances you may see."
    )


class CapabilityListSerializer(serializers.Serializer):
    results = CapabilitySerializer(many=True, read_only=True)
