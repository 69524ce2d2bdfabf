"""Identity writes: teams, memberships, namespaces, tokens. Each is audited in its own transaction."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from governance.services import audit_record
from identity import tokens
from identity.choices import MembershipRoleChoices, TokenScopeChoices
from identity.constants import (
    GROUP_PREFIX,
    SERVICE_ACCOUNT_SUFFIX,
    TEAM_ADMIN_PERMISSIONS,
    TOKEN_LAST_USED_RESOLUTION_SECONDS,
)
from identity.models import ApiToken, Membership, NamespaceOwnership, Team


def team_snapshot(team: Team) -> dict[str, Any]:
    return {"name": team.name, "display_name": team.display_name, "description": team.description}


@transaction.atomic
def team_create(*, name: str, display_name: str = "", description: str = "") -> Team:
    if Team.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A team named {name!r} already exists."})
    team = Team(name=name, display_name=display_name, description=description)
    team.full_clean(exclude=["group"])
    team.group = Group.objects.create(name=f"{GROUP_PREFIX}{name}")
    team.save()
    assign_perm("view_team", team.group, team)
    audit_record(action="team.create", target=team, after=team_snapshot(team))
    return team


@transaction.atomic
def team_update(*, team: Team, display_name: str | None = None, description: str | None = None) -> Team:
    before = team_snapshot(team)
    if display_name is not None:
        team.display_name = display_name
    if description is not None:
        team.description = description
    team.full_clean(exclude=["group"])
    team.save(update_fields=["display_name", "description"])
    audit_record(action="team.update", target=team, before=before, after=team_snapshot(team))
    return team


@transaction.atomic
def team_delete(*, team: Team) -> None:
    """Delete a team with its group, memberships and namespace ownerships; its service account is deactivated."""
    # Read the team afresh: the caller's instance may predate its service account (created on first use).
    team = Team.objects.select_for_update(of=("self",)).select_related("group", "service_account").get(pk=team.pk)
    audit_record(action="team.delete", target=team, before=team_snapshot(team))
    group, bot = team.group, team.service_account
    team.delete()
    group.delete()
    if bot is not None:
        bot.is_active = False
        bot.save(update_fields=["is_active"])
        ApiToken.objects.filter(owner=bot, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _sync_role_permissions(team: Team, user: User, role: str | None) -> None:
    for perm in TEAM_ADMIN_PERMISSIONS:
        if role == MembershipRoleChoices.ADMIN:
            assign_perm(perm, user, team)
        else:
            remove_perm(perm, user, team)


@transaction.atomic
def membership_set(*, team: Team, user: User, role: str) -> Membership:
    """Add `user` to `team` with `role`, or change the role of an existing member."""
    if role not in MembershipRoleChoices.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of: {', '.join(MembershipRoleChoices.values)}."}
        )
    if not user.is_active:
        raise ValidationError({"user": f"User {user.get_username()!r} is inactive; reactivate them first."})
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    before = {"role": membership.role} if membership else None
    if membership is None:
        membership = Membership.objects.create(team=team, user=user, role=role)
    elif membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    else:
        return membership
    user.groups.add(team.group)  # type: ignore[attr-defined]
    _sync_role_permissions(team, user, role)
    audit_record(
        action="team.member.add" if before is None else "team.member.update",
        target=team,
        before=before and {"user": user.get_username(), **before},
        after={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, team: Team, user: User) -> None:
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise ValidationError({"user": f"{user.get_username()!r} is not a member of team {team.name!r}."})
    before = {"user": user.get_username(), "role": membership.role}
    membership.delete()
    user.groups.remove(team.group)  # type: ignore[attr-defined]
    _sync_role_permissions(team, user, None)
    audit_record(action="team.member.remove", target=team, before=before)


@transaction.atomic
def namespace_assign(*, team: Team, namespace: str) -> NamespaceOwnership:
    owned = NamespaceOwnership.objects.select_related("team").filter(namespace=namespace).first()
    if owned is not None:
        if owned.team_id == team.pk:
            return owned
        taken = f"Namespace {namespace!r} already belongs to team {owned.team.name!r}; release it there first."
        raise ValidationError({"namespace": taken})
    ownership = NamespaceOwnership(team=team, namespace=namespace)
    ownership.full_clean()
    ownership.save()
    audit_record(action="team.namespace.assign", target=team, after={"namespace": namespace})
    return ownership


@transaction.atomic
def namespace_release(*, ownership: NamespaceOwnership) -> None:
    audit_record(action="team.namespace.release", target=ownership.team, before={"namespace": ownership.namespace})
    ownership.delete()


@transaction.atomic
def team_service_account(*, team: Team) -> User:
    """The team's own user, which owns tokens that act for the team rather than for a person."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.service_account is not None:
        return team.service_account
    user_model = get_user_model()
    username = f"{team.name}{SERVICE_ACCOUNT_SUFFIX}"
    if user_model.objects.filter(username=username).exists():
        # Taken, e.g. by the (deactivated, kept for the record) account of a deleted team of the same name.
        username = f"{username}-{team.pk}"
    bot = user_model.objects.create(username=username, is_active=True)
    bot.set_unusable_password()
    bot.save()
    team.service_account = bot
    team.save(update_fields=["service_account"])
    Membership.objects.create(team=team, user=bot, role=MembershipRoleChoices.DEVELOPER)
    bot.groups.add(team.group)
    audit_record(action="team.service_account.create", target=team, after={"user": bot.get_username()})
    return bot


