"""Inventory API (read-only): what the sync found, how healthy it is, what changed, and what the platform offers.

Every read goes through `control_plane.selectors`, the same permission-filtered functions the MCP server and the CLI
use: a resource is visible through its team, rows no team owns only to platform admins, another team's object
answers 404. Lists are cursor-paginated by id and cost a fixed number of queries whatever the page size; a list
row is a summary (`fields=` narrows or widens it), the detail view the stored object.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from control_plane import selectors
from control_plane.api.inventory_serializers import (
    CapabilityListSerializer,
    CapabilitySerializer,
    ChangeFeedSerializer,
    ChangeSerializer,
    HealthSummarySerializer,
    ResourceHistoryEntrySerializer,
    ResourceHistorySerializer,
    ResourceSerializer,
    ResourceSummarySerializer,
    ResourceTreeSerializer,
    ResourceTypeSerializer,
    SyncRunSerializer,
    TreeNodeSerializer,
    summary_rows,
)
from control_plane.choices import HealthChoices, ResourceCategoryChoices, SyncModeChoices
from control_plane.models import Resource, ResourceChange, ResourceType, SyncRun
from devplat.core.api.pagination import IdCursorPagination
from devplat.core.api.schema import AutoSchema, errors
from devplat.core.api.viewsets import RestrictedViewSetMixin

# --- parameters ------------------------------------------------------------------------------------------------------


def _param(name: str, description: str, example: Any, *, type: Any = str, enum: Any = None) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        type=type,
        location=OpenApiParameter.QUERY,
        required=False,
        description=description,
        enum=enum,
        examples=[OpenApiExample(name, value=example)],
    )


CLUSTER = _param("cluster", "Only this cluster (its name). An unknown name is a 400 that lists the clusters.", "prod")
TEAM = _param(
    "team", "Only this team's objects (its name); you may name only teams you can see (400 otherwise).", "payments"
)
KIND = _param(
    "kind",
    "Kind, plural or plural.group, any case, as kubectl reads a type: Deployment, deployments, "
    "xdatabases.platform.example.org. A kind no cluster serves is a 400 that lists the known kinds.",
    "Deployment",
)
RESOURCE_PARAMETERS = [
    CLUSTER,
    _param("group", "API group; `core` for the core group (Pods, ConfigMaps).", "apps"),
    KIND,
    _param("namespace", "Only this namespace; empty (`namespace=`) for cluster-scoped objects only.", "payments"),
    _param("name", "Only objects with exactly this name.", "orders-db"),
    TEAM,
    _param("health", "Only this health.", "degraded", enum=HealthChoices.values),
    _param("ready", "Only ready (true) or not ready (false) objects.", "false", type=OpenApiTypes.BOOL),
    _param(
        "label_selector",
        "Kubernetes label selector: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, "
        "comma-separated (all must hold).",
        "app=web,tier in (api,frontend)",
    ),
    _param("q", "Words that must all occur in the name, any case.", "orders db"),
    _param(
        "changed_since",
        "Only objects with a change-feed entry since this time: ISO 8601 (UTC unless stated) or a duration back "
        "from now (90s, 15m, 2h, 7d).",
        "15m",
    ),
    _param(
        "fields",
        "Comma-separated fields of each row, instead of the default summary. Allowed: "
        + ", ".join((*ResourceSummarySerializer.FIELDS, *ResourceSummarySerializer.EXTRA_FIELDS))
        + ".",
        "id,kind,namespace,name,health,labels",
    ),
]
CHANGE_PARAMETERS = [
    _param(
        "after",
        "The cursor: entries with a higher id than this, oldest first. Start with 0 (everything kept) or with the "
        "`next` of the previous answer.",
        "1200",
        type=int,
    ),
    _param(
        "wait",
        "When nothing is newer than `after`, wait up to this many seconds for an entry (a long poll; capped by "
        "the server, 30 s by default). 0 answers at once.",
        "20",
        type=OpenApiTypes.DOUBLE,
    ),
    CLUSTER,
    TEAM,
    KIND,
    OpenApiParameter(
        "page_size",
        type={"type": "integer", "minimum": 1},
        location=OpenApiParameter.QUERY,
        required=False,
        description="Entries per answer (default 100); larger values are served at the cap.",
        examples=[OpenApiExample("page_size", value=100)],
    ),
]

# --- examples --------------------------------------------------------------------------------------------------------

REF = {
    "id": 4711,
    "cluster": "prod",
    "api_version": "platform.example.org/v1alpha1",
    "kind": "Database",
    "namespace": "payments",
    "name": "orders-db",
}
SUMMARY = {
    **REF,
    "team": "payments",
    "health": "progressing",
    "health_reason": "Creating",
    "ready": False,
    "synced": True,
    "tree_health": "degraded",
    "failing_message": "ReconcileError: InvalidParameterValue: db.x1 is not a DB instance class",
    "resource_version": "81234",
    "last_seen_at": "2026-11-25T10:00:00Z",
}
FAILING = {
    "id": 4713,
    "cluster": "prod",
    "api_version": "rds.aws.upbound.io/v1beta1",
    "kind": "Instance",
    "namespace": "",
    "name": "orders-db-x7k2p-rds",
    "health": "degraded",
    "message": "ReconcileError: InvalidParameterValue: db.x1 is not a DB instance class",
}
CONDITIONS = [
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-11-25T09:58:00Z"},
    {"type": "Ready", "status": "False", "reason": "Creating", "lastTransitionTime": "2026-11-25T09:58:00Z"},
]
CHANGE = {
    "id": 1201,
    "change_type": "modified",
    "time": "2026-11-25T10:00:00Z",
    "resource_version": "81234",
    "changed_paths": ["status"],
    "condition_transitions": [
        {"type": "Ready", "from": "True", "to": "False", "reason": "Creating", "message": ""},
    ],
}


def _example(name: str, value: Any, summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=summary or None, response_only=True)


def _list_and_retrieve_schema(
    name: str,
    serializer: type[serializers.Serializer],
    example: tuple[str, dict[str, Any]],
    *,
    listing: tuple[str, str],
    one: tuple[str, str],
    parameters: list[OpenApiParameter],
) -> Any:
    """The schema of a read-only viewset over one model: `listing` and `one` are (summary, description) of its
    list and retrieve operations (`<name>_list`, `<name>_retrieve`), both shown with the same example row."""
    example_name, row = example
    return extend_schema_view(
        list=extend_schema(
            operation_id=f"{name}_list",
            summary=listing[0],
            description=listing[1],
            parameters=parameters,
            responses={200: serializer(many=True), **errors(400)},
            examples=[_example(example_name, {"next": None, "previous": None, "results": [row]})],
        ),
        retrieve=extend_schema(
            operation_id=f"{name}_retrieve",
            summary=one[0],
            description=one[1],
            responses={200: serializer, **errors(404)},
            examples=[_example(example_name, row)],
        ),
    )


# --- resources -------------------------------------------------------------------------------------------------------


class ResourceListSchema(AutoSchema):
    """`fields=` may leave out any field of a list row, so the row schema requires none (read-only fields are
    otherwise marked required)."""

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if type(serializer) is ResourceSummarySerializer:
            schema.pop("required", None)
        return schema


class OneObjectSchema(AutoSchema):
    """For a `list` route that answers one object (a feed page with its cursor, a summary, the catalog wrapped in
    `results`): drf-spectacular would otherwise document an array of it."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


