"""Provisioning requests as the API shows them, and the bodies that create and change them.

Output serializers read a request with its state (`control_plane.provisioning.status`) in the serializer context
under `states`; nothing here decides anything, the service does.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from control_plane.choices import EnvironmentChoices
from control_plane.models import ProvisioningRequest

PHASES = ("Waiting", "Applied", "Updating", "Creating", "Ready", "Failing", "Failed", "Deleted", "Gone")


class RequestResourceSerializer(serializers.Serializer):
    """The synced composite the request made, as the inventory has it."""

    id = serializers.IntegerField(help_text="Its id under /api/v1/resources/.")
    uid = serializers.CharField()
    health = serializers.CharField()
    ready = serializers.BooleanField(allow_null=True)
    synced = serializers.BooleanField(allow_null=True)
    tree_health = serializers.CharField(allow_blank=True)
    failing_message = serializers.CharField(allow_blank=True, help_text="The deepest failure's condition message.")


class ProvisioningRequestSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", read_only=True)
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    depends_on = serializers.SerializerMethodField()
    phase = serializers.SerializerMethodField(help_text="How far it got: " + ", ".join(PHASES) + ".")
    message = serializers.SerializerMethodField(help_text="Why it is in this phase, when that needs saying.")
    resource = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ProvisioningRequest
        fields = (
            "id",
            "capability",
            "api_version",
            "kind",
            "name",
            "team",
            "cluster",
            "namespace",
            "environment",
            "parameters",
            "depends_on",
            "status",
            "phase",
            "message",
            "waiting_for",
            "warnings",
            "resource",
            "created_by",
            "created_at",
            "updated_at",
            "applied_at",
            "deleted_at",
        )
        read_only_fields = fields

    def _state(self, request: ProvisioningRequest) -> Any:
        return self.context["states"][request.pk]

    def get_depends_on(self, request: ProvisioningRequest) -> list[str]:
        return sorted(dependency.reference for dependency in request.depends_on.all())

    def get_phase(self, request: ProvisioningRequest) -> str:
        return str(self._state(request).phase)

    def get_message(self, request: ProvisioningRequest) -> str:
        return str(self._state(request).message)

    @extend_schema_field(RequestResourceSerializer(allow_null=True))
    def get_resource(self, request: ProvisioningRequest) -> dict[str, Any] | None:
        resource = self._state(request).resource
        return None if resource is None else RequestResourceSerializer(resource).data


class ProvisioningRequestCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63, help_text="The composite's name, unique per capability and namespace.")
    team = serializers.CharField(max_length=63, help_text="The requesting team; you must be one of its developers.")
    parameters = serializers.DictField(
        required=False, default=dict, help_text="The capability's parameters (see its schema); defaults fill the rest."
    )
    environment = serializers.ChoiceField(choices=EnvironmentChoices.choices, default=EnvironmentChoices.DEV)
    namespace = serializers.CharField(
        max_length=63, required=False, help_text="One of the team's namespaces; needed only when it has several."
    )
    cluster = serializers.CharField(
        max_length=63, required=False, help_text="Needed only when several clusters offer the capability."
    )
    depends_on = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=20,
        help_text="Requests of the same team this one waits for, as Kind/name (an App on its Database).",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Validate, evaluate the policies and run the server's dry run; record nothing."
    )


class ProvisioningRequestUpdateSerializer(serializers.Serializer):
    parameters = serializers.DictField(
        required=False, help_text="A JSON merge patch over the requested parameters: null removes one."
    )
    environment = serializers.ChoiceField(choices=EnvironmentChoices.choices, required=False)
    depends_on = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=20, help_text="Replaces them."
    )
    dry_run = serializers.BooleanField(default=False)


class DryRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(help_text="Always true: nothing was recorded or created.")
    object = serializers.DictField(help_text="The composite as the cluster would store it (its server-side dry run).")
    warnings = serializers.ListField(child=serializers.CharField(), help_text="Warn-mode policy messages.")
    waiting_for = serializers.ListField(
        child=serializers.CharField(), help_text="What a real request would wait for before it is applied."
    )
