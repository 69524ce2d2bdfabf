"""request_capability over MCP with the SDK's own client: a dry run by default, a real request when asked, refused
for read-only tokens, and the same validation, policies and permissions as every other face."""

from __future__ import annotations

from control_plane.mcp.tests.test_mcp import call, mcp_url  # noqa: F401 (a fixture)
from control_plane.models import ProvisioningRequest
from control_plane.provisioning.tests.conftest import Platform
from governance.models import AuditEvent
from identity.tests.factories import ApiTokenFactory

NS = "team-checkout"


def token(user, scope: str = "provision") -> str:
    return ApiTokenFactory(owner=user, scope=scope).plaintext


def test_a_request_is_a_dry_run_unless_asked_then_real_and_audited(platform: Platform, mcp_url):  # noqa: F811
    alice = token(platform.alice)
    arguments = {"capability": "Database", "name": "orders-db", "team": "checkout", "parameters": {"size": "medium"}}

    dry = call(mcp_url, alice, "request_capability", **arguments).data
    assert dry["dry_run"] is True
    assert (dry["object"]["namespace"], dry["object"]["spec"]["size"]) == (NS, "medium")
    assert not platform.exists("databases", NS, "orders-db")
    assert not ProvisioningRequest.objects.exists()

    real = call(mcp_url, alice, "request_capability", dry_run=False, **arguments).data
    assert (real["request"]["name"], real["request"]["status"]) == ("orders-db", "applied")
    assert platform.live("databases", NS, "orders-db")["spec"]["size"] == "medium"
    created = AuditEvent.objects.get(action="provisioning.request.create")
    assert (created.face, created.actor_username) == ("mcp", "alice")


def test_read_tokens_other_teams_and_bad_parameters_get_tool_errors_that_say_why(platform: Platform, mcp_url):  # noqa: F811
    arguments = {"capability": "Database", "name": "orders-db", "team": "checkout", "dry_run": False}

    read_only = call(mcp_url, token(platform.alice, "read"), "request_capability", **arguments)
    assert read_only.is_error and "provision scope" in read_only.text
    other_team = call(mcp_url, token(platform.pete), "request_capability", **arguments)
    assert other_team.is_error and "No team named 'checkout'" in other_team.text
    bad = call(mcp_url, token(platform.alice), "request_capability", parameters={"storageGB": 5}, **arguments)
    assert bad.is_error and "parameters.storageGB" in bad.text
    assert not platform.exists("databases", NS, "orders-db")
