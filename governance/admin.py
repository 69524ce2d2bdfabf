from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from governance import services
from governance.models import AuditEvent, Policy


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: the database refuses changes anyway."""

    list_display = ("seq", "time", "actor_username", "face", "action", "target_repr")
    list_filter = ("face", "action", "target_type")
    search_fields = ("actor_username", "action", "target_repr", "request_id", "target_id")
    date_hierarchy = "time"
    readonly_fields = (
        "seq", "time", "actor_username", "actor_user_id", "actor_token", "face", "action", "target_type",
        "target_id", "target_repr", "before_pretty", "after_pretty", "request_id", "prev_hash", "hash",
    )  # fmt: skip
    exclude = ("before", "after")

    @admin.display(description="before")
    def before_pretty(self, obj: AuditEvent) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(obj.before, indent=2)) if obj.before is not None else "-"

    @admin.display(description="after")
    def after_pretty(self, obj: AuditEvent) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(obj.after, indent=2)) if obj.after is not None else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Admission policies. The form shows compile errors on the expression field (Policy.clean); saves and deletions
    go through the services, which audit them as the signed-in admin in the same transaction."""

    list_display = ("name", "mode", "targets", "enabled", "updated_at")
    list_filter = ("mode", "enabled")
    search_fields = ("name", "description", "expression", "message")
    fieldsets = (
        (None, {"fields": ("name", "description", "mode", "enabled")}),
        ("Rule", {"fields": ("expression", "message")}),
        ("Targets (comma-separated; empty means all)", {"fields": ("capabilities", "kinds", "teams", "environments")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("created_at", "updated_at")
    actions = ["enable", "disable"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "expression":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 5, "cols": 100, "style": "font-family: monospace"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    @admin.display(description="targets")
    def targets(self, obj: Policy) -> str:
        return obj.targets_summary()

    def save_model(self, request: HttpRequest, obj: Policy, form: Any, change: bool) -> None:
        fields: dict[str, Any] = {
            "description": obj.description,
            "expression": obj.expression,
            "message": obj.message,
            "mode": obj.mode,
            "capabilities": obj.capabilities,
            "kinds": obj.kinds,
            "teams": obj.teams,
            "environments": obj.environments,
            "enabled": obj.enabled,
        }
        if change:
            saved = services.policy_update(policy=obj, **fields)
        else:
            saved = services.policy_create(name=obj.name, **fields)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: Policy) -> None:
        services.policy_delete(policy=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Policy]) -> None:
        for policy in queryset:
            services.policy_delete(policy=policy)

    @admin.action(description="Enable selected policies")
    def enable(self, request: HttpRequest, queryset: QuerySet[Policy]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected policies")
    def disable(self, request: HttpRequest, queryset: QuerySet[Policy]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Policy], *, enabled: bool) -> None:
        for policy in queryset:
            services.policy_update(policy=policy, enabled=enabled)
        count = len(queryset)
        done = "Enabled" if enabled else "Disabled"
        messages.success(request, f"{done} {count} {'policy' if count == 1 else 'policies'}.")
