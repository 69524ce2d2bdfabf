"""Cluster API shapes. Credentials go in through write-only fields and never come out (R13, R16)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from control_plane.kube.kubeconfig import KUBECONFIG_MAX_CHARS, TOKEN_MAX_CHARS
from control_plane.models import Cluster
from devplat.core.validators import dns_label

CREDENTIAL_FIELDS = ("kubeconfig", "context", "server", "token", "ca_data")


class ClusterSerializer(serializers.ModelSerializer):
    """A cluster as everyone sees it: where it is and what was last learnt, with no credential material."""

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "server",
            "auth_method",
            "enabled",
            "labels",
            "last_contact_at",
            "kubernetes_version",
            "crossplane_version",
            "last_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClusterCredentialsInputSerializer(serializers.Serializer):
    """Credentials as input: a kubeconfig (and context), or a server URL with a token and CA. Write-only."""

    kubeconfig = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=KUBECONFIG_MAX_CHARS,
        help_text="A kubeconfig (YAML) with credentials embedded as data. exec, auth-provider, file paths and "
        "insecure-skip-tls-verify are refused.",
    )
    context = serializers.CharField(
        write_only=True, required=False, help_text="The kubeconfig context to use; default: its current-context."
    )
    server = serializers.CharField(
        write_only=True, required=False, max_length=2048, help_text="The API server URL (https), with `token`."
    )
    token = serializers.CharField(
        write_only=True, required=False, max_length=TOKEN_MAX_CHARS, help_text="A bearer token, with `server`."
    )
    ca_data = serializers.CharField(
        write_only=True, required=False, help_text="The API server's CA certificates (PEM), with `server`."
    )

    def credentials_input(self) -> dict[str, Any]:
        """The credential inputs that were given, as `services.credentials_from_input` takes them."""
        return {field: self.validated_data[field] for field in CREDENTIAL_FIELDS if field in self.validated_data}


class ClusterCreateSerializer(ClusterCredentialsInputSerializer):
    name = serializers.CharField(max_length=63, validators=[dns_label])
    enabled = serializers.BooleanField(default=True)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)


class ClusterUpdateSerializer(ClusterCredentialsInputSerializer):
    """Any of: enabled, labels (replaced as a whole), new credentials."""

    enabled = serializers.BooleanField(required=False)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class ClusterTestResultSerializer(serializers.Serializer):
    name = serializers.CharField(source="cluster.name")
    reachable = serializers.BooleanField()
    kubernetes_version = serializers.CharField()
    crossplane_version = serializers.CharField(allow_null=True, help_text="null when Crossplane is not installed.")
    crossplane_installed = serializers.SerializerMethodField()
    error = serializers.CharField(help_text="Why the cluster could not be reached; empty when it was.")
    tested_at = serializers.DateTimeField()

    def get_crossplane_installed(self, result: Any) -> bool | None:
        return result.crossplane_version is not None if result.reachable else None