def token_snapshot(token: ApiToken) -> dict[str, Any]:
    return {
        "key_id": token.key_id,
        "owner": token.owner.get_username(),
        "scope": token.scope,
        "description": token.description,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown to the caller once, never stored


@transaction.atomic
def token_create(
    *,
    owner: User,
    scope: str = TokenScopeChoices.READ,
    description: str = "",
    expires_at: datetime.datetime | None = None,
    created_by: User | None = None,
) -> IssuedToken:
    if scope not in TokenScopeChoices.values:
        raise ValidationError({"scope": f"Unknown scope {scope!r}; use one of: {', '.join(TokenScopeChoices.values)}."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry is in the past; give a future time or none."})
    if not owner.is_active:
        raise ValidationError({"owner": f"User {owner.get_username()!r} is inactive and cannot own tokens."})
    parts = tokens.generate()
    pepper_id = tokens.current_pepper_id()
    token = ApiToken.objects.create(
        key_id=parts.key_id,
        pepper_id=pepper_id,
        digest=tokens.digest(parts, pepper_id),
        owner=owner,
        scope=scope,
        description=description,
        expires_at=expires_at,
        created_by=created_by,
    )
    audit_record(action="token.create", target=token, after=token_snapshot(token))
    return IssuedToken(token=token, plaintext=str(parts))


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is not None:
        return token
    before = token_snapshot(token)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(action="token.revoke", target=token, before=before, after=token_snapshot(token))
    return token


class TokenRejected(Exception):
    """The presented token is not valid; the message is safe to show the caller."""


def token_authenticate(raw: str) -> ApiToken:
    """Find the token a caller presented; constant-time on the secret, one indexed lookup on the key id."""
    try:
        parts = tokens.parse(raw)
    except tokens.MalformedToken as exc:
        raise TokenRejected(str(exc)) from None
    token = _token_with_owner(parts.key_id)
    if token is None or not tokens.matches(parts, token.pepper_id, token.digest):
        raise TokenRejected("The token is not valid.")
    if token.revoked_at is not None:
        raise TokenRejected("The token has been revoked; create a new one.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise TokenRejected("The token has expired; create a new one.")
    if not token.owner.is_active:
        raise TokenRejected("The token's owner is inactive.")
    _touch(token)
    return token


@functools.cache
def _token_with_owner_sql() -> str:
    """The query `ApiToken.objects.select_related("owner").filter(key_id=...)` makes, built once: the ORM took
    four times as long to build it as PostgreSQL takes to answer it, on every API request."""
    sql, params = ApiToken.objects.select_related("owner").filter(key_id="").order_by().query.sql_with_params()
    if params != ("",):
        raise RuntimeError(f"the token query should take the key id as its one parameter, not {params!r}")
    return sql


def _token_with_owner(key_id: str) -> ApiToken | None:
    """The token with this key id, with its owner; None if there is none."""
    with connections[ApiToken.objects.db].cursor() as cursor:
        cursor.execute(_token_with_owner_sql(), [key_id])
        row = cursor.fetchone()
    if row is None:
        return None
    db = ApiToken.objects.db
    token_fields = [field.attname for field in ApiToken._meta.concrete_fields]
    owner_fields = [field.attname for field in User._meta.concrete_fields]  # the owner FK's model (AUTH_USER_MODEL)
    token = ApiToken.from_db(db, token_fields, row[: len(token_fields)])
    token.owner = User.from_db(db, owner_fields, row[len(token_fields) :])
    return token


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute per token: one conditional UPDATE, no write on most requests."""
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=TOKEN_LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        ApiToken.objects.filter(pk=token.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
            last_used_at=now
        )
        token.last_used_at = now
