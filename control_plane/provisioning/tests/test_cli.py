"""The developer's commands end to end: capabilities, create (--set, -f, --dry-run, --wait), get, describe, trace,
delete, and the messages of what goes wrong."""

from __future__ import annotations

import json
import threading

from django.db import connection

from control_plane.models import ProvisioningRequest
from control_plane.provisioning.tests.conftest import Platform, mark_ready
from control_plane.provisioning.values import apply_set
from control_plane.sync.engine import sync_window
from devplat.tests.support import call_devplat

NS = "team-checkout"


def test_capabilities_list_and_show_the_parameters_with_types_defaults_and_rules(platform: Platform):
    listed = call_devplat("capabilities", "list", "--as", "alice")
    assert listed.code == 0, listed.err
    assert {"Database", "App", "Cache"} <= {line.split()[0] for line in listed.out.splitlines()[1:]}

    shown = call_devplat("capabilities", "show", "database", "-o", "json", "--as", "alice")
    parameters = {row["parameter"]: row for row in json.loads(shown.out)["parameters"]}
    assert parameters["storageGB"]["type"] == "integer"
    assert parameters["storageGB"]["default"] == 20
    assert parameters["backups.retentionDays"]["default"] == 7
    assert any("cannot be decreased" in rule["message"] for rule in json.loads(shown.out)["rules"])