def _fields_param(request: Request) -> tuple[str, ...]:
    """The `fields=` of a list, checked against the allowed names (400 lists them)."""
    raw = request.query_params.get("fields", "")
    if not raw.strip():
        return ResourceSummarySerializer.FIELDS
    allowed = (*ResourceSummarySerializer.FIELDS, *ResourceSummarySerializer.EXTRA_FIELDS)
    wanted = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in wanted if name not in allowed]
    if unknown or not wanted:
        raise ValidationError(
            {"fields": [f"Unknown field(s) {', '.join(unknown) or raw!r}; choose among {', '.join(allowed)}."]}
        )
    return wanted


@extend_schema_view(
    list=extend_schema(
        operation_id="resources_list",
        summary="List resources",
        description=(
            "The synced Kubernetes and Crossplane objects you may see (your teams' namespaces; platform admins see "
            "everything), oldest id first, as compact summaries without spec or status. Narrow with the filters "
            "(all must hold); choose the fields of each row with `fields`. Cursor-paginated: follow `next`."
        ),
        parameters=RESOURCE_PARAMETERS,
        responses={200: ResourceSummarySerializer(many=True), **errors(400)},
        examples=[_example("failing database", {"next": None, "previous": None, "results": [SUMMARY]})],
    ),
    retrieve=extend_schema(
        operation_id="resources_retrieve",
        summary="Get a resource",
        description=(
            "One resource as stored: metadata, spec, status, conditions, the references it states to resources you "
            "may see (with their ids), health and the deepest failure in its tree (named only when you may see it). "
            "Deleted objects stay readable by id, with `deleted_at` set. Another team's resource answers 404."
        ),
        responses={200: ResourceSerializer, **errors(404)},
        examples=[
            _example(
                "claim",
                {
                    **SUMMARY,
                    "uid": "5f0c2a57-2b3e-4d55-9d62-5a8fe1e2a1c4",
                    "api_group": "platform.example.org",
                    "labels": {"app": "orders"},
                    "conditions": CONDITIONS,
                    "generation": 1,
                    "observed_generation": 1,
                    "created_at": "2026-11-25T09:57:00Z",
                    "first_seen_at": "2026-11-25T09:57:01Z",
                    "deleting_since": None,
                    "type": "databases.platform.example.org",
                    "category": "claim",
                    "annotations": {},
                    "owner_references": [],
                    "finalizers": ["finalizer.apiextensions.crossplane.io"],
                    "spec": {"parameters": {"size": "small"}},
                    "status": {"conditions": CONDITIONS},
                    "failing": FAILING,
                    "references": [
                        {
                            "relation": "claims",
                            "id": 4712,
                            "api_group": "platform.example.org",
                            "kind": "XDatabase",
                            "namespace": "",
                            "name": "orders-db-x7k2p",
                        }
                    ],
                    "deleted_at": None,
                    "deleted_reason": "",
                },
            )
        ],
    ),
)
class ResourceViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    queryset = Resource.objects.all()
    serializer_class = ResourceSummarySerializer
    lookup_value_regex = "[0-9]+"
    filter_backends: ClassVar[list[Any]] = []
    schema = ResourceListSchema()

    def get_queryset(self) -> QuerySet[Resource]:
        params = self.request.query_params
        return selectors.resources_for(
            self.request.user,
            **{
                key: params.get(key)
                for key in (
                    "cluster",
                    "group",
                    "kind",
                    "namespace",
                    "name",
                    "team",
                    "health",
                    "ready",
                    "label_selector",
                    "q",
                    "changed_since",
                )
            },
        )

    def get_object(self) -> Resource:
        return selectors.resource_by_id(self.request.user, self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        rows = summary_rows(_fields_param(request))
        resources = self.get_queryset()
        with rows.reading(resources):
            page = self.paginate_queryset(rows.of(resources)) or []
        hidden: set[int] = set()
        if "failing_message" in rows.fields and page:
            hidden = selectors.hidden_failing_ids(request.user, (row.failing_id for row in page))
        return self.get_paginated_response(rows.write(page, hidden))

    def retrieve(self, request: Request, pk: str) -> Response:
        resource = self.get_object()
        context = {
            **self.get_serializer_context(),
            "failing": selectors.visible_failing(request.user, [resource]),
            "references": selectors.resource_references(request.user, resource),
        }
        return Response(ResourceSerializer(resource, context=context).data)

    @extend_schema(
        operation_id="resources_tree",
        summary="Get a resource's tree",
        description=(
            "What a claim, composite or owner is made of: claim -> composite -> composed resources, owner -> owned, "
            "each with its health, and the deepest failing member with its conditions and message (the likely "
            "cause of a failing tree). Members you may not see (another team's, or unowned unless you are a "
            "platform admin) are left out with everything below them."
        ),
        responses={200: ResourceTreeSerializer, **errors(404)},
        examples=[
            _example(
                "failing claim",
                {
                    "tree_health": "degraded",
                    "node_count": 3,
                    "failing": {**FAILING, "conditions": [{"type": "Synced", "status": "False"}]},
                    "failure_hidden": False,
                    "tree": {
                        **{k: REF[k] for k in ("id", "api_version", "kind", "namespace", "name")},
                        "relation": "",
                        "health": "progressing",
                        "health_reason": "Creating",
                        "ready": False,
                        "synced": True,
                        "deepest_failure": False,
                        "children": [
                            {
                                "id": 4712,
                                "api_version": "platform.example.org/v1alpha1",
                                "kind": "XDatabase",
                                "namespace": "",
                                "name": "orders-db-x7k2p",
                                "relation": "claims",
                                "health": "progressing",
                                "health_reason": "Creating",
                                "ready": False,
                                "synced": True,
                                "deepest_failure": False,
                                "children": [
                                    {
                                        **{k: FAILING[k] for k in ("id", "api_version", "kind", "namespace", "name")},
                                        "relation": "composes",
                                        "health": "degraded",
                                        "health_reason": FAILING["message"],
                                        "ready": False,
                                        "synced": False,
                                        "deepest_failure": True,
                                        "children": [],
                                    }
                                ],
                            }
                        ],
                    },
                },
            )
        ],
    )
    @action(detail=True, methods=["get"], url_path="tree")
    def tree(self, request: Request, pk: str) -> Response:
        view = selectors.resource_tree_for(request.user, self.get_object())
        failing = None
        if view.failing is not None:
            bottom = view.failing.resource
            failing = {
                **selectors.resource_ref(bottom, cluster_name=view.root.resource.cluster.name),
                "health": bottom.health,
                "message": bottom.health_reason,
                "conditions": bottom.conditions,
            }
        context = {"failing_id": view.failing.resource.pk if view.failing else None}
        return Response(
            {
                "tree_health": view.tree_health,
                "node_count": view.node_count,
                "failing": failing,
                "failure_hidden": view.failure_hidden,
                "tree": TreeNodeSerializer(view.root, context=context).data,
            }
        )

    @extend_schema(
        operation_id="resources_history",
        summary="Get a resource's history",
        description=(
            "The resource's change-feed entries, newest first: each change's type, the top-level parts that "
            "changed, and the conditions whose status moved with their new reason and message."
        ),
        parameters=[_param("limit", "How many entries, newest first (1-500, default 50).", "20", type=int)],
        responses={200: ResourceHistorySerializer, **errors(400, 404)},
        examples=[_example("status flip", {"resource": REF, "results": [CHANGE]})],
    )
    @action(detail=True, methods=["get"], url_path="history")
    def history(self, request: Request, pk: str) -> Response:
        resource = self.get_object()
        entries = selectors.resource_history(request.user, resource, limit=request.query_params.get("limit", 50))
        return Response(
            {
                "resource": selectors.resource_ref(resource),
                "results": ResourceHistoryEntrySerializer(entries, many=True).data,
            }
        )


# --- the change feed -------------------------------------------------------------------------------------------------


class ChangeFeedPageSize(IdCursorPagination):
    """The feed has its own cursor (`after`); this only reads `page_size`, with the same cap and errors as lists."""

    page_size = 100


@extend_schema_view(
    list=extend_schema(
        operation_id="changes_list",
        summary="Follow the change feed",
        description=(
            "Every change the sync recorded that you may see, oldest first, with ids above `after`. Pass the "
            "answer's `next` as `after` to continue; `has_more` says to call again at once. With `wait`, an "
            "answer with nothing new is held until an entry arrives or `wait` seconds pass (a long poll), so an "
            "agent can follow the platform with one request at a time."
        ),
        parameters=CHANGE_PARAMETERS,
        responses={200: ChangeFeedSerializer, **errors(400)},
        examples=[
            _example(
                "one change",
                {
                    "results": [{**CHANGE, "team": "payments", "resource": REF}],
                    "next": 1201,
                    "has_more": False,
                },
            )
        ],
    ),
)
class ChangeViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    schema = OneObjectSchema()
    queryset = ResourceChange.objects.all()
    serializer_class = ChangeSerializer
    filter_backends: ClassVar[list[Any]] = []
    pagination_class = None

    def list(self, request: Request) -> Response:
        params = request.query_params
        limit = ChangeFeedPageSize().get_page_size(request)
        entries, cursor = selectors.changes_after(
            request.user,
            after=params.get("after", 0),
            limit=limit,
            wait=params.get("wait", 0),
            cluster=params.get("cluster"),
            team=params.get("team"),
            kind=params.get("kind"),
        )
        return Response(
            {
                "results": ChangeSerializer(entries, many=True).data,
                "next": cursor,
                "has_more": len(entries) == limit,
            }
        )


# --- health ----------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="health_retrieve",
        summary="Platform health",
        description=(
            "What is broken, in one call: the live resources you may see counted by health per cluster and per "
            "team, and the failing composites and claims (degraded first) each with the deepest failing resource "
            "of its tree and that resource's condition message."
        ),
        responses={200: HealthSummarySerializer, **errors()},
        examples=[
            _example(
                "one failing database",
                {
                    "totals": {"healthy": 40, "progressing": 2, "degraded": 1, "unknown": 0, "total": 43},
                    "by_cluster": [
                        {"cluster": "prod", "healthy": 40, "progressing": 2, "degraded": 1, "unknown": 0, "total": 43}
                    ],
                    "by_team": [
                        {"team": "payments", "healthy": 40, "progressing": 2, "degraded": 1, "unknown": 0, "total": 43}
                    ],
                    "failing": [
                        {
                            "resource": REF,
                            "team": "payments",
                            "health": "progressing",
                            "tree_health": "degraded",
                            "message": FAILING["message"],
                            "failure_hidden": False,
                            "deepest_failure": FAILING,
                        }
                    ],
                    "failing_truncated": False,
                },
            )
        ],
    ),
)
class HealthViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    schema = OneObjectSchema()
    queryset = Resource.objects.all()
    serializer_class = HealthSummarySerializer
    filter_backends: ClassVar[list[Any]] = []
    pagination_class = None

    def list(self, request: Request) -> Response:
        return Response(HealthSummarySerializer(selectors.health_summary(request.user)).data)


