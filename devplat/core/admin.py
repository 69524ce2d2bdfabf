"""Admin base: every change made in the operator console is audited in the same transaction.

Django's admin saves inside `transaction.atomic` and calls `log_addition`/`log_change`/`log_deletion` within that
transaction, so writing the audit event there commits or rolls back with the change itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms.models import model_to_dict
from django.http import HttpRequest

from devplat.core.actor import Face, update_actor


def snapshot(obj: Model) -> dict[str, Any]:
    return {k: v for k, v in model_to_dict(obj).items() if not isinstance(v, list | bytes)}


class AuditedAdminMixin:
    """Audit admin adds, changes and deletions through the governance audit service (named by string: layer 0)."""

    def _audit(self, request: HttpRequest, action: str, obj: Model, **diff: Any) -> None:
        from django.utils.module_loading import import_string

        update_actor(user_id=request.user.pk, username=request.user.get_username(), face=Face.ADMIN)
        import_string("governance.services.audit_record")(action=f"{obj._meta.model_name}.{action}", target=obj, **diff)

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, "create", obj, after=snapshot(obj))
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, "update", obj, after=snapshot(obj))
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._audit(request, "delete", obj, before=snapshot(obj))
        return super().log_deletions(request, queryset)  # type: ignore[misc]


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    pass

    def get_actions(self, request: HttpRequest) -> Any:
        # Bulk deletion runs outside the admin's transaction, so its audit rows could not share one: delete one by one.
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions
