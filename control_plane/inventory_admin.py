"""Operator console pages of the synced inventory: types and their sync state, resources, changes and sync runs.

Everything here is read-only: only the sync writes these rows. The one write is including or excluding a type
from the sync, an action that goes through `services.resource_type_set_watched` (audited). The resource list stays
fast at 100k rows: one query with its joins, no full count, and the large JSON columns left out.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from control_plane import services
from control_plane.inventory_cli import age
from control_plane.models import Resource, ResourceChange, ResourceType, SyncRun
from control_plane.tree import HEAVY_FIELDS, TreeNode, resource_tree

HISTORY_SHOWN = 50
# The page of one resource: (section title, fields), every one read-only.
RESOURCE_SECTIONS: list[tuple[str | None, tuple[str, ...]]] = [
    (
        None,
        ("cluster", "api_version", "kind", "namespace", "name", "uid", "team", "health", "health_reason"),
    ),
    ("Conditions", ("ready", "synced", "conditions_json")),
    ("Tree", ("tree_health", "failing_link", "failing_message", "tree")),
    ("Object", ("labels_json", "annotations_json", "spec_json", "status_json")),
    ("Change history", ("history",)),
    (
        "Sync",
        (
            "resource_version",
            "generation",
            "observed_generation",
            "created_at_k8s",
            "first_seen_at",
            "last_seen_at",
            "deleted_at",
            "deleted_reason",
        ),
    ),
]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown to staff, changed by no one: the sync owns these rows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def pretty_json(value: Any) -> SafeString:
    """JSON indented for reading, in a <pre> block (escaped)."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def admin_link(resource: Resource, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("admin:control_plane_resource_change", args=[resource.pk]), text)


class ErrorFilter(admin.SimpleListFilter):
    """Rows that carry an error message (an empty one means none)."""

    title = "error"
    parameter_name = "error"
    field = "last_error"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With an error"), ("no", "Without")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        empty = Q(**{self.field: ""})
        if self.value() == "yes":
            return queryset.exclude(empty)
        if self.value() == "no":
            return queryset.filter(empty)
        return queryset


class RunErrorFilter(ErrorFilter):
    field = "error"


class LiveFilter(admin.SimpleListFilter):
    """Live rows by default; tombstones (deleted in the cluster) on request."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("deleted", "Deleted (tombstones)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(ResourceType)
class ResourceTypeAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "cluster",
        "kind",
        "category",
        "watched",
        "served",
        "object_count",
        "cursor_age",
        "lag_ms",
        "error_count",
        "short_error",
        "backoff_until",
    )
    list_filter = ("cluster", "category", "watched", "served", ErrorFilter)
    search_fields = ("kind", "plural", "group")
    list_select_related = ("cluster",)
    actions = ["exclude_from_sync", "include_in_sync"]
    readonly_fields = tuple(f.name for f in ResourceType._meta.fields if f.name != "id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The list actions need it; the page of one type is read-only."""
        return obj is None and super().has_change_permission(request)

    @admin.display(description="cursor age")
    def cursor_age(self, obj: ResourceType) -> str:
        """Time since the cursor last moved: the newest list or event batch committed."""
        moved = max((t for t in (obj.last_list_at, obj.last_event_at) if t is not None), default=None)
        return age(moved, timezone.now()) or "never"

    @admin.display(description="last error")
    def short_error(self, obj: ResourceType) -> str:
        return obj.last_error[:120]

    def _set_watched(self, request: HttpRequest, queryset: QuerySet[ResourceType], watched: bool) -> None:
        changed = [
            resource_type.key
            for resource_type in queryset.select_related("cluster")
            if resource_type.watched != watched
            and services.resource_type_set_watched(resource_type=resource_type, watched=watched)
        ]
        verb = "Included in" if watched else "Excluded from"
        messages.success(request, f"{verb} sync: {', '.join(changed) or 'nothing to change'}.")

    @admin.action(description="Exclude from sync", permissions=["change"])
    def exclude_from_sync(self, request: HttpRequest, queryset: QuerySet[ResourceType]) -> None:
        self._set_watched(request, queryset, watched=False)

    @admin.action(description="Include in sync", permissions=["change"])
    def include_in_sync(self, request: HttpRequest, queryset: QuerySet[ResourceType]) -> None:
        self._set_watched(request, queryset, watched=True)


