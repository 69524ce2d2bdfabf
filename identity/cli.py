"""`devplat teams ...` and `devplat tokens ...`."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb
from identity import services
from identity.choices import MembershipRoleChoices, TokenScopeChoices
from identity.models import ApiToken, Team
from identity.selectors import require_platform_admin, team_for, user_named

TEAM_COLUMNS = ("name", "display_name", "members", "namespaces", "created_at")
TOKEN_COLUMNS = ("id", "key_id", "owner", "scope", "status", "expires_at", "last_used_at", "description")


def team_row(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "display_name": team.display_name,
        "description": team.description,
        "members": [f"{m.user.get_username()}:{m.role}" for m in team.memberships.all()],
        "namespaces": [ns.namespace for ns in team.namespaces.all()],
        "created_at": team.created_at,
    }


def token_row(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "key_id": token.key_id,
        "owner": token.owner.get_username(),
        "scope": token.scope,
        "status": token.status,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "description": token.description,
        "created_at": token.created_at,
    }


class TeamsNoun(Noun):
    name = "teams"
    help = "Teams, their members and the namespaces they own."

    @verb(
        "create",
        "Create a team (platform admins).",
        arg("name", help="DNS label, e.g. payments."),
        arg("--display-name", default="", help="Human-friendly name."),
        arg("--description", default=""),
    )
    def create(self, inv: Invocation) -> Output:
        require_platform_admin(inv.user, "create teams")
        team = services.team_create(
            name=inv.args.name, display_name=inv.args.display_name, description=inv.args.description
        )
        return Output(data=team_row(team), message=f"team {team.name} created")

    @verb("list", "List the teams you can see.")
    def list(self, inv: Invocation) -> Output:
        teams = Team.objects.restrict(inv.user, "view").prefetch_related("memberships__user", "namespaces")
        return Output(rows=[team_row(t) for t in teams], columns=TEAM_COLUMNS)

    @verb(
        "add-member",
        "Add a user to a team, or change their role (team admins).",
        arg("team"),
        arg("username"),
        arg("--role", choices=MembershipRoleChoices.values, default=MembershipRoleChoices.DEVELOPER),
    )
    def add_member(self, inv: Invocation) -> Output:
        team = team_for(inv.user, inv.args.team, "change")
        membership = services.membership_set(team=team, user=user_named(inv.args.username), role=inv.args.role)
        row = {"team": team.name, "username": inv.args.username, "role": membership.role}
        return Output(data=row, message=f"{inv.args.username} is now {membership.role} in {team.name}")

    @verb("remove-member", "Remove a user from a team (team admins).", arg("team"), arg("username"))
    def remove_member(self, inv: Invocation) -> Output:
        team = team_for(inv.user, inv.args.team, "change")
        services.membership_remove(team=team, user=user_named(inv.args.username))
        return Output(
            data={"team": team.name, "removed": inv.args.username},
            message=f"{inv.args.username} removed from {team.name}",
        )

    @verb("add-namespace", "Give a Kubernetes namespace to a team (platform admins).", arg("team"), arg("namespace"))
    def add_namespace(self, inv: Invocation) -> Output:
        team = team_for(inv.user, inv.args.team)
        require_platform_admin(inv.user, "assign namespaces to teams")
        services.namespace_assign(team=team, namespace=inv.args.namespace)
        return Output(
            data={"team": team.name, "namespace": inv.args.namespace},
            message=f"namespace {inv.args.namespace} belongs to {team.name}",
        )


def _expiry(value: str | None) -> datetime.datetime | None:
    """`--expires` takes a duration (30d, 12h) or an ISO 8601 time."""
    if not value:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if value[-1:] in units and value[:-1].isdigit():
        return timezone.now() + datetime.timedelta(**{units[value[-1]]: int(value[:-1])})
    moment = parse_datetime(value)
    if moment is None:
        raise CliError(f"--expires {value!r}: give a duration like 30d or 12h, or a time like 2027-01-31T00:00:00Z.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


class TokensNoun(Noun):
    name = "tokens"
    help = "API tokens for agents and scripts."

    @verb(
        "create",
        "Create an API token; it is printed once.",
        arg("--scope", choices=TokenScopeChoices.values, default=TokenScopeChoices.READ),
        arg("--description", default=""),
        arg("--expires", metavar="WHEN", help="30d, 12h, or an ISO 8601 time. Default: never."),
        arg("--team", default="", help="Create it for this team's service account (team admins)."),
    )
    def create(self, inv: Invocation) -> Output:
        owner: Any = inv.user
        if inv.args.team:
            owner = services.team_service_account(team=team_for(inv.user, inv.args.team, "change"))
        issued = services.token_create(
            owner=owner,
            scope=inv.args.scope,
            description=inv.args.description,
            expires_at=_expiry(inv.args.expires),
            created_by=inv.user,
        )
        row = {**token_row(issued.token), "token": issued.plaintext}
        message = f"{issued.plaintext}\n\nThis is the only time the token is shown: store it now."
        return Output(data=row, message=message)

    @verb(
        "list",
        "List your tokens (and those of teams you administer).",
        arg("--all", action="store_true", help="Include revoked and expired tokens."),
    )
    def list(self, inv: Invocation) -> Output:
        tokens = ApiToken.objects.restrict(inv.user, "view").select_related("owner")
        if not inv.args.all:
            tokens = tokens.active()
        return Output(rows=[token_row(t) for t in tokens], columns=TOKEN_COLUMNS)

    @verb(
        "revoke", "Revoke a token by its id or key id.", arg("token", help="The id or key id shown by `tokens list`.")
    )
    def revoke(self, inv: Invocation) -> Output:
        ident = inv.args.token
        visible = ApiToken.objects.restrict(inv.user, "delete").select_related("owner")
        # A key id is 16 hex digits and may be all decimal digits, so it is tried first; ids are bigints.
        token = visible.filter(key_id=ident).first()
        if token is None and ident.isdigit() and int(ident) < 2**63:
            token = visible.filter(pk=int(ident)).first()
        if token is None:
            raise CliError(f"no token {ident!r} that you can revoke; see `devplat tokens list --all`.")
        if not token.is_active:
            when = token.revoked_at if token.revoked_at is not None else token.expires_at
            raise CliError(f"token {token.key_id} is already {token.status} (since {when:%Y-%m-%d %H:%M:%SZ}).")
        services.token_revoke(token=token)
        return Output(data=token_row(token), message=f"token {token.key_id} revoked")