def test_create_with_set_and_values_file_typed_by_the_schema(platform: Platform, tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("size: medium\nbackups:\n  retentionDays: 14\n")

    ran = call_devplat(
        "create", "Database", "orders-db", "--team", "checkout", "-f", str(values),
        "--set", "engineVersion=17", "--set", "storageGB=40", "--set", "backups.enabled=true", "--as", "alice",
    )  # fmt: skip

    assert ran.code == 0, ran.err
    assert "Database/orders-db created in team-checkout" in ran.out
    spec = platform.live("databases", NS, "orders-db")["spec"]
    assert (spec["engineVersion"], spec["storageGB"], spec["size"]) == ("17", 40, "medium")
    assert spec["backups"] == {"enabled": True, "retentionDays": 14}


def test_dry_run_creates_nothing_and_bad_parameters_name_field_and_rule(platform: Platform):
    dry = call_devplat("create", "Database", "orders-db", "--team", "checkout", "--dry-run", "--as", "alice")
    assert (dry.code, "dry run, nothing created" in dry.out) == (0, True)
    assert not platform.exists("databases", NS, "orders-db")

    bad = call_devplat("create", "Database", "orders-db", "--team", "checkout", "--set", "storageGB=5", "--as", "alice")
    assert bad.code == 1
    assert "parameters.storageGB" in bad.err
    assert "greater than or equal to 10" in bad.err
    assert "Traceback" not in bad.err

    typo = call_devplat(
        "create", "Database", "orders-db", "--team", "checkout", "--set", "storageGB=lots", "--as", "alice"
    )
    assert (typo.code, "'lots' is not a valid integer" in typo.err) == (1, True)

    unknown = call_devplat("create", "Databse", "orders-db", "--team", "checkout", "--as", "alice")
    assert unknown.code == 1
    assert "No capability 'Databse'" in unknown.err
    assert "Database" in unknown.err
    assert not ProvisioningRequest.objects.exists()


def test_get_describe_trace_follow_a_request_to_ready_and_delete_it(platform: Platform):
    assert call_devplat("create", "Database", "orders-db", "--team", "checkout", "--as", "alice").code == 0
    mark_ready(platform, "databases", NS, "orders-db")
    sync_window(platform.cluster, seconds=10, once=True)

    got = call_devplat("get", "Database", "--as", "alice")
    assert got.code == 0, got.err
    row = next(line for line in got.out.splitlines() if line.startswith("orders-db"))
    assert "Ready" in row
    assert call_devplat("get", "Database", "--as", "pete").out.strip() == "No resources found."

    described = call_devplat("describe", "Database", "orders-db", "--as", "alice")
    assert "Phase:        Ready" in described.out
    assert "storageGB: 20" in described.out
    assert "Ready=True" in described.out

    traced = call_devplat("trace", "Database", "orders-db", "-o", "json", "--as", "alice")
    assert json.loads(traced.out)["tree"][0]["name"] == "Database/orders-db"

    refused = call_devplat("delete", "Database", "orders-db", "--as", "vera")
    assert (refused.code, "not delete it" in refused.err) == (1, True)
    deleted = call_devplat("delete", "Database", "orders-db", "--as", "alice")
    assert deleted.code == 0, deleted.err
    assert not platform.exists("databases", NS, "orders-db")


def test_wait_follows_the_request_until_it_is_ready(platform: Platform):
    def crossplane_and_sync() -> None:
        try:
            while not platform.exists("databases", NS, "orders-db"):
                threading.Event().wait(0.1)
            mark_ready(platform, "databases", NS, "orders-db")
            sync_window(platform.cluster, seconds=10, once=True)
        finally:
            connection.close()  # this thread's own connection, so the test database can be dropped

    helper = threading.Thread(target=crossplane_and_sync)
    helper.start()
    ran = call_devplat(
        "create", "Database", "orders-db", "--team", "checkout", "--wait", "--timeout", "60s", "--as", "alice"
    )
    helper.join()

    assert ran.code == 0, ran.err
    assert "Database/orders-db: Applied" in ran.err
    assert "Database/orders-db: Ready" in ran.err


def test_wait_gives_up_at_the_timeout_saying_where_it_stands(platform: Platform):
    ran = call_devplat(
        "create", "Database", "orders-db", "--team", "checkout", "--wait", "--timeout", "2s", "--as", "alice"
    )
    assert ran.code == 1
    assert "still Applied after 2s" in ran.err
    assert "devplat trace Database orders-db" in ran.err


def test_set_is_typed_by_the_schema_where_it_speaks_and_read_as_yaml_where_it_is_silent():
    schema = {
        "properties": {
            "spec": {
                "properties": {
                    "engineVersion": {"type": "string"},
                    "replicas": {"type": "integer"},
                    "backups": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
                }
            }
        }
    }
    parameters: dict = {}
    for assignment in ("engineVersion=16", "replicas=3", "backups.enabled=no", "extra=[1, 2]"):
        apply_set(parameters, assignment, schema)
    assert parameters == {"engineVersion": "16", "replicas": 3, "backups": {"enabled": False}, "extra": [1, 2]}


def test_patch_merges_changes_unsets_to_defaults_and_refuses_what_the_rules_forbid(platform: Platform):
    create = ("create", "Database", "orders-db", "--team", "checkout", "--set", "storageGB=50", "--set", "size=large")
    assert call_devplat(*create, "--as", "alice").code == 0

    shrink = call_devplat("patch", "Database", "orders-db", "--set", "storageGB=30", "--as", "alice")
    assert (shrink.code, "storageGB cannot be decreased" in shrink.err) == (1, True)
    viewer = call_devplat("patch", "Database", "orders-db", "--set", "storageGB=80", "--as", "vera")
    assert (viewer.code, "not change it" in viewer.err) == (1, True)

    ran = call_devplat("patch", "Database", "orders-db", "--set", "storageGB=80", "--unset", "size", "--as", "alice")
    assert ran.code == 0, ran.err
    spec = platform.live("databases", NS, "orders-db")["spec"]
    assert (spec["storageGB"], spec["size"]) == (80, "small")
    assert ProvisioningRequest.objects.get().parameters == {"storageGB": 80}


def test_a_change_reads_applied_then_updating_until_crossplane_reports_the_new_generation(platform: Platform):
    assert call_devplat("create", "Database", "orders-db", "--team", "checkout", "--as", "alice").code == 0
    mark_ready(platform, "databases", NS, "orders-db")
    sync_window(platform.cluster, seconds=10, once=True)
    assert call_devplat("patch", "Database", "orders-db", "--set", "storageGB=80", "--as", "alice").code == 0

    def phase() -> str:
        return json.loads(call_devplat("get", "Database", "orders-db", "-o", "json", "--as", "alice").out)[0]["phase"]

    assert phase() == "Applied"  # the sync has not brought generation 2 back
    sync_window(platform.cluster, seconds=10, once=True)
    assert phase() == "Updating"  # Ready still speaks of generation 1
    mark_ready(platform, "databases", NS, "orders-db", generation=2)
    sync_window(platform.cluster, seconds=10, once=True)
    assert phase() == "Ready"
