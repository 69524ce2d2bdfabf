"""The operator console: changes made in the admin go through the services and are audited as the signed-in user."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from governance.models import AuditEvent
from identity.models import ApiToken, Membership, NamespaceOwnership, Team
from identity.tests.factories import ApiTokenFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(platform_admin) -> Client:
    client = Client()
    client.force_login(platform_admin)
    return client


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


def test_adding_a_team_in_the_admin_creates_its_group_and_audits_the_admin(console, platform_admin):
    response = console.post("/admin/identity/team/add/", {"name": "ledger", "display_name": "Ledger", **_no_inlines()})

    assert response.status_code == 302, response.content[:2000]
    team = Team.objects.get(name="ledger")
    assert team.group.name == "team:ledger"
    event = last_event()
    assert (event.action, event.face, event.actor_username) == ("team.create", "admin", platform_admin.username)
    assert LogEntry.objects.filter(object_id=str(team.pk)).exists()  # the admin's own History page too


def test_a_bad_team_name_is_a_form_error_and_changes_nothing(console):
    before = AuditEvent.objects.count()
    response = console.post("/admin/identity/team/add/", {"name": "Not A Label", **_no_inlines()})

    assert response.status_code == 200
    assert b"Use a DNS label" in response.content
    assert not Team.objects.filter(name="Not A Label").exists()
    assert AuditEvent.objects.count() == before


def test_adding_a_member_in_the_admin_goes_through_the_service(console):
    team, user = TeamFactory(name="ledger"), UserFactory(username="carol")

    response = console.post("/admin/identity/membership/add/", {"team": team.pk, "user": user.pk, "role": "admin"})

    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=user).role == "admin"
    assert user.groups.filter(pk=team.group_id).exists()
    assert user.has_perm("identity.change_team", team)
    assert last_event().action == "team.member.add"


def test_a_namespace_owned_elsewhere_is_refused_with_the_owner_named(console):
    owner, other = TeamFactory(name="ledger"), TeamFactory(name="search")
    console.post("/admin/identity/namespaceownership/add/", {"namespace": "ledger-dev", "team": owner.pk})

    response = console.post("/admin/identity/namespaceownership/add/", {"namespace": "ledger-dev", "team": other.pk})

    assert response.status_code == 200
    assert NamespaceOwnership.objects.get(namespace="ledger-dev").team == owner


def test_a_token_made_in_the_admin_is_shown_once_and_stored_as_a_digest(console, platform_admin):
    response = console.post(
        "/admin/identity/apitoken/add/", {"owner": platform_admin.pk, "scope": "read", "description": "ci"}, follow=True
    )

    token = ApiToken.objects.get(description="ci")
    messages = [str(m) for m in response.context["messages"]]
    shown = [m for m in messages if "Token created" in m]
    assert len(shown) == 1 and f"dp_{token.key_id}_" in shown[0]
    assert any(f"dp_{token.key_id}_…" in m and "added successfully" in m for m in messages)
    plaintext = shown[0].split("Token created: ")[1].split(" ")[0]
    assert (
        plaintext.split("_", 2)[2] not in console.get(f"/admin/identity/apitoken/{token.pk}/change/").content.decode()
    )
    assert last_event().action == "token.create"


def test_revoking_tokens_from_the_list_audits_each(console):
    tokens = [ApiTokenFactory(), ApiTokenFactory()]

    console.post(
        "/admin/identity/apitoken/",
        {"action": "revoke", "_selected_action": [t.pk for t in tokens]},
    )

    assert all(ApiToken.objects.get(pk=t.pk).status == "revoked" for t in tokens)
    assert AuditEvent.objects.filter(action="token.revoke").count() == 2


def test_the_audit_log_is_read_only_in_the_admin(console):
    TeamFactory(name="ledger")
    event = last_event()

    assert console.get(f"/admin/governance/auditevent/{event.pk}/change/").status_code == 200
    assert console.post(f"/admin/governance/auditevent/{event.pk}/change/", {"action": "forged"}).status_code == 403
    assert console.post(f"/admin/governance/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "team.create"


def test_people_who_are_not_staff_cannot_open_the_console():
    member = Client()
    member.force_login(UserFactory(username="dev"))

    response = member.get("/admin/identity/team/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _no_inlines() -> dict[str, str]:
    """The team page's read-only inlines still post their management forms."""
    return {
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "namespaces-TOTAL_FORMS": "0",
        "namespaces-INITIAL_FORMS": "0",
    }