# --- resource types and sync runs ------------------------------------------------------------------------------------

RESOURCE_TYPE_EXAMPLE = {
    "id": 12,
    "cluster": "prod",
    "key": "deployments.apps",
    "group": "apps",
    "version": "v1",
    "api_version": "apps/v1",
    "kind": "Deployment",
    "plural": "deployments",
    "namespaced": True,
    "category": "core",
    "source": "discovered",
    "watched": True,
    "served": True,
    "object_count": 412,
    "has_cursor": True,
    "cursor_age_seconds": 3.2,
    "lag_ms": 45,
    "last_list_at": "2026-11-25T09:00:00Z",
    "last_event_at": "2026-11-25T09:59:57Z",
    "last_resync_at": "2026-11-25T06:00:00Z",
    "last_error": "",
    "error_count": 0,
    "backoff_until": None,
}


@_list_and_retrieve_schema(
    "resource_types",
    ResourceTypeSerializer,
    ("deployments", RESOURCE_TYPE_EXAMPLE),
    listing=(
        "List synced resource types",
        "The types the sync watches in each cluster, with the state of their sync: whether a cursor exists and how "
        "old it is, the last batch's lag, how many objects are stored, and the last error. Visible to every "
        "signed-in user.",
    ),
    one=("Get a resource type", "One synced type by id, with its sync state."),
    parameters=[
        CLUSTER,
        _param("group", "API group; `core` for the core group.", "apps"),
        KIND,
        _param("category", "Only this category.", "managed", enum=ResourceCategoryChoices.values),
    ],
)
class ResourceTypeViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = ResourceType.objects.all()
    serializer_class = ResourceTypeSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends: ClassVar[list[Any]] = []

    def get_queryset(self) -> QuerySet[ResourceType]:
        params = self.request.query_params
        if self.action != "list":
            return super().get_queryset().select_related("cluster")
        return selectors.resource_types_for(
            self.request.user,
            cluster=params.get("cluster"),
            group=params.get("group"),
            kind=params.get("kind"),
            category=params.get("category"),
        )


