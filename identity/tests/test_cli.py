"""`devplat teams ...` and `devplat tokens ...` driven as a user would, in-process and as real commands."""

from __future__ import annotations

import datetime
import json
import re

import pytest
import yaml
from django.utils import timezone

from devplat.core.actor import Face
from devplat.tests.support import assert_error, call_devplat, run_devplat
from governance.models import AuditEvent
from identity import services
from identity.models import ApiToken, Membership, NamespaceOwnership, Team
from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

TOKEN = re.compile(r"(?<![\w-])dp_(?P<key_id>[0-9a-f]{16})_[\w-]{16,128}(?![\w-])", re.ASCII)
TEAM_KEYS = {"name", "display_name", "description", "members", "namespaces", "created_at"}
TOKEN_KEYS = {"id", "key_id", "owner", "scope", "status", "expires_at", "last_used_at", "description", "created_at"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users from the factories get a password; hash it cheaply, as the test profile intends."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def audit_rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("seq"))


def assert_audited(since: int, *actions: str, by: str) -> None:
    """Exactly `actions` were audited after seq `since`, through the CLI face, naming the acting user."""
    rows = [row for row in audit_rows() if row.seq > since]
    assert [row.action for row in rows] == list(actions)
    assert {(row.face, row.actor_username) for row in rows} == {(Face.CLI, by)}
    assert all(len(row.request_id) == 32 for row in rows)


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- teams -----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_platform_admin_creates_a_team_and_it_is_audited(platform_admin):
    ran = call_devplat("teams", "create", "payments", "--display-name", "Payments", "--as", "root-admin")

    assert (ran.code, ran.out.strip(), ran.err) == (0, "team payments created", "")
    team = Team.objects.get(name="payments")
    assert team.display_name == "Payments"
    assert_audited(0, "team.create", by="root-admin")
    assert AuditEvent.objects.get().target_id == str(team.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("output", "load"), [("json", json.loads), ("yaml", yaml.safe_load)])
def test_teams_create_prints_the_team_as_json_or_yaml(platform_admin, output, load):
    ran = call_devplat("teams", "create", "search", "-o", output, "--as", "root-admin")

    assert ran.code == 0
    data = load(ran.out)
    assert set(data) == TEAM_KEYS
    assert (data["name"], data["members"], data["namespaces"]) == ("search", [], [])


@pytest.mark.django_db
def test_a_developer_cannot_create_teams(team_with_members):
    before = last_seq()
    ran = call_devplat("teams", "create", "rogue", "--as", "pay-developer")

    assert_error(ran, 1, "Only platform admins create teams")
    assert not Team.objects.filter(name="rogue").exists()
    assert last_seq() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "says"), [("Bad_Name", "name: Use a DNS label"), ("payments", "already exists")], ids=["invalid", "taken"]
)
def test_teams_create_rejects_bad_names_with_the_reason(team_with_members, platform_admin, name, says):
    before = last_seq()
    assert_error(call_devplat("teams", "create", name, "--as", "root-admin"), 1, says)
    assert last_seq() == before


@pytest.mark.django_db
def test_teams_list_shows_only_the_users_teams(team_with_members):
    ran = call_devplat("teams", "list", "--as", "pay-viewer")
    assert ran.code == 0
    header, *rows = [line for line in ran.out.splitlines() if line.strip() and not line.startswith("─")]
    assert header.split()[:3] == ["NAME", "DISPLAY", "NAME"]
    assert [row.split()[0] for row in rows] == ["payments"]

    data = yaml.safe_load(call_devplat("teams", "list", "-o", "yaml", "--as", "pay-viewer").out)
    assert [team["name"] for team in data] == ["payments"]
    assert set(data[0]) == TEAM_KEYS
    assert sorted(data[0]["members"]) == ["pay-admin:admin", "pay-developer:developer", "pay-viewer:viewer"]