class ResourceChangeList(ChangeList):
    """The list page without the large JSON columns, which the list never shows."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        return super().get_queryset(request, exclude_parameters).defer(*HEAVY_FIELDS, "labels", "conditions")


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "cluster", "kind", "namespace", "health", "ready", "synced", "tree_health", "team")
    list_filter = (LiveFilter, "cluster", "health", "ready", "synced", "team", "kind", "namespace")
    search_fields = ("name", "namespace", "=uid")
    list_select_related = ("cluster", "team")
    show_full_result_count = False
    ordering = ("-id",)
    fieldsets = [(title, {"fields": fields}) for title, fields in RESOURCE_SECTIONS]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ResourceChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field for _, fields in RESOURCE_SECTIONS for field in fields]

    @admin.display(description="labels")
    def labels_json(self, obj: Resource) -> SafeString:
        return pretty_json(obj.labels)

    @admin.display(description="annotations")
    def annotations_json(self, obj: Resource) -> SafeString:
        return pretty_json(obj.annotations)

    @admin.display(description="spec")
    def spec_json(self, obj: Resource) -> SafeString:
        return pretty_json(obj.spec)

    @admin.display(description="status")
    def status_json(self, obj: Resource) -> SafeString:
        return pretty_json(obj.status)

    @admin.display(description="conditions")
    def conditions_json(self, obj: Resource) -> SafeString:
        return pretty_json(obj.conditions)

    @admin.display(description="failing")
    def failing_link(self, obj: Resource) -> SafeString | str:
        return admin_link(obj.failing, str(obj.failing)) if obj.failing is not None else "-"

    @admin.display(description="tree")
    def tree(self, obj: Resource) -> SafeString:
        """What this resource is made of, each part linked, with its health; the deepest failure in bold."""

        def render(node: TreeNode) -> SafeString:
            resource = node.resource
            label = f"{resource} [{resource.health}]" + (f" {resource.health_reason}" if resource.health_reason else "")
            link = admin_link(resource, label)
            if resource.pk == obj.failing_id:
                link = format_html("<strong>{} &larr; deepest failure</strong>", link)
            relation = format_html("<em>{}</em> ", node.relation) if node.relation else ""
            children = format_html_join("", "{}", ((render(child),) for child in node.children))
            return format_html("<li>{}{}<ul>{}</ul></li>", relation, link, children)

        return format_html('<ul class="resource-tree">{}</ul>', render(resource_tree(obj)))

    @admin.display(description="changes (newest first)")
    def history(self, obj: Resource) -> SafeString | str:
        changes = obj.changes.order_by("-id")[:HISTORY_SHOWN]
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    change.pk,
                    change.time.strftime("%Y-%m-%d %H:%M:%S"),
                    change.change_type,
                    change.resource_version,
                    ", ".join(change.changed_paths),
                    "; ".join(
                        f"{t.get('type')}={t.get('status')} {t.get('reason', '')}".strip()
                        for t in change.condition_transitions
                        if isinstance(t, dict)
                    ),
                )
                for change in changes
            ),
        )
        if not rows:
            return "-"
        head = "<tr><th>id</th><th>time</th><th>change</th><th>version</th><th>paths</th><th>conditions</th></tr>"
        return format_html("<table>{}{}</table>", SafeString(head), rows)


@admin.register(ResourceChange)
class ResourceChangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "time", "change_type", "resource", "cluster", "team", "paths")
    list_filter = ("change_type", "cluster", "team")
    list_select_related = ("resource", "cluster", "team")
    search_fields = ("resource__name", "=resource__uid")
    show_full_result_count = False
    ordering = ("-id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResourceChange]:
        heavy = [f"resource__{field}" for field in (*HEAVY_FIELDS, "labels", "conditions")]
        return super().get_queryset(request).defer(*heavy)

    @admin.display(description="changed")
    def paths(self, obj: ResourceChange) -> str:
        return ", ".join(obj.changed_paths)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "cluster",
        "resource_type",
        "mode",
        "seconds",
        "added",
        "modified",
        "deleted",
        "unchanged",
        "repaired",
        "short_error",
    )
    list_filter = ("mode", "cluster", RunErrorFilter)
    list_select_related = ("cluster", "resource_type", "resource_type__cluster")
    show_full_result_count = False

    @admin.display(description="seconds")
    def seconds(self, obj: SyncRun) -> str:
        return f"{obj.duration:.2f}" if obj.duration is not None else "running"

    @admin.display(description="error")
    def short_error(self, obj: SyncRun) -> str:
        return obj.error[:120]
