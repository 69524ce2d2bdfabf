"""Provisioning API: request a capability instance, follow it to Ready, change it, delete it.

`/api/v1/capabilities/{capability}/requests/` lists and creates, `.../requests/{id}/` reads, changes and deletes.
Every write goes through `control_plane.provisioning.services` (validation, admission policies, server-side apply,
audit) and needs a token with the `provision` scope; reads need `read` and show only the caller's teams' requests
(another team's answers 404).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from control_plane.api.provisioning_serializers import (
    DryRunSerializer,
    ProvisioningRequestCreateSerializer,
    ProvisioningRequestSerializer,
    ProvisioningRequestUpdateSerializer,
)
from control_plane.choices import RequestStatusChoices
from control_plane.models import ProvisioningRequest
from control_plane.provisioning import services
from control_plane.provisioning.catalog import offer_for
from control_plane.provisioning.status import states_for
from devplat.core.api.pagination import IdCursorPagination
from devplat.core.api.schema import errors
from devplat.core.api.viewsets import RestrictedViewSetMixin

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

CAPABILITY = OpenApiParameter(
    "capability",
    type=str,
    location=OpenApiParameter.PATH,
    description="The capability: its XRD name (databases.platform.devplat.io) or its plural (databases).",
    examples=[OpenApiExample("capability", value="databases.platform.devplat.io")],
)
REQUEST_ID = OpenApiParameter(
    "id",
    type=int,
    location=OpenApiParameter.PATH,
    description="The request's id.",
    examples=[OpenApiExample("id", value=12)],
)
IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Makes a retried POST safe: the same key with the same body answers the first request again "
    "(with `Idempotent-Replayed: true`); the same key with another body is a 400.",
    examples=[OpenApiExample("key", value="6f1c1f2e-create-orders-db")],
)
INCLUDE_DELETED = OpenApiParameter(
    "include_deleted",
    type=bool,
    location=OpenApiParameter.QUERY,
    required=False,
    description="Also list deleted requests (default false).",
    examples=[OpenApiExample("include_deleted", value=True)],
)
REQUEST_EXAMPLE = {
    "id": 12,
    "capability": "databases.platform.devplat.io",
    "api_version": "platform.devplat.io/v1alpha1",
    "kind": "Database",
    "name": "orders-db",
    "team": "checkout",
    "cluster": "prod",
    "namespace": "team-checkout",
    "environment": "prod",
    "parameters": {"size": "medium", "storageGB": 50},
    "depends_on": [],
    "status": "applied",
    "phase": "Ready",
    "message": "",
    "waiting_for": [],
    "warnings": [],
    "resource": {
        "id": 4711,
        "uid": "0b1e4c7a-52c4-4d5e-9a0e-6f6b3c1d2e3f",
        "health": "healthy",
        "ready": True,
        "synced": True,
        "tree_health": "healthy",
        "failing_message": "",
    },
    "created_by": "alice",
    "created_at": "2026-11-26T09:00:00Z",
    "updated_at": "2026-11-26T09:02:00Z",
    "applied_at": "2026-11-26T09:00:00Z",
    "deleted_at": None,
}
REQUEST_OR_DRY_RUN = PolymorphicProxySerializer(
    component_name="ProvisioningRequestOrDryRun",
    serializers=[ProvisioningRequestSerializer, DryRunSerializer],
    resource_type_field_name=None,
)
CREATE_EXAMPLES = [
    OpenApiExample(
        "database",
        value={"name": "orders-db", "team": "checkout", "environment": "prod", "parameters": {"size": "medium"}},
        request_only=True,
    ),
    OpenApiExample(
        "app on its database, dry run first",
        value={
            "name": "orders",
            "team": "checkout",
            "parameters": {"image": "ghcr.io/acme/orders:1.4.2", "databaseRef": {"name": "orders-db"}},
            "depends_on": ["Database/orders-db"],
            "dry_run": True,
        },
        request_only=True,
    ),
    OpenApiExample("request", value=REQUEST_EXAMPLE, response_only=True, status_codes=["201"]),
    OpenApiExample(
        "dry run",
        value={
            "dry_run": True,
            "object": {
                "apiVersion": "platform.devplat.io/v1alpha1",
                "kind": "Database",
                "metadata": {
                    "name": "orders-db",
                    "namespace": "team-checkout",
                    "labels": {"devplat.io/team": "checkout", "devplat.io/environment": "prod"},
                },
                "spec": {"engine": "postgres", "engineVersion": "16", "size": "medium", "storageGB": 20},
            },
            "warnings": [],
            "waiting_for": [],
        },
        response_only=True,
        status_codes=["200"],
    ),
]


def _dry_run(outcome: services.Outcome) -> Response:
    """What a dry run answers: the object as the cluster would store it, with the policies' warnings."""
    answer = {
        "dry_run": True,
        "object": outcome.object,
        "warnings": outcome.warnings,
        "waiting_for": outcome.waiting_for,
    }
    return Response(DryRunSerializer(answer).data)


