"""policy_evaluate_admission: which policies apply, what a violation does in each mode, and failing closed."""

from __future__ import annotations

import pytest

from governance.models import Policy
from governance.policies import AdmissionResult, Violation, compile_expression, policy_evaluate_admission
from governance.tests.factories import PolicyFactory
from governance.tests.policy_support import composite, request_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_policies")]

BACKUPS_ON = "has(object.spec.backups) && object.spec.backups.enabled == true"


def database(*, backups: bool | None, environment: str = "prod", team: str = "payments") -> dict:
    spec: dict = {"engine": "postgres", "size": "small"}
    if backups is not None:
        spec["backups"] = {"enabled": backups, "retentionDays": 7}
    return composite("Database", spec, name="orders-db", team=team, environment=environment)


def admit(obj: dict, **overrides: str) -> AdmissionResult:
    return policy_evaluate_admission(obj=obj, **{**request_for(obj), **overrides})


def test_an_object_that_satisfies_every_policy_passes():
    PolicyFactory(name="backups", expression=BACKUPS_ON)

    result = admit(database(backups=True))

    assert result == AdmissionResult(violations=())
    assert (result.denied, result.warnings) == (False, [])


def test_an_enforced_violation_denies_with_the_policy_message():
    PolicyFactory(name="backups", expression=BACKUPS_ON, message="Enable backups.")

    result = admit(database(backups=False))

    assert result.violations == (Violation(policy="backups", mode="enforce", message="Enable backups."),)
    assert result.denied is True
    assert result.warnings == []


def test_a_warn_violation_warns_without_denying():
    PolicyFactory(name="backups", expression=BACKUPS_ON, message="Consider backups.", mode="warn")

    result = admit(database(backups=False))

    assert (result.denied, result.warnings) == (False, ["Consider backups."])
    assert result.violations == (Violation("backups", "warn", "Consider backups."),)


def test_an_audit_violation_is_reported_but_neither_denies_nor_warns():
    PolicyFactory(name="backups", expression=BACKUPS_ON, message="No backups.", mode="audit")

    result = admit(database(backups=False))

    assert result.violations == (Violation("backups", "audit", "No backups."),)
    assert (result.denied, result.warnings) == (False, [])


def test_every_violated_policy_is_reported_in_name_order():
    PolicyFactory(name="b-small-only", expression="object.spec.size == 'large'", message="B", mode="warn")
    PolicyFactory(name="a-backups", expression=BACKUPS_ON, message="A")
    PolicyFactory(name="c-fine", expression="true")

    result = admit(database(backups=False))

    assert [(v.policy, v.message) for v in result.violations] == [("a-backups", "A"), ("b-small-only", "B")]
    assert (result.denied, result.warnings) == (True, ["B"])


def test_an_evaluation_error_is_a_violation_naming_the_policy_and_the_error():
    PolicyFactory(name="careless", expression="object.spec.backups.enabled == true", message="never shown")

    result = admit(database(backups=None))

    assert result.violations == (
        Violation("careless", "enforce", "policy careless could not be evaluated: no such key: backups"),
    )
    assert result.denied is True


def test_an_evaluation_error_in_a_warn_policy_warns():
    PolicyFactory(name="careless", expression="object.spec.replicas > 1", mode="warn")

    result = admit(database(backups=True))

    assert result.denied is False
    assert result.warnings == ["policy careless could not be evaluated: no such key: replicas"]


def test_a_result_that_is_not_a_bool_fails_closed():
    PolicyFactory(name="sloppy", expression="object.spec.size")

    result = admit(database(backups=True))

    assert result.denied is True
    assert result.violations[0].message == (
        "policy sloppy could not be evaluated: the expression returned string, not a bool (true means allowed)"
    )


def test_a_stored_expression_that_no_longer_compiles_fails_closed():
    """Written around clean() (a raw update, or limits lowered since): denied with the compile error."""
    policy = PolicyFactory(name="broken")
    Policy.objects.filter(pk=policy.pk).update(expression="object.spec.size ==")

    result = admit(database(backups=True))

    assert result.denied is True
    assert result.violations[0].message == (
        "policy broken could not be evaluated: syntax error at line 1, column 18: the expression ends too early"
    )


def test_an_expression_over_the_cost_limit_fails_closed_with_the_limit_in_the_message():
    PolicyFactory(name="quadratic", expression="object.spec.items.all(a, object.spec.items.all(b, a == a))")
    obj = composite("Database", {"items": list(range(400))}, environment="prod")

    result = admit(obj)

    assert result.denied is True
    assert result.violations[0].message.startswith(
        "policy quadratic could not be evaluated: the evaluation exceeded the cost limit of"
    )


def test_disabled_policies_are_not_evaluated():
    PolicyFactory(name="backups", expression=BACKUPS_ON, enabled=False)
    assert admit(database(backups=False)).violations == ()


def test_the_expression_sees_the_request_context():
    PolicyFactory(
        name="who",
        expression=(
            "context.team == 'payments' && context.environment == 'prod' && context.actor == 'alice' "
            "&& context.kind == 'Database' && context.capability == 'databases.platform.devplat.io'"
        ),
    )
    assert admit(database(backups=True)).violations == ()
    assert admit(database(backups=True), actor="mallory").denied is True


TARGETED = database(backups=False, environment="prod", team="payments")


@pytest.mark.parametrize(
    ("targets", "applies"),
    [
        ({}, True),  # every list empty: all requests
        ({"kinds": ["Database"]}, True),
        ({"kinds": ["Bucket", "Database"]}, True),
        ({"kinds": ["Bucket"]}, False),
        ({"capabilities": ["databases.platform.devplat.io"]}, True),
        ({"capabilities": ["buckets.platform.devplat.io"]}, False),
        ({"teams": ["payments"]}, True),
        ({"teams": ["search"]}, False),
        ({"environments": ["prod", "staging"]}, True),
        ({"environments": ["dev"]}, False),
        ({"kinds": ["Database"], "teams": ["payments"], "environments": ["prod"]}, True),
        ({"kinds": ["Database"], "teams": ["payments"], "environments": ["dev"]}, False),  # every list must match
    ],
)
def test_a_policy_applies_when_every_non_empty_target_list_contains_the_request_value(targets, applies):
    PolicyFactory(name="backups", expression=BACKUPS_ON, **targets)
    assert admit(TARGETED).denied is applies


def test_admission_reads_the_policies_in_one_query_and_reuses_compiled_programs(django_assert_num_queries):
    policies = [PolicyFactory(name=f"p{i}", expression=f"object.spec.size != 'size-{i}'") for i in range(5)]
    programs = [compile_expression(policy.expression) for policy in policies]
    misses = compile_expression.cache_info().misses

    for _ in range(3):
        with django_assert_num_queries(1):
            assert admit(database(backups=True)).violations == ()

    assert compile_expression.cache_info().misses == misses
    assert all(compile_expression(p.expression) is program for p, program in zip(policies, programs, strict=True))
