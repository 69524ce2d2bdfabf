"""Operator console pages of provisioning: the capabilities the clusters offer (with their parameter schemas) and the
requests made of them (with how far each got).

A request is created, deleted and nudged through `control_plane.provisioning.services`, the same path as the CLI's
and the API's, so the admin validates, checks the policies, applies and audits exactly as they do.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from control_plane.choices import EnvironmentChoices, RequestStatusChoices
from control_plane.inventory_admin import ReadOnlyAdmin, admin_link, pretty_json
from control_plane.models import Capability, ProvisioningRequest
from control_plane.provisioning import services
from control_plane.provisioning.status import RequestState, states_for
from control_plane.provisioning_cli import PARAMETER_COLUMNS, flatten_schema
from control_plane.selectors import capability_of
from devplat.core.actor import Face, update_actor
from devplat.core.errors import Conflict, Forbidden, NotFound, Unavailable


@admin.register(Capability)
class CapabilityAdmin(ReadOnlyAdmin):
    """The synced XRDs, one row per cluster; the page of one shows its parameters the way `capabilities show` does."""

    list_display = ("name", "cluster", "ready", "health", "last_seen_at")
    list_filter = ("cluster", "ready")
    search_fields = ("name",)
    fields = ("name", "cluster", "ready", "health", "health_reason", "parameters", "schema")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Capability]:
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    @admin.display(description="parameters")
    def parameters(self, obj: Capability) -> SafeString:
        rows = flatten_schema((capability_of(obj)["schema"].get("properties") or {}).get("spec") or {})
        header = format_html_join("", "<th>{}</th>", ((column,) for column in PARAMETER_COLUMNS))
        cells = (format_html_join("", "<td>{}</td>", ((row[column],) for column in PARAMETER_COLUMNS)) for row in rows)
        body = format_html_join("", "<tr>{}</tr>", ((row,) for row in cells))
        return format_html("<table><tr>{}</tr>{}</table>", header, body)

    @admin.display(description="openAPIV3Schema")
    def schema(self, obj: Capability) -> SafeString:
        return pretty_json(capability_of(obj)["schema"])


STATE = "_request_state"  # where a listed request carries its state (the admin instance is shared by all requests)


class RequestChangeList(ChangeList):
    """Computes the page's states (phase, synced composite) in one query once the page is known."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        states = states_for(self.result_list)
        for listed in self.result_list:
            setattr(listed, STATE, states[listed.pk])


class RequestAddForm(forms.ModelForm):
    """What a developer gives; the rest (namespace, rendered object, status) the service decides."""

    capability = forms.CharField(help_text="Kind (Database), plural or XRD name (databases.platform.devplat.io).")
    environment = forms.ChoiceField(choices=EnvironmentChoices.choices, initial=EnvironmentChoices.DEV)
    parameters = forms.JSONField(required=False, initial=dict, help_text='e.g. {"size": "medium"}')
    depends_on_refs = forms.CharField(
        required=False, label="Depends on", help_text="Comma-separated Kind/name of the team's requests."
    )

    user: Any = None  # set per request by the admin: whose permissions the dry run checks

    class Meta:
        model = ProvisioningRequest
        fields = ("team", "capability", "name", "environment", "parameters")

    def clean(self) -> dict[str, Any]:
        """Everything the request would be refused for, as form errors: the service's own dry run."""
        cleaned = super().clean()
        if not self.errors:
            try:
                services.capability_request(user=self.user, dry_run=True, **self.request_kwargs())
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from None
            except (Conflict, Forbidden, NotFound, Unavailable) as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned

    def request_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "capability": data["capability"],
            "name": data["name"],
            "team": data["team"].name,
            "parameters": data.get("parameters") or {},
            "environment": data["environment"],
            "depends_on": [ref.strip() for ref in (data.get("depends_on_refs") or "").split(",") if ref.strip()],
        }