@extend_schema_view(
    list=extend_schema(
        operation_id="capability_requests_list",
        summary="List requests of a capability",
        description="The provisioning requests of this capability made by your teams, newest first, each with its "
        "phase (Waiting, Applied, Updating, Creating, Ready, Failing, Failed, Deleted, Gone) and the synced composite.",
        parameters=[CAPABILITY, INCLUDE_DELETED],
        responses={200: ProvisioningRequestSerializer(many=True), **errors(400, 404)},
        examples=[OpenApiExample("requests", value=REQUEST_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        operation_id="capability_requests_retrieve",
        summary="Get a request",
        description="One request with its phase, what it waits for and the synced composite.",
        parameters=[CAPABILITY, REQUEST_ID],
        responses={200: ProvisioningRequestSerializer, **errors(404)},
        examples=[OpenApiExample("request", value=REQUEST_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        operation_id="capability_requests_create",
        summary="Request a capability instance",
        description="Validates the parameters against the capability's schema (types, enums, defaults, CEL rules), "
        "evaluates the admission policies (a denial lists every violated policy under `errors.policies`), renders "
        "the composite into the team's namespace and server-side applies it as field manager `devplat` (a "
        "conflict with another manager is a 409 naming it). With `dry_run` nothing is recorded: the answer is the "
        "object as the cluster would store it. With `depends_on` the request waits until those are Ready and "
        "their connection secrets exist. Needs a token with the `provision` scope.",
        parameters=[CAPABILITY, IDEMPOTENCY],
        request=ProvisioningRequestCreateSerializer,
        responses={
            201: ProvisioningRequestSerializer,
            200: DryRunSerializer,
            **errors(400, 404, 409),
        },
        examples=CREATE_EXAMPLES,
    ),
    partial_update=extend_schema(
        operation_id="capability_requests_update",
        summary="Change a request",
        description="Merge-patch the parameters (null removes one), change the environment or replace the "
        "dependencies; the whole composite is validated, checked by the policies and applied again. `dry_run` "
        "answers the object as the cluster would store it and changes nothing.",
        parameters=[CAPABILITY, REQUEST_ID],
        request=ProvisioningRequestUpdateSerializer,
        responses={200: REQUEST_OR_DRY_RUN, **errors(400, 404, 409)},
        examples=[
            OpenApiExample("resize", value={"parameters": {"storageGB": 100}}, request_only=True),
            OpenApiExample("request", value=REQUEST_EXAMPLE, response_only=True),
        ],
    ),
    destroy=extend_schema(
        operation_id="capability_requests_delete",
        summary="Delete a request's composite",
        description="Deletes the composite from the cluster (Crossplane deletes what it composed) and marks the "
        "request deleted. Refused with 409 while other live requests depend on it.",
        parameters=[CAPABILITY, REQUEST_ID],
        responses={200: ProvisioningRequestSerializer, **errors(404, 409)},
        examples=[OpenApiExample("deleted", value={**REQUEST_EXAMPLE, "status": "deleted"}, response_only=True)],
    ),
)
class ProvisioningRequestViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ProvisioningRequest.objects.select_related("team", "cluster", "created_by").prefetch_related(
        "depends_on"
    )
    serializer_class = ProvisioningRequestSerializer
    pagination_class = IdCursorPagination
    filter_backends: ClassVar[list[Any]] = []
    write_scope = "provision"
    http_method_names: ClassVar[list[str]] = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]+"
    forbidden_hints: ClassVar[dict[str, str]] = {
        "change": "only the team's developers and admins change its requests",
        "delete": "only the team's developers and admins delete its requests",
    }

    def _capability(self) -> str:
        """The XRD name the path names: taken as is when requests of it exist, else resolved like kubectl."""
        named = self.kwargs["capability"]
        if ProvisioningRequest.objects.filter(capability=named).exists():
            return named
        return offer_for(self.request.user, named).name

    def get_queryset(self) -> QuerySet[ProvisioningRequest]:
        requests = super().get_queryset().filter(capability=self._capability())
        include_deleted = self.request.query_params.get("include_deleted", "").lower() in ("1", "true", "yes")
        if self.action == "list" and not include_deleted:
            requests = requests.exclude(status=RequestStatusChoices.DELETED)
        return requests

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "states": getattr(self, "_states", {})}

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        self._states = states_for(page if page is not None else queryset)
        return page

    def _answer(
        self, request_obj: ProvisioningRequest, code: int = status.HTTP_200_OK, headers: dict[str, str] | None = None
    ) -> Response:
        self._states = states_for([request_obj])
        return Response(self.get_serializer(request_obj).data, status=code, headers=headers)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self.get_object())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ProvisioningRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = services.capability_request(
            user=request.user,
            capability=self.kwargs["capability"],
            name=data["name"],
            team=data["team"],
            parameters=data["parameters"],
            environment=data["environment"],
            namespace=data.get("namespace"),
            cluster=data.get("cluster"),
            depends_on=data["depends_on"],
            dry_run=data["dry_run"],
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, "")[:255],
        )
        if outcome.request is None:
            return _dry_run(outcome)
        if outcome.replayed:
            return self._answer(outcome.request, headers={REPLAYED_HEADER: "true"})
        return self._answer(outcome.request, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        body = ProvisioningRequestUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = services.provisioning_request_update(
            user=request.user,
            request=target,
            parameters=data.get("parameters"),
            environment=data.get("environment"),
            depends_on=data.get("depends_on"),
            dry_run=data["dry_run"],
        )
        if outcome.request is None:
            return _dry_run(outcome)
        return self._answer(outcome.request)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(services.provisioning_request_delete(user=request.user, request=self.get_object()))
