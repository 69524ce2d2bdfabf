"""Identity API: who am I, teams with their members and namespaces, API tokens."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from devplat.core.api.schema import errors
from devplat.core.api.viewsets import RestrictedModelViewSet, RestrictedViewSetMixin
from devplat.core.querysets import is_platform_admin
from identity import services
from identity.api.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenIssuedSerializer,
    ApiTokenSerializer,
    MembershipSerializer,
    MembershipWriteSerializer,
    MeSerializer,
    MyMembershipSerializer,
    NamespaceSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
)
from identity.models import ApiToken, Membership, NamespaceOwnership, Team
from identity.selectors import require_platform_admin, team_for, user_named


class MeView(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I",
        description="The calling user, their teams and roles, and the token used for this request.",
        responses={200: MeSerializer, **errors()},
        examples=[
            OpenApiExample(
                "member",
                value={
                    "username": "alice",
                    "email": "alice@example.com",
                    "is_platform_admin": False,
                    "teams": [{"team": "payments", "role": "developer", "created_at": "2026-11-25T10:00:00Z"}],
                    "token": None,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = Membership.objects.filter(user=user).select_related("team", "user")
        token = request.auth if isinstance(request.auth, ApiToken) else None
        data = {
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "is_platform_admin": is_platform_admin(user),
            "teams": MyMembershipSerializer(memberships, many=True).data,
            "token": ApiTokenSerializer(token).data if token else None,
        }
        return Response(data)


TEAM_EXAMPLE = OpenApiExample(
    "team",
    value={
        "id": 1,
        "name": "payments",
        "display_name": "Payments",
        "description": "Card and ledger services",
        "members": [{"username": "alice", "role": "admin", "created_at": "2026-11-25T10:00:00Z"}],
        "namespaces": ["payments-dev", "payments-prod"],
        "created_at": "2026-11-25T10:00:00Z",
    },
)


@extend_schema_view(
    list=extend_schema(
        operation_id="teams_list",
        summary="List teams",
        description="Teams you are a member of (platform admins see all).",
        responses={200: TeamSerializer(many=True), **errors(400)},
        examples=[TEAM_EXAMPLE],
    ),
    retrieve=extend_schema(
        operation_id="teams_retrieve",
        summary="Get a team",
        description="A team with its members and namespaces.",
        responses={200: TeamSerializer, **errors(404)},
        examples=[TEAM_EXAMPLE],
    ),
    create=extend_schema(
        operation_id="teams_create",
        summary="Create a team",
        description="Platform admins only. Creates the team's group.",
        request=TeamSerializer,
        responses={201: TeamSerializer, **errors(400)},
        examples=[TEAM_EXAMPLE],
    ),
    partial_update=extend_schema(
        operation_id="teams_partial_update",
        summary="Update a team",
        description="Team admins change the display name and description.",
        request=TeamUpdateSerializer,
        responses={200: TeamSerializer, **errors(400, 404)},
        examples=[TEAM_EXAMPLE],
    ),
    destroy=extend_schema(
        operation_id="teams_destroy",
        summary="Delete a team",
        description="Platform admins only. Removes memberships and namespace ownership.",
        responses={204: None, **errors(404)},
    ),
)
class TeamViewSet(RestrictedModelViewSet):
    queryset = Team.objects.prefetch_related("memberships__user", "namespaces")
    serializer_class = TeamSerializer
    lookup_field = "name"
    forbidden_hints = {"change": "ask one of the team admins", "delete": "only platform admins delete teams"}
    lookup_value_regex = "[a-z0-9-]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["name"]

    def get_serializer_class(self) -> Any:
        return TeamUpdateSerializer if self.action == "partial_update" else TeamSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_platform_admin(request.user, "create teams")
        serializer = TeamSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = services.team_create(
            **{k: serializer.validated_data.get(k, "") for k in ("name", "display_name", "description")}
        )
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        serializer = TeamUpdateSerializer(team, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.team_update(team=team, **serializer.validated_data)
        return Response(TeamSerializer(Team.objects.get(pk=team.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        services.team_delete(team=team)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="teams_members_set",
        summary="Add a member or change a role",
        description="Team admins add a user to the team with a role (viewer, developer, admin), or change the role.",
        request=MembershipWriteSerializer,
        responses={200: MembershipSerializer, **errors(400, 404)},
        examples=[OpenApiExample("add", value={"username": "bob", "role": "developer"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request: Request, name: str) -> Response:
        team = team_for(request.user, name, "change")
        serializer = MembershipWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            team=team, user=serializer.validated_data["username"], role=serializer.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        operation_id="teams_members_remove",
        summary="Remove a member",
        description="Team admins remove a user from the team.",
        request=None,
        responses={204: None, **errors(400, 404)},
    )
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[^/]+)")
    def remove_member(self, request: Request, name: str, username: str) -> Response:
        team = team_for(request.user, name, "change")
        user = user_named(username)
        services.membership_remove(team=team, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="teams_namespaces_assign",
        summary="Give a namespace to the team",
        description="Platform admins only: resources in the namespace become visible to the team's members.",
        request=NamespaceSerializer,
        responses={201: NamespaceSerializer, **errors(400, 404)},
        examples=[OpenApiExample("assign", value={"namespace": "payments-dev"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], url_path="namespaces")
    def namespaces(self, request: Request, name: str) -> Response:
        team = team_for(request.user, name)
        require_platform_admin(request.user, "assign namespaces to teams")
        serializer = NamespaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ownership = services.namespace_assign(team=team, namespace=serializer.validated_data["namespace"])
        return Response(NamespaceSerializer(ownership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="teams_namespaces_release",
        summary="Take a namespace from the team",
        description="Platform admins only.",
        request=None,
        responses={204: None, **errors(404)},
    )
    @action(detail=True, methods=["delete"], url_path=r"namespaces/(?P<namespace>[a-z0-9-]+)")
    def release_namespace(self, request: Request, name: str, namespace: str) -> Response:
        team = team_for(request.user, name)
        require_platform_admin(request.user, "take namespaces from teams")
        ownership = get_object_or_404(NamespaceOwnership, team=team, namespace=namespace)
        services.namespace_release(ownership=ownership)
        return Response(status=status.HTTP_204_NO_CONTENT)


TOKEN_EXAMPLE = OpenApiExample(
    "token",
    value={
        "id": 7,
        "key_id": "3f9c2a1b0d4e5f60",
        "owner": "alice",
        "scope": "read",
        "description": "CI reader",
        "expires_at": None,
        "status": "active",
        "last_used_at": None,
        "created_at": "2026-11-25T10:00:00Z",
    },
)


@extend_schema_view(
    list=extend_schema(
        operation_id="tokens_list",
        summary="List API tokens",
        description="Your tokens and those of the teams you administer. Secrets are never shown.",
        responses={200: ApiTokenSerializer(many=True), **errors(400)},
        examples=[TOKEN_EXAMPLE],
    ),
    retrieve=extend_schema(
        operation_id="tokens_retrieve",
        summary="Get an API token",
        description="One token's metadata.",
        responses={200: ApiTokenSerializer, **errors(404)},
        examples=[TOKEN_EXAMPLE],
    ),
    destroy=extend_schema(
        operation_id="tokens_revoke",
        summary="Revoke an API token",
        description="The token stops working at once; the record stays for the audit log.",
        responses={204: None, **errors(404)},
    ),
)
class ApiTokenViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, GenericViewSet
):
    queryset = ApiToken.objects.select_related("owner")
    serializer_class = ApiTokenSerializer
    filterset_fields = ["scope"]

    @extend_schema(
        operation_id="tokens_create",
        summary="Create an API token",
        description=(
            "Creates a token for yourself, or with `team` for that team's service account (team admins only). "
            "The response carries the token once; only a digest is stored."
        ),
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenIssuedSerializer, **errors(400, 404)},
        examples=[OpenApiExample("create", value={"scope": "read", "description": "CI reader"}, request_only=True)],
    )
    def create(self, request: Request) -> Response:
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owner = request.user
        with transaction.atomic():
            if data["team"]:
                owner = services.team_service_account(team=team_for(request.user, data["team"], "change"))
            issued = services.token_create(
                owner=owner,
                scope=data["scope"],
                description=data["description"],
                expires_at=data["expires_at"],
                created_by=request.user,
            )
        body = {**ApiTokenSerializer(issued.token).data, "token": issued.plaintext}
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
