"""Policy writes: validated by Policy.clean() and audited in the same transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from devplat.core.actor import Actor, Face, acting
from governance.models import AuditEvent, Policy
from governance.services import policy_create, policy_delete, policy_update
from governance.tests.factories import PolicyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_policies")]

AS_ALICE = Actor(username="alice", face=Face.CLI, request_id="req-1")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_policy_create_saves_and_audits_the_whole_policy():
    with acting(AS_ALICE):
        policy = policy_create(
            name="no-public-buckets",
            expression="object.spec.public == false",
            message="No public buckets.",
            kinds=["Bucket"],
            environments=["prod", "prod", " staging "],
        )

    assert Policy.objects.get(name="no-public-buckets").environments == ["prod", "staging"]
    (event,) = events("policy.create")
    assert (event.actor_username, event.target_type, event.target_id) == ("alice", "governance.policy", str(policy.pk))
    assert event.after == {
        "name": "no-public-buckets",
        "description": "",
        "expression": "object.spec.public == false",
        "message": "No public buckets.",
        "mode": "enforce",
        "capabilities": [],
        "kinds": ["Bucket"],
        "teams": [],
        "environments": ["prod", "staging"],
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"expression": "object.spec.public = false"}, "expression", "syntax error at line 1, column 20"),
        ({"name": "No Spaces"}, "name", "Use a DNS label"),
        ({"kinds": ["database"]}, "kinds", "'database': each entry must be a kind in CamelCase"),
        ({"capabilities": ["databases"]}, "capabilities", "must be an XRD name"),
        ({"teams": ["Payments"]}, "teams", "must be a team name"),
        ({"environments": ["prod!"]}, "environments", "must be an environment name"),
        ({"mode": "block"}, "mode", "not a valid choice"),
    ],
)
def test_policy_create_refuses_invalid_fields_and_writes_nothing(fields, field, fragment):
    arguments = {"name": "p", "expression": "true", "message": "m", **fields}
    with pytest.raises(ValidationError) as raised:
        policy_create(**arguments)

    assert fragment in " ".join(raised.value.message_dict[field])
    assert not Policy.objects.filter(name=arguments["name"]).exists()
    assert events("policy.create") == []


def test_policy_update_audits_before_from_the_database_and_after():
    policy = PolicyFactory(name="backups", mode="enforce", environments=["prod"])
    policy.mode = "warn"  # as a form would have changed it already

    with acting(AS_ALICE):
        updated = policy_update(policy=policy, mode="warn", environments=["prod", "staging"])

    assert (updated.mode, updated.environments) == ("warn", ["prod", "staging"])
    (event,) = events("policy.update")
    assert (event.before["mode"], event.after["mode"]) == ("enforce", "warn")
    assert (event.before["environments"], event.after["environments"]) == (["prod"], ["prod", "staging"])


def test_policy_update_without_a_change_writes_no_audit_event():
    policy = PolicyFactory(name="backups")
    policy_update(policy=policy, mode=policy.mode, enabled=True)
    assert events("policy.update") == []


def test_policy_update_refuses_an_expression_that_does_not_compile():
    policy = PolicyFactory(name="backups", expression="true")
    with pytest.raises(ValidationError, match="undeclared reference to 'spec'"):
        policy_update(policy=policy, expression="spec.backups.enabled")
    assert Policy.objects.get(pk=policy.pk).expression == "true"


def test_policy_delete_audits_what_was_deleted():
    policy = PolicyFactory(name="backups", kinds=["Database"])
    policy_delete(policy=policy)

    assert not Policy.objects.filter(name="backups").exists()
    (event,) = events("policy.delete")
    assert (event.before["name"], event.before["kinds"], event.after) == ("backups", ["Database"], None)
