"""Policies in the operator console: compile errors on the form, every change audited as the signed-in admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from governance.models import AuditEvent, Policy
from governance.tests.factories import PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_policies")]


@pytest.fixture
def console() -> Client:
    get_user_model().objects.create_superuser(username="root", password="pw-for-tests")
    client = Client()
    client.login(username="root", password="pw-for-tests")
    return client


def form(**fields: str) -> dict[str, str]:
    data = {
        "name": "no-public-buckets",
        "description": "",
        "mode": "enforce",
        "enabled": "on",
        "expression": "object.spec.public == false",
        "message": "Buckets must not be public.",
        "capabilities": "",
        "kinds": "Bucket",
        "teams": "",
        "environments": "",
    }
    return {**data, **fields}


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


def test_the_policy_list_shows_name_mode_targets_and_enabled(console):
    PolicyFactory(name="backups", kinds=["Database"], environments=["prod"])
    PolicyFactory(name="anything", mode="audit", enabled=False)

    page = console.get("/admin/governance/policy/").content.decode()

    assert "kinds=Database environments=prod" in page
    assert ">all<" in page
    assert "backups" in page and "anything" in page


def test_adding_a_policy_saves_it_through_the_service_and_audits_the_admin(console):
    response = console.post("/admin/governance/policy/add/", form(kinds="Bucket, Database", environments="prod"))

    assert response.status_code == 302, response.content.decode()[:3000]
    policy = Policy.objects.get(name="no-public-buckets")
    assert (policy.kinds, policy.environments, policy.teams) == (["Bucket", "Database"], ["prod"], [])
    event = last_event()
    assert (event.action, event.face, event.actor_username) == ("policy.create", "admin", "root")
    assert event.after["kinds"] == ["Bucket", "Database"]


def test_a_compile_error_is_shown_on_the_expression_field_and_nothing_is_saved(console):
    before = AuditEvent.objects.count()

    response = console.post("/admin/governance/policy/add/", form(expression="object.spec.public == flase"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["expression"]
    assert "undeclared reference to &#x27;flase&#x27; at line 1, column 23" in response.content.decode()
    assert not Policy.objects.filter(name="no-public-buckets").exists()
    assert AuditEvent.objects.count() == before


def test_a_bad_target_is_a_field_error(console):
    response = console.post("/admin/governance/policy/add/", form(name="x", kinds="bucket"))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["kinds"]


def test_editing_a_policy_audits_before_and_after_as_the_admin(console):
    policy = PolicyFactory(name="backups-check", expression="true", mode="enforce")

    response = console.post(
        f"/admin/governance/policy/{policy.pk}/change/",
        form(name="ignored", mode="warn", expression="has(object.spec.backups)", environments="prod"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    policy.refresh_from_db()
    assert (policy.name, policy.mode, policy.expression) == ("backups-check", "warn", "has(object.spec.backups)")
    event = last_event()
    assert (event.action, event.face, event.actor_username) == ("policy.update", "admin", "root")
    assert (event.before["mode"], event.after["mode"]) == ("enforce", "warn")
    assert (event.before["expression"], event.after["expression"]) == ("true", "has(object.spec.backups)")


def test_deleting_a_policy_in_the_admin_is_audited(console):
    policy = PolicyFactory(name="doomed")

    response = console.post(f"/admin/governance/policy/{policy.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Policy.objects.filter(pk=policy.pk).exists()
    event = last_event()
    assert (event.action, event.face, event.before["name"]) == ("policy.delete", "admin", "doomed")


def test_the_disable_action_goes_through_the_service(console):
    policies = [PolicyFactory(name="one"), PolicyFactory(name="two")]

    response = console.post(
        "/admin/governance/policy/", {"action": "disable", "_selected_action": [str(p.pk) for p in policies]}
    )

    assert response.status_code == 302
    assert list(Policy.objects.filter(name__in=["one", "two"]).values_list("enabled", flat=True)) == [False, False]
    updates = AuditEvent.objects.filter(action="policy.update", face="admin").order_by("seq")
    assert [(e.target_repr, e.after["enabled"]) for e in updates] == [("one", False), ("two", False)]