class NewestFirstCursorPagination(IdCursorPagination):
    """The sync ledger is read from the latest run back."""

    ordering = "-id"


SYNC_RUN_EXAMPLE = {
    "id": 880,
    "cluster": "prod",
    "type": "deployments.apps",
    "mode": "watch",
    "started_at": "2026-11-25T09:56:00Z",
    "finished_at": "2026-11-25T10:00:00Z",
    "duration_seconds": 240.0,
    "added": 0,
    "modified": 12,
    "deleted": 1,
    "unchanged": 0,
    "repaired": 0,
    "error": "",
}


@_list_and_retrieve_schema(
    "sync_runs",
    SyncRunSerializer,
    ("a watch window", SYNC_RUN_EXAMPLE),
    listing=(
        "List sync runs",
        "The sync ledger, newest first: what each list, relist, resync or watch window of a type did (counts, "
        "duration, the error that ended it). Visible to every signed-in user.",
    ),
    one=(
        "Get a sync run",
        "One sync run by id: what that list or watch window did, how long it took, and its error.",
    ),
    parameters=[
        CLUSTER,
        _param("type", "Only runs of this type: kind, plural or plural.group (deployments.apps).", "deployments"),
        _param("mode", "Only runs of this mode.", "watch", enum=SyncModeChoices.values),
    ],
)
class SyncRunViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = SyncRun.objects.all()
    serializer_class = SyncRunSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends: ClassVar[list[Any]] = []
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[SyncRun]:
        """The ledger as `sync_runs_for` filters it (restricted like clusters), with the list's filters."""
        params = self.request.query_params
        filters = {} if self.action != "list" else {k: params.get(k) for k in ("cluster", "type", "mode")}
        return selectors.sync_runs_for(self.request.user, **filters).select_related("cluster", "resource_type")


