"""POST/GET/PATCH/DELETE /api/v1/capabilities/{capability}/requests/ as an agent uses them, with tokens."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from control_plane.models import ProvisioningRequest
from control_plane.provisioning.tests.conftest import Platform, apply_as, mark_ready
from control_plane.sync.engine import sync_window
from identity.tests.factories import ApiTokenFactory

BASE = "/api/v1/capabilities/databases.platform.devplat.io/requests/"
NS = "team-checkout"


def client(user: Any, scope: str = "provision") -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(owner=user, scope=scope).plaintext}")
    return api


def test_dry_run_then_create_then_follow_to_ready_then_change_then_delete(platform: Platform):
    alice = client(platform.alice)
    body = {"name": "orders-db", "team": "checkout", "parameters": {"size": "medium"}, "environment": "staging"}

    dry = alice.post(BASE, {**body, "dry_run": True}, format="json")
    assert dry.status_code == 200, dry.content
    assert dry.json()["dry_run"] is True
    assert dry.json()["object"]["spec"]["size"] == "medium"
    assert not platform.exists("databases", NS, "orders-db")

    created = alice.post(BASE, body, format="json")
    assert created.status_code == 201, created.content
    request = created.json()
    assert (request["phase"], request["namespace"], request["team"]) == ("Applied", NS, "checkout")
    assert platform.exists("databases", NS, "orders-db")

    mark_ready(platform, "databases", NS, "orders-db")
    sync_window(platform.cluster, seconds=10, once=True)
    followed = alice.get(f"{BASE}{request['id']}/").json()
    assert followed["phase"] == "Ready"
    assert followed["resource"]["ready"] is True
    assert alice.get(f"/api/v1/resources/{followed['resource']['id']}/").status_code == 200

    changed = alice.patch(f"{BASE}{request['id']}/", {"parameters": {"storageGB": 60}}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["parameters"] == {"size": "medium", "storageGB": 60}
    assert platform.live("databases", NS, "orders-db")["spec"]["storageGB"] == 60

    deleted = alice.delete(f"{BASE}{request['id']}/")
    assert (deleted.status_code, deleted.json()["phase"]) == (200, "Deleted")
    assert not platform.exists("databases", NS, "orders-db")
    assert alice.get(BASE).json()["results"] == []
    assert [r["name"] for r in alice.get(f"{BASE}?include_deleted=true").json()["results"]] == ["orders-db"]


def test_another_teams_token_can_neither_read_change_nor_delete_the_request(platform: Platform):
    created = client(platform.alice).post(BASE, {"name": "orders-db", "team": "checkout"}, format="json").json()
    pete = client(platform.pete)

    assert pete.get(BASE).json()["results"] == []
    for method in ("get", "patch", "delete"):
        response = getattr(pete, method)(f"{BASE}{created['id']}/", {"parameters": {"size": "large"}}, format="json")
        assert response.status_code == 404, (method, response.content)
    assert platform.live("databases", NS, "orders-db")["spec"]["size"] == "small"
    refused = pete.post(BASE, {"name": "sneaky", "team": "checkout"}, format="json")
    assert refused.status_code == 404
    assert not platform.exists("databases", NS, "sneaky")


def test_writing_needs_the_provision_scope_and_a_developer_role(platform: Platform):
    read_only = client(platform.alice, scope="read").post(
        BASE, {"name": "orders-db", "team": "checkout"}, format="json"
    )
    assert read_only.status_code == 403
    viewer = client(platform.vera).post(BASE, {"name": "orders-db", "team": "checkout"}, format="json")
    assert viewer.status_code == 403
    assert "developer" in viewer.json()["detail"]
    assert not platform.exists("databases", NS, "orders-db")


def test_bad_parameters_and_policy_denials_are_problems_naming_each_field_and_policy(platform: Platform):
    alice = client(platform.alice)
    bad = alice.post(BASE, {"name": "orders-db", "team": "checkout", "parameters": {"storageGB": 1}}, format="json")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"
    assert "parameters.storageGB" in bad.json()["errors"]

    body = {
        "name": "orders-db",
        "team": "checkout",
        "environment": "prod",
        "parameters": {"backups": {"enabled": False}},
    }
    denied = alice.post(BASE, body, format="json")
    assert denied.status_code == 400
    assert [m.split(":")[0] for m in denied.json()["errors"]["policies"]] == ["production-databases-need-backups"]


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(platform: Platform):
    alice = client(platform.alice)
    body = {"name": "orders-db", "team": "checkout"}
    first = alice.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = alice.post(BASE, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ProvisioningRequest.objects.count() == 1
    other = alice.post(BASE, {**body, "name": "other-db"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 400
    assert "Idempotency-Key" in other.json()["errors"]
    assert not platform.exists("databases", NS, "other-db")


def test_a_field_manager_conflict_is_a_409_naming_the_other_manager(platform: Platform):
    apply_as(platform, "argocd", "orders-db", {"size": "large"})

    response = client(platform.alice).post(
        BASE, {"name": "orders-db", "team": "checkout", "parameters": {"size": "small"}}, format="json"
    )
    assert response.status_code == 409
    assert "argocd" in response.json()["detail"]
