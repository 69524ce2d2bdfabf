"""Cluster API: everyone signed in reads the registry; platform admins register, change, test and remove clusters."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from control_plane import services
from control_plane.api.serializers import (
    ClusterCreateSerializer,
    ClusterSerializer,
    ClusterTestResultSerializer,
    ClusterUpdateSerializer,
)
from control_plane.models import Cluster
from control_plane.selectors import require_platform_admin
from devplat.core.api.schema import errors
from devplat.core.api.viewsets import RestrictedModelViewSet

CLUSTER_EXAMPLE = OpenApiExample(
    "cluster",
    value={
        "id": 1,
        "name": "prod-eu",
        "server": "https://k8s.prod-eu.example.com:6443",
        "auth_method": "token",
        "enabled": True,
        "labels": {"env": "prod", "region": "eu-west-1"},
        "last_contact_at": "2026-11-25T10:00:00Z",
        "kubernetes_version": "v1.34.1",
        "crossplane_version": "v2.1.0",
        "last_error": "",
        "created_at": "2026-11-25T09:00:00Z",
        "updated_at": "2026-11-25T10:00:00Z",
    },
    response_only=True,
)
REGISTER_EXAMPLES = [
    OpenApiExample(
        "server and token",
        value={
            "name": "prod-eu",
            "server": "https://k8s.prod-eu.example.com:6443",
            "token": "eyJhbGciOiJSUzI1NiIs...",
            "ca_data": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n",
            "labels": {"env": "prod"},
        },
        request_only=True,
    ),
    OpenApiExample(
        "kubeconfig",
        value={"name": "prod-eu", "kubeconfig": "apiVersion: v1\nkind: Config\n...", "context": "prod-eu-admin"},
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(
        operation_id="clusters_list",
        summary="List clusters",
        description="Every registered cluster, with what the last probe found. Credentials are never returned.",
        responses={200: ClusterSerializer(many=True), **errors(400)},
        examples=[CLUSTER_EXAMPLE],
    ),
    retrieve=extend_schema(
        operation_id="clusters_retrieve",
        summary="Get a cluster",
        description="One cluster by name. Credentials are never returned.",
        responses={200: ClusterSerializer, **errors(404)},
        examples=[CLUSTER_EXAMPLE],
    ),
    create=extend_schema(
        operation_id="clusters_create",
        summary="Register a cluster",
        description=(
            "Platform admins only. Give a kubeconfig with embedded credentials (and optionally a context), or a "
            "`server` URL with a `token` (and `ca_data`). Refused with the reason, before anything connects: "
            "kubeconfigs with exec, auth-provider, file paths or insecure-skip-tls-verify; non-https URLs; "
            "loopback, link-local, metadata and (unless allow-listed) private addresses. The credentials are "
            "stored encrypted."
        ),
        request=ClusterCreateSerializer,
        responses={201: ClusterSerializer, **errors(400)},
        examples=[*REGISTER_EXAMPLES, CLUSTER_EXAMPLE],
    ),
    partial_update=extend_schema(
        operation_id="clusters_partial_update",
        summary="Update a cluster",
        description=(
            "Platform admins only. Enable or disable it, replace its labels, or replace its credentials (the same "
            "inputs, and the same checks, as registering)."
        ),
        request=ClusterUpdateSerializer,
        responses={200: ClusterSerializer, **errors(400, 404)},
        examples=[
            OpenApiExample("disable", value={"enabled": False}, request_only=True),
            CLUSTER_EXAMPLE,
        ],
    ),
    destroy=extend_schema(
        operation_id="clusters_destroy",
        summary="Remove a cluster",
        description="Platform admins only. Forgets the cluster and its stored credentials.",
        responses={204: None, **errors(404)},
    ),
)
class ClusterViewSet(RestrictedModelViewSet):
    queryset = Cluster.objects.all()
    serializer_class = ClusterSerializer
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9-]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["name", "enabled"]
    forbidden_hints = {
        "change": "only platform admins change or test clusters",
        "delete": "only platform admins remove clusters",
    }

    @property
    def restrict_action(self) -> str:
        """Testing writes what the probe found onto the cluster: it needs `change`, not the POST default `add`."""
        return "change" if self.action == "test" else super().restrict_action

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_platform_admin(request.user, "register clusters")
        serializer = ClusterCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cluster = services.cluster_register(
            name=data["name"],
            credentials=services.credentials_from_input(**serializer.credentials_input()),
            enabled=data["enabled"],
            labels=data["labels"],
        )
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cluster = self.get_object()
        serializer = ClusterUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.credentials_input()
        cluster = services.cluster_update(
            cluster=cluster,
            enabled=serializer.validated_data.get("enabled"),
            labels=serializer.validated_data.get("labels"),
            credentials=services.credentials_from_input(**given) if given else None,
        )
        return Response(ClusterSerializer(cluster).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.cluster_remove(cluster=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="clusters_test",
        summary="Test a cluster",
        description=(
            "Platform admins only. Connects to the cluster's API server, reads its Kubernetes version and whether "
            "Crossplane is installed, and records the outcome on the cluster. An unreachable cluster still answers "
            "200, with `reachable` false and the reason in `error`."
        ),
        request=None,
        responses={200: ClusterTestResultSerializer, **errors(404)},
        examples=[
            OpenApiExample(
                "reachable",
                value={
                    "name": "prod-eu",
                    "reachable": True,
                    "kubernetes_version": "v1.34.1",
                    "crossplane_version": "v2.1.0",
                    "crossplane_installed": True,
                    "error": "",
                    "tested_at": "2026-11-25T10:00:00Z",
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="test")
    def test(self, request: Request, name: str) -> Response:
        result = services.cluster_test(cluster=self.get_object())
        return Response(ClusterTestResultSerializer(result).data)
