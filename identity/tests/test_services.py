"""Identity services: what each write changes, the permissions it grants or takes, and its one audit row."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from guardian.shortcuts import get_perms

from devplat.core.actor import Face, acting, actor_for
from governance.models import AuditEvent
from identity import services, tokens
from identity.models import ApiToken, Membership, NamespaceOwnership, Team
from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class Audit:
    """The audit rows written since it was created."""

    def __init__(self) -> None:
        self.since = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    def new(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(seq__gt=self.since).order_by("seq"))

    def one(self, action: str, *, secrets: tuple[str, ...] = ()) -> AuditEvent:
        events = self.new()
        assert [e.action for e in events] == [action]
        event = events[0]
        written = json.dumps([event.before, event.after])
        for secret in secrets:
            assert secret not in written
        return event


@pytest.fixture
def audit():
    def start() -> Audit:
        return Audit()

    return start


def fresh(user):
    """The user as the database has it now (permission caches live on the instance)."""
    return type(user).objects.get(pk=user.pk)


# --- teams -----------------------------------------------------------------------------------------------------------


def test_team_create_makes_a_group_that_may_view_the_team_and_is_audited_once(audit):
    other = TeamFactory(name="other")
    log = audit()
    team = services.team_create(name="payments", display_name="Payments", description="cards")
    group = Group.objects.get(name="team:payments")
    assert team.group == group
    assert get_perms(group, team) == ["view_team"]
    assert get_perms(group, other) == []
    event = log.one("team.create")
    assert event.target_type == "identity.team"
    assert event.target_id == str(team.pk)
    assert event.before is None
    assert event.after == {"name": "payments", "display_name": "Payments", "description": "cards"}


def test_team_create_refuses_a_taken_name_and_leaves_nothing_behind(audit):
    services.team_create(name="payments")
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.team_create(name="payments")
    assert "already exists" in str(exc.value.message_dict["name"])
    assert Group.objects.filter(name__startswith="team:").count() == 1
    assert log.new() == []


@pytest.mark.parametrize("name", ["Payments", "pay_ments", "-payments", "a" * 64, ""])
def test_team_create_refuses_a_name_that_is_not_a_dns_label(audit, name):
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.team_create(name=name)
    assert "name" in exc.value.message_dict
    assert not Team.objects.exists()
    assert not Group.objects.exists()
    assert log.new() == []


def test_team_update_changes_only_the_given_fields_and_audits_before_and_after(audit):
    team = services.team_create(name="payments", display_name="Payments", description="cards")
    log = audit()
    services.team_update(team=team, description="cards and ledgers")
    team.refresh_from_db()
    assert (team.display_name, team.description) == ("Payments", "cards and ledgers")
    event = log.one("team.update")
    assert event.before["description"] == "cards"
    assert event.after["description"] == "cards and ledgers"


def test_team_delete_removes_team_group_memberships_namespaces_and_disables_the_service_account(audit):
    team = TeamFactory(name="payments")
    member = MembershipFactory(team=team, role="admin").user
    services.namespace_assign(team=team, namespace="payments-dev")
    bot = services.team_service_account(team=team)
    bot_tokens = [ApiTokenFactory(owner=bot, scope=s) for s in ("read", "admin")]
    member_token = ApiTokenFactory(owner=member)
    log = audit()

    services.team_delete(team=team)

    assert not Team.objects.filter(name="payments").exists()
    assert not Group.objects.filter(name="team:payments").exists()
    assert not Membership.objects.exists()
    assert not NamespaceOwnership.objects.exists()
    assert not fresh(bot).is_active
    for token in bot_tokens:
        token.refresh_from_db()
        assert token.revoked_at is not None
        with pytest.raises(services.TokenRejected):
            services.token_authenticate(token.plaintext)
    member_token.refresh_from_db()
    assert member_token.revoked_at is None  # a person's own tokens are theirs, not the team's
    assert not Team.objects.restrict(fresh(member), "view").exists()
    event = log.one("team.delete")
    assert event.before["name"] == "payments"
    assert event.target_repr == "payments"


def test_a_deleted_team_name_can_be_used_again_with_its_own_service_account():
    old = TeamFactory(name="payments")
    old_bot = services.team_service_account(team=old)
    services.team_delete(team=old)

    new = TeamFactory(name="payments")
    new_bot = services.team_service_account(team=new)
    assert new_bot.pk != old_bot.pk
    assert new_bot.username == f"payments-bot-{new.pk}"
    assert new_bot.is_active
    assert not fresh(old_bot).is_active
    assert ApiToken.objects.filter(owner=new_bot).count() == 0


# --- memberships ------------------------------------------------------------------------------------------------------


def test_membership_set_adds_a_member_who_then_sees_the_team(audit):
    team = TeamFactory(name="payments")
    user = UserFactory(username="alice")
    assert not Team.objects.restrict(user, "view").exists()
    log = audit()

    membership = services.membership_set(team=team, user=user, role="developer")

    assert (membership.team, membership.user, membership.role) == (team, user, "developer")
    assert team.group in fresh(user).groups.all()
    assert list(Team.objects.restrict(fresh(user), "view")) == [team]
    assert not fresh(user).has_perm("identity.change_team", team)
    event = log.one("team.member.add")
    assert event.before is None
    assert event.after == {"user": "alice", "role": "developer"}


def test_membership_set_changes_a_role_and_audits_the_old_one(audit):
    team = TeamFactory(name="payments")
    user = UserFactory(username="alice")
    services.membership_set(team=team, user=user, role="viewer")
    log = audit()
    services.membership_set(team=team, user=user, role="developer")
    assert Membership.objects.get(team=team, user=user).role == "developer"
    assert Membership.objects.filter(team=team, user=user).count() == 1
    event = log.one("team.member.update")
    assert event.before == {"user": "alice", "role": "viewer"}
    assert event.after == {"user": "alice", "role": "developer"}


def test_membership_set_with_the_same_role_changes_nothing_and_writes_no_audit_row(audit):
    team = TeamFactory(name="payments")
    user = UserFactory()
    first = services.membership_set(team=team, user=user, role="developer")
    log = audit()
    again = services.membership_set(team=team, user=user, role="developer")
    assert again.pk == first.pk
    assert log.new() == []


def test_the_admin_role_grants_change_team_on_that_team_only_and_demoting_takes_it_back():
    team, other = TeamFactory(name="payments"), TeamFactory(name="search")
    user = UserFactory()
    services.membership_set(team=team, user=user, role="admin")
    assert fresh(user).has_perm("identity.change_team", team)
    assert not fresh(user).has_perm("identity.change_team", other)
    assert not fresh(user).has_perm("identity.delete_team", team)
    assert list(Team.objects.restrict(fresh(user), "change")) == [team]

    services.membership_set(team=team, user=user, role="viewer")
    assert not fresh(user).has_perm("identity.change_team", team)
    assert not Team.objects.restrict(fresh(user), "change").exists()
    assert list(Team.objects.restrict(fresh(user), "view")) == [team]


@pytest.mark.parametrize("role", ["owner", "", "Admin"])
def test_membership_set_refuses_an_unknown_role(audit, role):
    team = TeamFactory()
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.membership_set(team=team, user=UserFactory(), role=role)
    assert "viewer, developer, admin" in str(exc.value.message_dict["role"])
    assert not Membership.objects.exists()
    assert log.new() == []


def test_membership_set_refuses_an_inactive_user():
    team = TeamFactory()
    with pytest.raises(ValidationError, match="inactive"):
        services.membership_set(team=team, user=UserFactory(is_active=False), role="viewer")
    assert not Membership.objects.exists()


def test_membership_remove_takes_away_membership_group_and_admin_permission(audit):
    team = TeamFactory(name="payments")
    user = UserFactory(username="alice")
    services.membership_set(team=team, user=user, role="admin")
    log = audit()

    services.membership_remove(team=team, user=user)

    assert not Membership.objects.filter(team=team, user=user).exists()
    assert team.group not in fresh(user).groups.all()
    assert not fresh(user).has_perm("identity.change_team", team)
    assert not Team.objects.restrict(fresh(user), "view").exists()
    event = log.one("team.member.remove")
    assert event.before == {"user": "alice", "role": "admin"}
    assert event.after is None


def test_membership_remove_of_a_non_member_is_an_error_naming_both(audit):
    team = TeamFactory(name="payments")
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.membership_remove(team=team, user=UserFactory(username="stranger"))
    message = str(exc.value.message_dict["user"])
    assert "stranger" in message
    assert "payments" in message
    assert log.new() == []


# --- namespaces ------------------------------------------------------------------------------------------------------


def test_namespace_assign_gives_the_namespace_to_the_team(audit):
    team = TeamFactory(name="payments")
    log = audit()
    ownership = services.namespace_assign(team=team, namespace="payments-dev")
    assert NamespaceOwnership.objects.get(namespace="payments-dev").team == team
    assert ownership.team == team
    event = log.one("team.namespace.assign")
    assert event.after == {"namespace": "payments-dev"}


def test_namespace_assign_to_the_owning_team_again_is_a_no_op(audit):
    team = TeamFactory(name="payments")
    first = services.namespace_assign(team=team, namespace="payments-dev")
    log = audit()
    assert services.namespace_assign(team=team, namespace="payments-dev").pk == first.pk
    assert log.new() == []


def test_namespace_assign_conflict_names_the_team_that_owns_it(audit):
    services.namespace_assign(team=TeamFactory(name="payments"), namespace="shared")
    search = TeamFactory(name="search")
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.namespace_assign(team=search, namespace="shared")
    message = " ".join(exc.value.message_dict["namespace"])
    assert "'payments'" in message
    assert "release it there first" in message
    assert NamespaceOwnership.objects.get(namespace="shared").team.name == "payments"
    assert log.new() == []


@pytest.mark.parametrize("namespace", ["Payments", "pay_dev", "-dev", "x" * 64])
def test_namespace_assign_refuses_a_name_that_is_not_a_dns_label(namespace):
    with pytest.raises(ValidationError):
        services.namespace_assign(team=TeamFactory(), namespace=namespace)
    assert not NamespaceOwnership.objects.exists()


def test_namespace_release_frees_the_namespace_for_another_team(audit):
    ownership = services.namespace_assign(team=TeamFactory(name="payments"), namespace="shared")
    log = audit()
    services.namespace_release(ownership=ownership)
    event = log.one("team.namespace.release")
    assert event.before == {"namespace": "shared"}
    assert services.namespace_assign(team=TeamFactory(name="search"), namespace="shared").team.name == "search"


# --- service accounts ------------------------------------------------------------------------------------------------


def test_team_service_account_is_created_once_as_a_developer_member(audit):
    team = TeamFactory(name="payments")
    log = audit()
    bot = services.team_service_account(team=team)
    again = services.team_service_account(team=team)
    assert again.pk == bot.pk
    assert bot.username == "payments-bot"
    assert not bot.has_usable_password()
    assert Team.objects.get(pk=team.pk).service_account == bot
    assert Membership.objects.get(team=team, user=bot).role == "developer"
    assert list(Team.objects.restrict(fresh(bot), "view")) == [team]
    assert not Team.objects.restrict(fresh(bot), "change").exists()
    event = log.one("team.service_account.create")
    assert event.after == {"user": "payments-bot"}


# --- tokens ----------------------------------------------------------------------------------------------------------


def test_token_create_audits_the_token_without_its_secret_or_digest(audit):
    owner = UserFactory(username="alice")
    log = audit()
    issued = services.token_create(owner=owner, scope="provision", description="ci")
    parts = tokens.parse(issued.plaintext)
    event = log.one("token.create", secrets=(issued.plaintext, parts.secret, issued.token.digest))
    assert event.target_type == "identity.apitoken"
    assert event.after["key_id"] == parts.key_id
    assert event.after["owner"] == "alice"
    assert event.after["scope"] == "provision"
    assert not {"digest", "pepper_id", "token", "secret"} & set(event.after)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scope": "write"}, "scope"),
        ({"expires_at": timezone.now() - datetime.timedelta(seconds=1)}, "expires_at"),
    ],
)
def test_token_create_refuses_bad_input(audit, kwargs, field):
    log = audit()
    with pytest.raises(ValidationError) as exc:
        services.token_create(owner=UserFactory(), **kwargs)
    assert field in exc.value.message_dict
    assert not ApiToken.objects.exists()
    assert log.new() == []


def test_token_create_refuses_an_inactive_owner():
    with pytest.raises(ValidationError, match="inactive"):
        services.token_create(owner=UserFactory(is_active=False))
    assert not ApiToken.objects.exists()


def test_token_revoke_stops_the_token_and_is_audited_once(audit):
    token = ApiTokenFactory()
    assert services.token_authenticate(token.plaintext) == token
    log = audit()
    services.token_revoke(token=token)
    services.token_revoke(token=ApiToken.objects.get(pk=token.pk))  # revoking again changes nothing
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.status == "revoked"
    with pytest.raises(services.TokenRejected, match="revoked"):
        services.token_authenticate(token.plaintext)
    event = log.one("token.revoke", secrets=(token.plaintext, token.digest))
    assert event.before["revoked_at"] is None
    assert event.after["revoked_at"] is not None


def test_token_authenticate_refuses_expired_tokens_and_inactive_owners():
    expired = ApiTokenFactory()
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(services.TokenRejected, match="expired"):
        services.token_authenticate(expired.plaintext)

    token = ApiTokenFactory(owner=UserFactory())
    token.owner.is_active = False
    token.owner.save(update_fields=["is_active"])
    with pytest.raises(services.TokenRejected, match="inactive"):
        services.token_authenticate(token.plaintext)


# --- who the audit log names -----------------------------------------------------------------------------------------


def test_audit_rows_name_the_acting_user_face_and_request(audit):
    operator = UserFactory(username="operator")
    log = audit()
    with acting(actor_for(operator, face=Face.CLI, request_id="req-42")):
        services.team_create(name="payments")
    event = log.one("team.create")
    assert (event.actor_user_id, event.actor_username, event.face, event.request_id) == (
        operator.pk,
        "operator",
        "cli",
        "req-42",
    )
