"""The policies every installation ships with, against good and bad objects as devplat renders them."""

from __future__ import annotations

import pytest

from governance.models import Policy
from governance.policies import policy_evaluate_admission
from governance.tests.policy_support import composite, install_default_policies, only_default_policies, request_for

pytestmark = pytest.mark.django_db

DEFAULTS = [
    "apps-declare-resource-limits",
    "apps-should-declare-resource-limits",
    "no-public-buckets",
    "production-databases-need-backups",
]
BACKUPS_MESSAGE = "Production databases must have backups enabled: set backups.enabled=true."


@pytest.fixture(autouse=True)
def defaults():
    assert only_default_policies() == DEFAULTS


def admit(obj):
    return policy_evaluate_admission(obj=obj, **request_for(obj))


def database(environment: str, **backups) -> dict:
    spec = {"engine": "postgres", "engineVersion": "16", "size": "small", "storageGB": 20}
    if backups:
        spec["backups"] = {"retentionDays": 7, **backups}
    return composite("Database", spec, name="orders-db", environment=environment)


def bucket(**spec) -> dict:
    return composite("Bucket", {"region": "eu-west-1", "versioning": True, **spec}, name="assets")


def app(environment: str, limits: dict | None) -> dict:
    spec = {"image": "ghcr.io/acme/web:1.4.2", "port": 8080, "replicas": 2}
    if limits is not None:
        spec["resources"] = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": limits}
    return composite("App", spec, name="web", environment=environment)


def test_every_default_policy_compiles_and_validates():
    for policy in Policy.objects.all():
        policy.full_clean()


def test_a_production_database_with_backups_disabled_is_denied_with_the_message():
    result = admit(database("prod", enabled=False))
    assert result.denied is True
    assert [(v.policy, v.message) for v in result.violations] == [
        ("production-databases-need-backups", BACKUPS_MESSAGE)
    ]


def test_a_production_database_without_a_backups_section_is_denied_with_the_message_not_an_error():
    assert [v.message for v in admit(database("prod")).violations] == [BACKUPS_MESSAGE]


def test_a_production_database_with_backups_passes():
    assert admit(database("prod", enabled=True)).violations == ()


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_backups_are_not_required_outside_production(environment):
    assert admit(database(environment, enabled=False)).violations == ()


def test_a_public_bucket_is_denied():
    result = admit(bucket(public=True))
    assert result.denied is True
    assert [v.message for v in result.violations] == ["Buckets must not be public: set public=false."]


@pytest.mark.parametrize("spec", [{"public": False}, {}])
def test_a_private_bucket_passes(spec):
    assert admit(bucket(**spec)).violations == ()


@pytest.mark.parametrize(
    "limits",
    [None, {}, {"cpu": "500m"}, {"memory": "512Mi"}, {"cpu": "", "memory": "512Mi"}],
    ids=["no-resources", "no-limits", "cpu-only", "memory-only", "empty-cpu"],
)
def test_an_app_without_cpu_and_memory_limits_is_denied_in_production(limits):
    result = admit(app("prod", limits))
    assert result.denied is True
    assert [v.policy for v in result.violations] == ["apps-declare-resource-limits"]
    assert "set resources.limits.cpu and resources.limits.memory" in result.violations[0].message


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_an_app_without_limits_outside_production_is_a_warning(environment):
    result = admit(app(environment, None))
    assert result.denied is False
    assert result.warnings == [
        "Apps should declare resource limits (production requires them): set resources.limits.cpu and "
        "resources.limits.memory."
    ]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_an_app_with_limits_passes_everywhere(environment):
    assert admit(app(environment, {"cpu": "500m", "memory": "512Mi"})).violations == ()


def test_installing_the_defaults_again_changes_nothing_and_keeps_an_admins_edits():
    Policy.objects.filter(name="no-public-buckets").update(mode="warn", enabled=False)
    before = list(Policy.objects.order_by("name").values())

    install_default_policies()

    assert list(Policy.objects.order_by("name").values()) == before
