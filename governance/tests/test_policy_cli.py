"""`devplat policies list` and `devplat policies test NAME -f FILE`, driven as a developer would."""

from __future__ import annotations

import io
import json
import sys

import pytest
import yaml
from django.contrib.auth import get_user_model

from devplat.tests.support import assert_error, call_devplat, run_devplat
from governance.models import Policy
from governance.tests.factories import PolicyFactory
from governance.tests.policy_support import composite, install_default_policies, only_default_policies

BACKUPS_MESSAGE = "Production databases must have backups enabled: set backups.enabled=true."


@pytest.fixture
def dev(db):
    return get_user_model().objects.create_user(username="dev")


@pytest.fixture
def defaults(dev):
    only_default_policies()


def database(environment: str, *, backups: bool) -> dict:
    spec = {"engine": "postgres", "size": "small", "backups": {"enabled": backups, "retentionDays": 7}}
    return composite("Database", spec, name="orders-db", environment=environment)


@pytest.fixture
def write(tmp_path):
    """write(obj, name) -> the path of a YAML (or, for *.json, JSON) file holding obj."""

    def make(obj: dict, name: str = "object.yaml") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(obj) if name.endswith(".json") else yaml.safe_dump(obj))
        return str(path)

    return make


@pytest.mark.django_db
def test_list_shows_name_mode_targets_and_enabled(defaults):
    Policy.objects.filter(name="no-public-buckets").update(enabled=False)

    ran = call_devplat("policies", "list", "--as", "dev")

    assert ran.code == 0
    lines = [line.split() for line in ran.out.splitlines() if line.strip()]
    assert lines[0] == ["NAME", "MODE", "TARGETS", "ENABLED"]
    assert lines[2:] == [
        ["apps-declare-resource-limits", "enforce", "kinds=App", "environments=prod", "True"],
        ["apps-should-declare-resource-limits", "warn", "kinds=App", "environments=dev,staging", "True"],
        ["no-public-buckets", "enforce", "kinds=Bucket", "False"],
        ["production-databases-need-backups", "enforce", "kinds=Database", "environments=prod", "True"],
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("output", ["json", "yaml"])
def test_list_as_json_or_yaml_carries_the_whole_policy(defaults, output):
    ran = call_devplat("policies", "list", "-o", output, "--as", "dev")

    policies = yaml.safe_load(ran.out)  # JSON is YAML
    backups = next(p for p in policies if p["name"] == "production-databases-need-backups")
    assert backups["mode"] == "enforce"
    assert backups["enabled"] is True
    assert backups["targets"] == {"capabilities": [], "kinds": ["Database"], "teams": [], "environments": ["prod"]}
    assert backups["message"] == BACKUPS_MESSAGE
    assert "object.spec.backups.enabled == true" in backups["expression"]


@pytest.mark.django_db
def test_a_violating_object_prints_the_message_and_exits_1(defaults, write):
    path = write(database("prod", backups=False))

    ran = call_devplat("policies", "test", "production-databases-need-backups", "-f", path, "--as", "dev")

    assert ran.code == 1
    assert ran.out.strip() == f"FAIL (enforce) production-databases-need-backups: {BACKUPS_MESSAGE}"


@pytest.mark.django_db
def test_a_satisfying_object_prints_pass_and_exits_0(defaults, write):
    path = write(database("prod", backups=True), "db.json")

    ran = call_devplat("policies", "test", "production-databases-need-backups", "-f", path, "--as", "dev")

    assert (ran.code, ran.out.strip()) == (
        0,
        "PASS: Database/orders-db satisfies policy production-databases-need-backups",
    )


@pytest.mark.django_db
def test_the_object_can_come_from_stdin(defaults, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(yaml.safe_dump(database("prod", backups=False))))

    ran = call_devplat("policies", "test", "production-databases-need-backups", "-f", "-", "--as", "dev")

    assert ran.code == 1
    assert BACKUPS_MESSAGE in ran.out


@pytest.mark.django_db
def test_team_and_environment_default_to_the_labels_and_flags_override_them(defaults, write):
    path = write(database("dev", backups=False))
    name = "production-databases-need-backups"

    skipped = call_devplat("policies", "test", name, "-f", path, "--as", "dev")
    assert skipped.code == 0
    assert skipped.out.strip() == (
        f"SKIP: policy {name} does not apply to Database/orders-db: it targets environments prod, not dev. "
        "Pass --team, --environment or --capability to test it as such a request."
    )

    as_prod = call_devplat("policies", "test", name, "-f", path, "--environment", "prod", "-o", "json", "--as", "dev")
    assert as_prod.code == 1
    result = json.loads(as_prod.out)
    assert (result["applies"], result["passed"], result["message"]) == (True, False, BACKUPS_MESSAGE)
    assert result["context"] == {
        "capability": "databases.platform.devplat.io",
        "kind": "Database",
        "team": "payments",
        "environment": "prod",
        "actor": "dev",
    }


@pytest.mark.django_db
def test_context_flags_reach_the_expression(dev, write):
    PolicyFactory(name="only-alice", expression="context.actor == 'alice' && context.team == 'ledger'", message="no")
    path = write(database("dev", backups=True))

    assert call_devplat("policies", "test", "only-alice", "-f", path, "--as", "dev").code == 1
    allowed = call_devplat(
        "policies", "test", "only-alice", "-f", path, "--actor", "alice", "--team", "ledger", "--as", "dev"
    )
    assert allowed.code == 0


@pytest.mark.django_db
def test_an_evaluation_error_is_a_failure_naming_the_policy(dev, write):
    PolicyFactory(name="careless", expression="object.spec.replicas > 1")
    path = write(database("dev", backups=True))

    ran = call_devplat("policies", "test", "careless", "-f", path, "--as", "dev")

    assert ran.code == 1
    assert ran.out.strip() == ("FAIL (enforce) careless: policy careless could not be evaluated: no such key: replicas")


@pytest.mark.django_db
def test_a_disabled_policy_is_still_tested_and_says_it_is_disabled(dev, write):
    PolicyFactory(name="off", expression="false", message="never", enabled=False)
    ran = call_devplat("policies", "test", "off", "-f", write(database("dev", backups=True)), "--as", "dev")
    assert ran.code == 1
    assert ran.out.strip() == "FAIL (enforce) off: never (the policy is disabled: admission does not evaluate it)"


@pytest.mark.django_db
def test_an_unknown_policy_says_where_to_find_the_names(dev, write):
    ran = call_devplat("policies", "test", "nope", "-f", write(database("dev", backups=True)), "--as", "dev")
    assert_error(ran, 1, "no policy named 'nope'", "devplat policies list")


@pytest.mark.django_db
def test_a_missing_file_says_what_to_pass(defaults, tmp_path):
    missing = str(tmp_path / "missing.yaml")
    ran = call_devplat("policies", "test", "no-public-buckets", "-f", missing, "--as", "dev")
    assert_error(ran, 1, f"-f {missing}: cannot read it (No such file or directory)", "or - for stdin")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("kind: Bucket\nspec: [unclosed\n", ("not valid YAML at line 3, column 1", "fix the file")),
        ("kind: Bucket\n---\nkind: Bucket\n", ("expected a single document",)),
        ("- just\n- a list\n", ("expected one object, a mapping with apiVersion, kind, metadata and spec",)),
        ("spec: {public: true}\n", ("expected one object",)),
    ],
)
def test_a_file_that_is_not_one_object_is_an_error_saying_what_is_expected(defaults, tmp_path, text, fragments):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_error(call_devplat("policies", "test", "no-public-buckets", "-f", str(path), "--as", "dev"), 1, *fragments)


@pytest.mark.django_db(transaction=True)
def test_policies_test_as_a_real_command(tmp_path):
    get_user_model().objects.create_user(username="dev")
    install_default_policies()
    path = tmp_path / "bucket.yaml"
    path.write_text(yaml.safe_dump(composite("Bucket", {"public": True}, name="assets")))

    denied = run_devplat("policies", "test", "no-public-buckets", "-f", str(path), "--as", "dev")
    assert (denied.code, denied.out.strip(), denied.err) == (
        1,
        "FAIL (enforce) no-public-buckets: Buckets must not be public: set public=false.",
        "",
    )

    path.write_text(yaml.safe_dump(composite("Bucket", {"public": False}, name="assets")))
    passed = run_devplat("policies", "test", "no-public-buckets", "-f", str(path), "--as", "dev")
    assert (passed.code, passed.out.strip()) == (0, "PASS: Bucket/assets satisfies policy no-public-buckets")