@pytest.mark.django_db
def test_team_admin_adds_and_removes_members_and_each_change_is_audited(team_with_members):
    UserFactory(username="newcomer")
    start = last_seq()

    added = call_devplat("teams", "add-member", "payments", "newcomer", "-o", "yaml", "--as", "pay-admin")
    assert yaml.safe_load(added.out) == {"team": "payments", "username": "newcomer", "role": "developer"}
    demoted = call_devplat("teams", "add-member", "payments", "newcomer", "--role", "viewer", "--as", "pay-admin")
    assert (demoted.code, demoted.out.strip()) == (0, "newcomer is now viewer in payments")
    promoted = call_devplat(
        "teams", "add-member", "payments", "newcomer", "--role", "admin", "-o", "json", "--as", "pay-admin"
    )
    assert json.loads(promoted.out) == {"team": "payments", "username": "newcomer", "role": "admin"}
    assert Membership.objects.get(team__name="payments", user__username="newcomer").role == "admin"

    removed = call_devplat("teams", "remove-member", "payments", "newcomer", "--as", "pay-admin")
    assert (removed.code, removed.out.strip()) == (0, "newcomer removed from payments")
    assert not Membership.objects.filter(team__name="payments", user__username="newcomer").exists()
    assert_audited(
        start, "team.member.add", "team.member.update", "team.member.update", "team.member.remove", by="pay-admin"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("add-member", "payments", "search-dev", "--as", "pay-developer"), "not an admin of team 'payments'"),
        (("add-member", "nope", "search-dev", "--as", "pay-admin"), "No team named 'nope'"),
        (("add-member", "search", "pay-viewer", "--as", "pay-admin"), "No team named 'search'"),
        (("add-member", "payments", "ghost", "--as", "pay-admin"), "No user named 'ghost'"),
        (("remove-member", "payments", "search-dev", "--as", "pay-admin"), "'search-dev' is not a member"),
        (("remove-member", "payments", "pay-viewer", "--as", "pay-developer"), "not an admin of team 'payments'"),
        (("add-namespace", "payments", "pay-prod", "--as", "pay-admin"), "Only platform admins assign namespaces"),
        (("add-namespace", "search", "pay-prod", "--as", "pay-admin"), "No team named 'search'"),
    ],
)
def test_membership_and_namespace_mistakes_fail_with_one_line_and_change_nothing(team_with_members, args, says):
    before, members = last_seq(), Membership.objects.count()
    assert_error(call_devplat("teams", *args), 1, says)
    assert (last_seq(), Membership.objects.count(), NamespaceOwnership.objects.count()) == (before, members, 0)


@pytest.mark.django_db
def test_a_bad_role_is_a_usage_error(team_with_members, capsys):
    before = last_seq()
    ran = call_devplat("teams", "add-member", "payments", "search-dev", "--role", "boss", "--as", "pay-admin")
    captured = capsys.readouterr()  # argparse writes usage errors to the process's stderr

    assert ran.code == 2
    [line] = captured.err.strip().splitlines()
    assert line.startswith(
        "error: argument --role: invalid choice: 'boss' (choose from 'viewer', 'developer', 'admin')"
    )
    assert line.endswith("devplat teams add-member --help`.")
    assert last_seq() == before


@pytest.mark.django_db
def test_platform_admin_assigns_a_namespace_once(team_with_members, platform_admin):
    start = last_seq()
    ran = call_devplat("teams", "add-namespace", "payments", "pay-prod", "-o", "json", "--as", "root-admin")
    assert json.loads(ran.out) == {"team": "payments", "namespace": "pay-prod"}
    assert NamespaceOwnership.objects.get(namespace="pay-prod").team.name == "payments"
    assert_audited(start, "team.namespace.assign", by="root-admin")

    taken = call_devplat("teams", "add-namespace", "search", "pay-prod", "--as", "root-admin")
    assert_error(taken, 1, "already belongs to team 'payments'")
    assert last_seq() == start + 1


# --- who is acting ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_acting_user_must_be_named_and_exist(team_with_members, monkeypatch):
    monkeypatch.delenv("DEVPLAT_USER", raising=False)
    assert_error(call_devplat("teams", "list"), 1, "pass --as USERNAME or set DEVPLAT_USER")
    assert_error(call_devplat("teams", "list", "--as", "ghost"), 1, "no user named 'ghost'")

    UserFactory(username="gone", is_active=False)
    assert_error(call_devplat("teams", "list", "--as", "gone"), 1, "user 'gone' is inactive")


