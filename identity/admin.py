"""Operator console pages for identity. Every write goes through identity.services, which audits it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

from devplat.core.admin import AuditedAdminMixin
from identity import services
from identity.models import ApiToken, Membership, NamespaceOwnership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # members are added on the Membership page, through the service


class NamespaceInline(admin.TabularInline):
    model = NamespaceOwnership
    fields = ("namespace", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(GuardedModelAdmin):
    list_display = ("name", "display_name", "member_count", "namespace_list", "created_at")
    search_fields = ("name", "display_name")
    fields = ("name", "display_name", "description", "service_account", "created_at")
    readonly_fields = ("service_account", "created_at")
    inlines = [MembershipInline, NamespaceInline]
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).prefetch_related("memberships", "namespaces")

    @admin.display(description="members")
    def member_count(self, obj: Team) -> int:
        return len(obj.memberships.all())

    @admin.display(description="namespaces")
    def namespace_list(self, obj: Team) -> str:
        return ", ".join(ns.namespace for ns in obj.namespaces.all()) or "-"

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        if change:
            services.team_update(team=obj, display_name=obj.display_name, description=obj.description)
        else:
            created = services.team_create(name=obj.name, display_name=obj.display_name, description=obj.description)
            obj.pk, obj.group_id, obj.created_at = created.pk, created.group_id, created.created_at

    def delete_model(self, request: HttpRequest, obj: Team) -> None:
        services.team_delete(team=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "role", "created_at")
    list_filter = ("role", "team")
    search_fields = ("team__name", "user__username")
    autocomplete_fields = ("user",)
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("team", "user") if obj else ()

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = services.membership_set(team=obj.team, user=obj.user, role=obj.role)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(team=obj.team, user=obj.user)


@admin.register(NamespaceOwnership)
class NamespaceOwnershipAdmin(admin.ModelAdmin):
    list_display = ("namespace", "team", "created_at")
    list_filter = ("team",)
    search_fields = ("namespace", "team__name")
    actions = None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # release and assign again; ownership never silently moves

    def save_model(self, request: HttpRequest, obj: NamespaceOwnership, form: Any, change: bool) -> None:
        saved = services.namespace_assign(team=obj.team, namespace=obj.namespace)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: NamespaceOwnership) -> None:
        services.namespace_release(ownership=obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens: created here once (the secret is shown in a message, once), revoked by action, never deleted."""

    list_display = ("key_id", "owner", "scope", "status", "expires_at", "last_used_at", "created_at")
    list_filter = ("scope",)
    search_fields = ("key_id", "owner__username", "description")
    fields = (
        "owner",
        "scope",
        "description",
        "expires_at",
        "key_id",
        "status",
        "last_used_at",
        "created_by",
        "created_at",
    )
    autocomplete_fields = ("owner",)
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        always = ("key_id", "status", "last_used_at", "created_by", "created_at")
        return (*always, "owner", "scope", "description", "expires_at") if obj else always

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        issued = services.token_create(
            owner=obj.owner,
            scope=obj.scope,
            description=obj.description,
            expires_at=obj.expires_at,
            created_by=request.user,
        )
        obj.pk, obj.key_id, obj.created_at = issued.token.pk, issued.token.key_id, issued.token.created_at
        messages.warning(request, f"Token created: {issued.plaintext} (shown once: copy it now).")

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.token_revoke(token=token)
        messages.success(request, f"Revoked {queryset.count()} token(s).")


# Users keep their stock pages, audited like every other admin change.
User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    pass