@admin.register(ProvisioningRequest)
class ProvisioningRequestAdmin(admin.ModelAdmin):
    list_display = ("__str__", "team", "cluster", "environment", "status", "phase", "message", "created_at")
    list_filter = ("status", "environment", "team", "cluster", "capability")
    search_fields = ("name", "namespace", "capability")
    list_select_related = ("team", "cluster")
    actions = ["advance_now", "delete_through_devplat"]
    detail = (
        "capability",
        "kind",
        "name",
        "team",
        "cluster",
        "namespace",
        "environment",
        "status",
        "phase",
        "message",
        "waiting_for",
        "depends",
        "warnings",
        "synced_composite",
        "parameters_json",
        "rendered_json",
        "created_by",
        "created_at",
        "applied_at",
        "deleted_at",
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RequestChangeList

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = type("RequestAddFormFor", (RequestAddForm,), {"user": request.user})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("team", "capability", "name", "environment", "parameters", "depends_on_refs")
        return self.detail

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.detail if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # changes go through `devplat` or PATCH, which re-validate the whole object

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the action below deletes through devplat, composite first

    def _state(self, obj: ProvisioningRequest) -> RequestState:
        state = getattr(obj, STATE, None)
        if state is None:
            state = states_for([obj])[obj.pk]
            setattr(obj, STATE, state)
        return state

    @admin.display(description="phase")
    def phase(self, obj: ProvisioningRequest) -> str:
        return self._state(obj).phase

    @admin.display(description="why")
    def message(self, obj: ProvisioningRequest) -> str:
        return self._state(obj).message

    @admin.display(description="depends on")
    def depends(self, obj: ProvisioningRequest) -> str:
        return ", ".join(sorted(d.reference for d in obj.depends_on.all())) or "-"

    @admin.display(description="synced composite")
    def synced_composite(self, obj: ProvisioningRequest) -> SafeString | str:
        resource = self._state(obj).resource
        return admin_link(resource, f"{resource.kind}/{resource.name} ({resource.health})") if resource else "-"

    @admin.display(description="parameters")
    def parameters_json(self, obj: ProvisioningRequest) -> SafeString:
        return pretty_json(obj.parameters)

    @admin.display(description="applied object")
    def rendered_json(self, obj: ProvisioningRequest) -> SafeString:
        return pretty_json(obj.rendered)

    def save_model(self, request: HttpRequest, obj: ProvisioningRequest, form: Any, change: bool) -> None:
        """Create through the service (the form's dry run has already checked it)."""
        update_actor(user_id=request.user.pk, username=request.user.get_username(), face=Face.ADMIN)
        outcome = services.capability_request(user=request.user, **form.request_kwargs())
        assert outcome.request is not None  # noqa: S101 (not a dry run)
        obj.pk = outcome.request.pk
        for warning in outcome.warnings:
            messages.warning(request, warning)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service set the dependencies already."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service wrote the audit event, in its own transaction

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        """What changed between the dry run and the real request (a name taken meanwhile, a cluster gone) is shown
        on a fresh form, never as a server error."""
        try:
            return super().add_view(request, form_url, extra_context)
        except (ValidationError, Conflict, Forbidden, NotFound, Unavailable) as exc:
            messages.error(request, "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
            return HttpResponseRedirect(request.path)

    @admin.action(description="Check waiting requests now")
    def advance_now(self, request: HttpRequest, queryset: QuerySet[ProvisioningRequest]) -> None:
        update_actor(user_id=request.user.pk, username=request.user.get_username(), face=Face.ADMIN)
        for item in queryset.filter(status=RequestStatusChoices.WAITING):
            try:
                status = services.provisioning_request_advance(request_id=item.pk)
            except Unavailable as exc:
                messages.warning(request, f"{item.reference}: {exc}")
                continue
            messages.info(request, f"{item.reference}: {status}")

    @admin.action(description="Delete the composites of selected requests (through devplat)")
    def delete_through_devplat(self, request: HttpRequest, queryset: QuerySet[ProvisioningRequest]) -> None:
        update_actor(user_id=request.user.pk, username=request.user.get_username(), face=Face.ADMIN)
        for item in queryset.exclude(status=RequestStatusChoices.DELETED):
            try:
                services.provisioning_request_delete(user=request.user, request=item)
            except (Conflict, Forbidden, Unavailable, ValidationError) as exc:
                messages.error(request, f"{item.reference}: {exc}")
                continue
            messages.info(request, f"{item.reference} deleted.")