@pytest.mark.django_db
def test_devplat_user_names_the_actor_when_as_is_absent(team_with_members, monkeypatch):
    monkeypatch.setenv("DEVPLAT_USER", "pay-admin")
    start = last_seq()
    assert call_devplat("teams", "add-member", "payments", "search-dev").code == 0
    assert_audited(start, "team.member.add", by="pay-admin")

    ran = call_devplat("teams", "add-member", "payments", "search-dev", "--role", "admin", "--as", "pay-developer")
    assert_error(ran, 1, "not an admin")  # --as wins over DEVPLAT_USER


# --- tokens ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tokens_create_prints_a_working_token_once_and_audits_without_it(team_with_members):
    ran = call_devplat("tokens", "create", "--scope", "provision", "--description", "ci", "--as", "pay-developer")

    assert ran.code == 0
    printed = TOKEN.findall(ran.out)
    assert len(printed) == 1
    assert "only time the token is shown" in ran.out
    plaintext = TOKEN.search(ran.out).group(0)
    secret = plaintext.split("_", 2)[2]
    token = services.token_authenticate(plaintext)
    assert (token.owner.username, token.scope, token.description) == ("pay-developer", "provision", "ci")

    listed = call_devplat("tokens", "list", "-o", "json", "--as", "pay-developer")
    assert secret not in listed.out
    assert [row["key_id"] for row in json.loads(listed.out)] == [token.key_id]
    event = AuditEvent.objects.get(action="token.create")
    assert (event.face, event.actor_username, event.target_id) == (Face.CLI, "pay-developer", str(token.pk))
    assert secret not in json.dumps(event.after)


@pytest.mark.django_db
@pytest.mark.parametrize(("output", "load"), [("json", json.loads), ("yaml", yaml.safe_load)])
def test_tokens_create_in_json_or_yaml_carries_the_token(team_with_members, output, load):
    data = load(call_devplat("tokens", "create", "--expires", "30d", "-o", output, "--as", "pay-viewer").out)

    assert set(data) == TOKEN_KEYS | {"token"}
    assert TOKEN.fullmatch(data["token"])
    assert data["token"].startswith(f"dp_{data['key_id']}_")
    assert (data["owner"], data["scope"], data["status"]) == ("pay-viewer", "read", "active")
    expires = datetime.datetime.fromisoformat(data["expires_at"])
    assert abs(expires - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=1)


@pytest.mark.django_db
def test_team_admin_creates_a_token_for_the_teams_service_account(team_with_members):
    start = last_seq()
    data = json.loads(call_devplat("tokens", "create", "--team", "payments", "-o", "json", "--as", "pay-admin").out)

    assert data["owner"] == "payments-bot"
    assert_audited(start, "team.service_account.create", "token.create", by="pay-admin")
    assert_error(call_devplat("tokens", "create", "--team", "payments", "--as", "pay-developer"), 1, "not an admin")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("expires", "says"),
    [("2020-01-01T00:00:00Z", "expires_at: The expiry is in the past"), ("soon", "--expires 'soon': give a duration")],
)
def test_tokens_create_refuses_a_bad_expiry(team_with_members, expires, says):
    before = last_seq()
    assert_error(call_devplat("tokens", "create", "--expires", expires, "--as", "pay-viewer"), 1, says)
    assert (ApiToken.objects.count(), last_seq()) == (0, before)


@pytest.mark.django_db
def test_tokens_list_shows_own_active_tokens_and_all_with_all(team_with_members):
    mine = ApiTokenFactory(owner=team_with_members["developer"])
    old = ApiTokenFactory(owner=team_with_members["developer"])
    services.token_revoke(token=old)
    ApiTokenFactory(owner=team_with_members["outsider"])

    active = json.loads(call_devplat("tokens", "list", "-o", "json", "--as", "pay-developer").out)
    assert [row["key_id"] for row in active] == [mine.key_id]
    assert set(active[0]) == TOKEN_KEYS
    everything = yaml.safe_load(call_devplat("tokens", "list", "--all", "-o", "yaml", "--as", "pay-developer").out)
    assert {row["key_id"]: row["status"] for row in everything} == {mine.key_id: "active", old.key_id: "revoked"}

    table = call_devplat("tokens", "list", "--as", "pay-developer").out
    assert mine.key_id in table
    assert old.key_id not in table