# --- capabilities ----------------------------------------------------------------------------------------------------

CAPABILITY_EXAMPLE = {
    "name": "xpostgresqlinstances.platform.example.org",
    "group": "platform.example.org",
    "kind": "XPostgreSQLInstance",
    "plural": "xpostgresqlinstances",
    "claim_kind": "PostgreSQLInstance",
    "claim_plural": "postgresqlinstances",
    "scope": "LegacyCluster",
    "versions": [{"name": "v1alpha1", "served": True, "referenceable": True}],
    "version": "v1alpha1",
    "schema": {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"parameters": {"type": "object", "properties": {"storageGB": {"type": "integer"}}}},
            }
        },
    },
    "ready": True,
    "clusters": ["prod"],
    "instances": [
        {"team": "payments", "kind": "PostgreSQLInstance", "count": 2},
        {"team": "payments", "kind": "XPostgreSQLInstance", "count": 2},
    ],
}


@extend_schema_view(
    list=extend_schema(
        operation_id="capabilities_list",
        summary="List capabilities",
        description=(
            "What the platform offers: the Crossplane XRDs the sync found, by name, with the kinds they make, their "
            "versions and scope, the parameter JSON schema, and how many instances exist per team (counting only "
            "instances you may see). The catalog itself is visible to every signed-in user."
        ),
        responses={200: CapabilityListSerializer, **errors()},
        examples=[_example("postgres", {"results": [CAPABILITY_EXAMPLE]})],
    ),
    retrieve=extend_schema(
        operation_id="capabilities_retrieve",
        summary="Get a capability",
        description="One capability by XRD name (plural.group), as in the list.",
        parameters=[
            OpenApiParameter(
                "name",
                type=str,
                location=OpenApiParameter.PATH,
                description="The XRD's name: its plural and group, e.g. xpostgresqlinstances.platform.example.org.",
                examples=[OpenApiExample("name", value="xpostgresqlinstances.platform.example.org")],
            )
        ],
        responses={200: CapabilitySerializer, **errors(404)},
        examples=[_example("postgres", CAPABILITY_EXAMPLE)],
    ),
)
class CapabilityViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    schema = OneObjectSchema()
    queryset = Resource.objects.all()
    serializer_class = CapabilitySerializer
    lookup_field = "name"
    lookup_value_regex = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"
    filter_backends: ClassVar[list[Any]] = []
    pagination_class = None

    def list(self, request: Request) -> Response:
        return Response({"results": CapabilitySerializer(selectors.capabilities_for(request.user), many=True).data})

    def retrieve(self, request: Request, name: str) -> Response:
        return Response(CapabilitySerializer(selectors.capability_for(request.user, name)).data)
