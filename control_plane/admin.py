"""Operator console page for clusters. Writes go through control_plane.services (audited); credentials go in,
through the same checks as the CLI and API, and never come back out: the page says "stored (encrypted)"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Greatest
from django.http import HttpRequest
from django.utils import timezone

from control_plane import (
    inventory_admin,  # noqa: F401 (registers the inventory pages)
    provisioning_admin,  # noqa: F401 (registers the capability and request pages)
    services,
)
from control_plane.inventory_cli import age
from control_plane.kube.credentials import ClusterCredentials
from control_plane.models import Cluster

# Form inputs -> `services.credentials_from_input` arguments. `server_url`, since `server` is the stored field.
CREDENTIAL_INPUTS = {
    "kubeconfig": "kubeconfig",
    "context": "context",
    "server_url": "server",
    "token": "token",
    "ca_data": "ca_data",
}


class SecretTextarea(forms.Textarea):
    """A textarea that never echoes its text back into the page (a pasted kubeconfig holds keys and tokens)."""

    def format_value(self, value: Any) -> None:
        return None


class ClusterForm(forms.ModelForm):
    kubeconfig = forms.CharField(
        required=False,
        widget=SecretTextarea(attrs={"rows": 14, "cols": 100, "autocomplete": "off", "spellcheck": "false"}),
        help_text="Paste a kubeconfig with credentials embedded as data (`kubectl config view --minify --flatten`). "
        "exec, auth-provider, file paths and insecure-skip-tls-verify are refused.",
    )
    context = forms.CharField(required=False, help_text="The kubeconfig context to use; default: its current-context.")
    server_url = forms.CharField(
        required=False, label="API server URL", help_text="Instead of a kubeconfig: https://host:6443 with a token."
    )
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A bearer token, e.g. a ServiceAccount's (`kubectl create token NAME -n NAMESPACE`).",
    )
    ca_data = forms.CharField(
        required=False,
        label="CA certificates (PEM)",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 100, "spellcheck": "false"}),
    )

    class Meta:
        model = Cluster
        fields = ["name", "enabled", "labels"]

    def clean(self) -> dict[str, Any]:
        """Turn the credential inputs into checked credentials; required to register, optional to change."""
        data = super().clean()
        self.new_credentials: ClusterCredentials | None = None
        given = {arg: data.get(field) or None for field, arg in CREDENTIAL_INPUTS.items()}
        if self.instance.pk is not None and not any(given.values()):
            return data
        try:
            self.new_credentials = services.credentials_from_input(**given)
        except ValidationError as exc:
            inputs = {arg: field for field, arg in CREDENTIAL_INPUTS.items()}
            for arg, problems in exc.message_dict.items():
                self.add_error(inputs.get(arg), problems)
        return data


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = (
        "name",
        "server",
        "enabled",
        "auth_method",
        "kubernetes_version",
        "crossplane_version",
        "last_contact_at",
        "synced_types",
        "synced_objects",
        "oldest_cursor",
        "newest_event",
        "types_with_errors",
    )
    list_filter = ("enabled", "auth_method")
    search_fields = ("name", "server")
    readonly_fields = (
        "server",
        "stored_credentials",
        "last_contact_at",
        "kubernetes_version",
        "crossplane_version",
        "last_error",
        "created_at",
        "updated_at",
    )
    actions = ["test_connection"]
    _credential_fields = tuple(CREDENTIAL_INPUTS)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [
                (None, {"fields": ("name", "enabled", "labels")}),
                (
                    "Credentials",
                    {
                        "fields": self._credential_fields,
                        "description": "Paste a kubeconfig, or give the API server URL with a token (and its CA).",
                    },
                ),
            ]
        return [
            (None, {"fields": ("name", "server", "stored_credentials", "enabled", "labels")}),
            (
                "Last probe",
                {"fields": ("last_contact_at", "kubernetes_version", "crossplane_version", "last_error")},
            ),
            (
                "Replace credentials",
                {
                    "fields": self._credential_fields,
                    "classes": ("collapse",),
                    "description": "Leave empty to keep the stored credentials.",
                },
            ),
            ("History", {"fields": ("created_at", "updated_at")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cluster]:
        """Each cluster with the sync health of its watched types, aggregated in the same query."""
        watched = Q(resource_types__watched=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                type_count=Count("resource_types", filter=watched),
                object_total=Sum("resource_types__object_count", filter=watched),
                never_synced=Count("resource_types", filter=watched & Q(resource_types__last_list_at__isnull=True)),
                oldest_cursor_at=Min(
                    Greatest("resource_types__last_list_at", "resource_types__last_event_at"), filter=watched
                ),
                newest_event_at=Max("resource_types__last_event_at", filter=watched),
                error_types=Count("resource_types", filter=watched & ~Q(resource_types__last_error="")),
            )
        )

    @admin.display(description="types", ordering="type_count")
    def synced_types(self, obj: Any) -> int:
        return obj.type_count

    @admin.display(description="objects", ordering="object_total")
    def synced_objects(self, obj: Any) -> int:
        return obj.object_total or 0

    @admin.display(description="oldest cursor")
    def oldest_cursor(self, obj: Any) -> str:
        """The age of the least recently advanced cursor; "never" while a watched type has not been listed yet."""
        if obj.never_synced:
            return f"never ({obj.never_synced} types)"
        return age(obj.oldest_cursor_at, timezone.now()) or "-"

    @admin.display(description="newest event", ordering="newest_event_at")
    def newest_event(self, obj: Any) -> str:
        return f"{age(obj.newest_event_at, timezone.now())} ago" if obj.newest_event_at else "-"

    @admin.display(description="types with errors", ordering="error_types")
    def types_with_errors(self, obj: Any) -> int:
        return obj.error_types

    @admin.display(description="credentials")
    def stored_credentials(self, obj: Cluster) -> str:
        return f"stored (encrypted): {obj.get_auth_method_display()}" if obj.pk else "-"

    def save_model(self, request: HttpRequest, obj: Cluster, form: ClusterForm, change: bool) -> None:
        if change:
            services.cluster_update(
                cluster=obj, enabled=obj.enabled, labels=obj.labels, credentials=form.new_credentials
            )
            return
        created = services.cluster_register(
            name=obj.name, credentials=form.new_credentials, enabled=obj.enabled, labels=obj.labels
        )
        obj.pk, obj.created_at = created.pk, created.created_at

    def delete_model(self, request: HttpRequest, obj: Cluster) -> None:
        services.cluster_remove(cluster=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            services.cluster_remove(cluster=cluster)

    @admin.action(description="Test the connection to the selected clusters")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            result = services.cluster_test(cluster=cluster)
            if result.reachable:
                crossplane = result.crossplane_version or "not installed"
                messages.success(
                    request,
                    f"{cluster.name}: reachable, Kubernetes {result.kubernetes_version}, Crossplane {crossplane}.",
                )
            else:
                messages.error(request, f"{cluster.name}: not reachable: {result.error}")