@pytest.mark.django_db
@pytest.mark.parametrize("by", ["id", "key_id"])
def test_tokens_revoke_by_id_or_key_id(team_with_members, by):
    token = ApiTokenFactory(owner=team_with_members["developer"])
    start = last_seq()

    ran = call_devplat("tokens", "revoke", str(getattr(token, by)), "--as", "pay-developer")

    assert (ran.code, ran.out.strip()) == (0, f"token {token.key_id} revoked")
    token.refresh_from_db()
    assert token.status == "revoked"
    assert_audited(start, "token.revoke", by="pay-developer")
    with pytest.raises(services.TokenRejected):
        services.token_authenticate(token.plaintext)


@pytest.mark.django_db
def test_a_key_id_made_of_decimal_digits_is_still_found_by_key_id(team_with_members):
    decoy = ApiTokenFactory(owner=team_with_members["developer"])
    token = ApiTokenFactory(owner=team_with_members["developer"])
    ApiToken.objects.filter(pk=token.pk).update(key_id="1234567890123456")

    assert call_devplat("tokens", "revoke", "1234567890123456", "--as", "pay-developer").code == 0
    assert ApiToken.objects.get(pk=token.pk).status == "revoked"
    assert ApiToken.objects.get(pk=decoy.pk).status == "active"


@pytest.mark.django_db
def test_tokens_revoke_refuses_revoked_expired_and_other_peoples_tokens(team_with_members):
    revoked = ApiTokenFactory(owner=team_with_members["developer"])
    services.token_revoke(token=revoked)
    expired = ApiTokenFactory(owner=team_with_members["developer"])
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    theirs = ApiTokenFactory(owner=team_with_members["outsider"])
    before = last_seq()

    assert_error(call_devplat("tokens", "revoke", str(revoked.pk), "--as", "pay-developer"), 1, "already revoked")
    assert_error(call_devplat("tokens", "revoke", expired.key_id, "--as", "pay-developer"), 1, "already expired")
    assert_error(call_devplat("tokens", "revoke", str(theirs.pk), "--as", "pay-developer"), 1, "no token")
    assert_error(call_devplat("tokens", "revoke", "99999999999999999999", "--as", "pay-developer"), 1, "no token")
    assert ApiToken.objects.get(pk=theirs.pk).status == "active"
    assert last_seq() == before


# --- as real commands ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_line_end_to_end():
    """Real `manage.py devplat` processes against this test's (committed) database."""
    UserFactory(username="root-admin", platform_admin=True)
    dev = UserFactory(username="dev")
    MembershipFactory(team=TeamFactory(name="payments"), user=dev, role="admin")

    created = run_devplat("teams", "create", "search", "--as", "root-admin")
    assert (created.code, created.out.strip(), created.err) == (0, "team search created", "")
    issued = run_devplat("tokens", "create", "-o", "json", "--as", "dev")
    assert issued.code == 0, issued.err
    data = json.loads(issued.out)
    assert services.token_authenticate(data["token"]).owner == dev

    assert run_devplat("tokens", "revoke", data["key_id"], "--as", "dev").code == 0
    assert_error(run_devplat("tokens", "revoke", data["key_id"], "--as", "dev"), 1, "already revoked")
    assert_error(run_devplat("teams", "create", "rogue", "--as", "dev"), 1, "Only platform admins")
    assert_error(
        run_devplat("teams", "add-member", "payments", "root-admin", "--role", "boss", "--as", "dev"),
        2,
        "invalid choice: 'boss'",
    )

    audited = [(e.action, e.face, e.actor_username) for e in AuditEvent.objects.order_by("seq") if e.face == Face.CLI]
    assert audited == [
        ("team.create", "cli", "root-admin"),
        ("token.create", "cli", "dev"),
        ("token.revoke", "cli", "dev"),
    ]


@pytest.mark.django_db(transaction=True)
def test_teams_help_lists_the_verbs():
    ran = run_devplat("teams", "--help")
    assert ran.code == 0
    for verb in ("create", "list", "add-member", "remove-member", "add-namespace"):
        assert re.search(rf"^\s+{verb}\b", ran.out, re.MULTILINE), verb
