from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from devplat.core.validators import dns_label
from identity.choices import MembershipRoleChoices, TokenScopeChoices
from identity.models import ApiToken, Membership, NamespaceOwnership, Team


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]
        read_only_fields = fields


class MembershipWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MembershipRoleChoices.choices, default=MembershipRoleChoices.DEVELOPER)

    def validate_username(self, value: str) -> Any:
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError(f"No user named {value!r}; create the user first.")
        return user


class NamespaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = NamespaceOwnership
        fields = ["namespace", "created_at"]
        read_only_fields = ["created_at"]
        # No unique validator: `namespace_assign` checks ownership, names the owning team and is idempotent.
        extra_kwargs = {"namespace": {"validators": [dns_label]}}


class TeamSerializer(serializers.ModelSerializer):
    members = MembershipSerializer(source="memberships", many=True, read_only=True)
    namespaces = serializers.SlugRelatedField(many=True, read_only=True, slug_field="namespace")

    class Meta:
        model = Team
        fields = ["id", "name", "display_name", "description", "members", "namespaces", "created_at"]
        read_only_fields = ["id", "members", "namespaces", "created_at"]


class TeamUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["display_name", "description"]


class ApiTokenSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "key_id", "owner", "scope", "description", "expires_at", "status", "last_used_at", "created_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=TokenScopeChoices.choices, default=TokenScopeChoices.READ)
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    team = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Create the token for this team's service account."
    )


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself. Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class MyMembershipSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["team", "role", "created_at"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    is_platform_admin = serializers.BooleanField()
    teams = MyMembershipSerializer(many=True)
    token = ApiTokenSerializer(allow_null=True, help_text="The token this request used, if any.")
