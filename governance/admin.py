from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from governance.models import AuditEvent


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
