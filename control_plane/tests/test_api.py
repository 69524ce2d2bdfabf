"""The cluster API: everyone signed in reads, platform admins write; no credential ever comes back out (R13, R15)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from control_plane.api.urls import urlpatterns
from control_plane.models import Cluster
from control_plane.tests.factories import ClusterFactory, b64, kubeconfig, pki
from control_plane.tests.support import (
    MALICIOUS_KUBECONFIGS,
    MALICIOUS_URLS,
    ConnectionLog,
    Listener,
    malicious_kubeconfig,
)
from governance.models import AuditEvent
from identity.tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
TOKEN = "CANARY-api-token-9d2e"
CREDENTIAL_FIELDS = {"kubeconfig", "context", "token", "ca_data", "client_cert_data", "client_key_data"}
ROLES = ("platform_admin", "developer", "anonymous")


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def state() -> tuple[Any, ...]:
    return (
        sorted(Cluster.objects.values_list("name", "server", "enabled", "credentials_ciphertext")),
        AuditEvent.objects.count(),
    )


def network_attempts(connections: ConnectionLog) -> list[Any]:
    """Connection attempts other than to this test run's Redis (the API's throttle counters live there)."""
    redis = urlsplit(django_settings.REDIS_URL)
    return [a for a in connections.attempts if isinstance(a, tuple) and a[:2] != (redis.hostname, redis.port)]


@dataclass
class World:
    clients: dict[str, APIClient]
    prod: Cluster
    listener: Listener


@pytest.fixture
def world(platform_admin, token_client, listener, settings) -> World:
    """A cluster on the listener's port, registered while loopback was allowed; then loopback is refused (as in
    production), so testing it answers without any connection. New clusters go in the allow-listed 10.20/16."""
    prod = ClusterFactory(name="prod", server=f"https://127.0.0.1:{listener.port}", token=TOKEN)
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False
    settings.DEVPLAT_CLUSTER_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    developer = UserFactory(username="dev")
    MembershipFactory(team=TeamFactory(name="payments"), user=developer, role="admin")
    clients = {
        "platform_admin": token_client(platform_admin, scope="admin"),
        "developer": token_client(developer, scope="admin"),
        "anonymous": APIClient(),
    }
    return World(clients, prod, listener)


def operations() -> list[tuple[str, str]]:
    """The cluster routes' operations (the inventory routes have their own tests and the generated matrix)."""
    found = set()
    for pattern in (p for p in urlpatterns if p.name.startswith("cluster-")):
        found.update((pattern.name, m) for m in pattern.callback.actions if m not in ("head", "options"))
    return sorted(found)


def _all(ok: int) -> dict[str, int]:
    return {"platform_admin": ok, "developer": ok, "anonymous": 401}


EXPECTED = {
    ("cluster-list", "get"): _all(200),
    ("cluster-list", "post"): _all(403) | {"platform_admin": 201},
    ("cluster-detail", "get"): _all(200),
    ("cluster-detail", "put"): _all(405),  # changes are partial: PATCH
    ("cluster-detail", "patch"): _all(403) | {"platform_admin": 200},
    ("cluster-detail", "delete"): _all(403) | {"platform_admin": 204},
    ("cluster-test", "post"): _all(403) | {"platform_admin": 200},
}
BODIES = {
    ("cluster-list", "post"): {"name": "edge", "server": "https://10.20.30.40:6443", "token": "edge-token"},
    ("cluster-detail", "put"): {"enabled": False},
    ("cluster-detail", "patch"): {"enabled": False},
}


def test_the_matrix_covers_every_cluster_route_and_method():
    assert set(operations()) == set(EXPECTED)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), operations())
def test_permission_matrix(world, connections, name, method, role):
    url = reverse(f"control_plane-api:{name}", kwargs={} if name == "cluster-list" else {"name": "prod"})
    before = state()

    response = getattr(world.clients[role], method)(url, BODIES.get((name, method)), format="json")

    assert response.status_code == EXPECTED[(name, method)][role], response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == PROBLEM
        assert state() == before
    elif method != "get":
        assert state() != before
    assert TOKEN not in response.content.decode()
    assert world.listener.inbound() == 0
    assert network_attempts(connections) == []


def test_a_developer_is_told_who_may_change_clusters(world):
    client = world.clients["developer"]
    assert (
        "Only platform admins register clusters"
        in assert_problem(client.post("/api/v1/clusters/", BODIES[("cluster-list", "post")], format="json"), 403)[
            "detail"
        ]
    )
    assert (
        "only platform admins change or test clusters"
        in assert_problem(client.post("/api/v1/clusters/prod/test/"), 403)["detail"]
    )
    assert (
        "only platform admins remove clusters" in assert_problem(client.delete("/api/v1/clusters/prod/"), 403)["detail"]
    )


def test_a_read_scoped_token_of_a_platform_admin_cannot_write(world, token_client, platform_admin):
    client = token_client(platform_admin, scope="read")
    assert client.get("/api/v1/clusters/").status_code == 200
    assert_problem(client.patch("/api/v1/clusters/prod/", {"enabled": False}, format="json"), 403)
    assert Cluster.objects.get(name="prod").enabled is True


# --- register --------------------------------------------------------------------------------------------------------


def test_register_with_server_token_and_ca_answers_the_cluster_without_credentials(world):
    response = world.clients["platform_admin"].post(
        "/api/v1/clusters/",
        {
            "name": "edge",
            "server": "https://10.20.30.40:6443",
            "token": TOKEN,
            "ca_data": pki().ca_pem,
            "labels": {"env": "prod"},
            "enabled": False,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) & CREDENTIAL_FIELDS == set()
    assert (body["name"], body["server"], body["auth_method"], body["enabled"], body["labels"]) == (
        "edge",
        "https://10.20.30.40:6443",
        "token",
        False,
        {"env": "prod"},
    )
    assert TOKEN not in response.content.decode()
    assert "BEGIN CERTIFICATE" not in response.content.decode()
    cluster = Cluster.objects.get(name="edge")
    assert (cluster.credentials().token, cluster.credentials().ca_data) == (TOKEN, pki().ca_pem)
    event = AuditEvent.objects.get(action="cluster.register", target_id=str(cluster.pk))
    assert (event.face, event.actor_username) == ("api", "root-admin")


def test_register_with_a_kubeconfig_and_context(world):
    material = pki()
    text = kubeconfig(
        "https://10.20.0.1:6443",
        user={
            "client-certificate-data": b64(material.client_cert_pem),
            "client-key-data": b64(material.client_key_pem),
        },
        context="admin@edge",
    )
    response = world.clients["platform_admin"].post(
        "/api/v1/clusters/", {"name": "edge", "kubeconfig": text, "context": "admin@edge"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["auth_method"] == "client-certificate"
    assert "PRIVATE KEY" not in response.content.decode()


@pytest.mark.parametrize("case", MALICIOUS_URLS)
def test_register_refuses_malicious_urls_with_the_reason_and_never_connects(world, connections, case):
    template, reason = MALICIOUS_URLS[case]
    before = state()

    response = world.clients["platform_admin"].post(
        "/api/v1/clusters/",
        {"name": "evil", "server": template.format(port=world.listener.port), "token": TOKEN},
        format="json",
    )

    body = assert_problem(response, 400)
    assert reason in body["errors"]["server"][0]
    assert "hunter2" not in response.content.decode()
    assert state() == before
    assert world.listener.inbound() == 0
    assert network_attempts(connections) == []


@pytest.mark.parametrize("case", MALICIOUS_KUBECONFIGS)
def test_register_refuses_malicious_kubeconfigs_with_the_reason_and_never_connects(world, connections, settings, case):
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = True  # the kubeconfig points at the listener: a connection would show
    text, reason = malicious_kubeconfig(case, f"https://127.0.0.1:{world.listener.port}")
    before = state()

    response = world.clients["platform_admin"].post(
        "/api/v1/clusters/", {"name": "evil", "kubeconfig": text}, format="json"
    )

    assert reason in assert_problem(response, 400)["errors"]["kubeconfig"][0]
    assert state() == before
    assert world.listener.inbound() == 0
    assert network_attempts(connections) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "prod", "server": "https://10.20.0.1", "token": "t"}, "name"),
        ({"name": "Bad Name", "server": "https://10.20.0.1", "token": "t"}, "name"),
        ({"name": "x", "server": "https://10.20.0.1"}, "token"),
        ({"name": "x", "token": "t"}, "server"),
        ({"name": "x", "kubeconfig": "k", "server": "https://10.20.0.1", "token": "t"}, "kubeconfig"),
        ({"name": "x", "server": "https://10.20.0.1", "token": "t", "labels": {"bad key": "v"}}, "labels"),
        ({"name": "x", "server": "https://10.20.0.1", "token": "t", "labels": ["env"]}, "labels"),
    ],
)
def test_register_refuses_bad_bodies_with_the_field_at_fault(world, body, field):
    before = state()
    assert (
        field
        in assert_problem(world.clients["platform_admin"].post("/api/v1/clusters/", body, format="json"), 400)["errors"]
    )
    assert state() == before


def test_register_ignores_read_only_fields(world):
    response = world.clients["platform_admin"].post(
        "/api/v1/clusters/",
        {
            "name": "edge",
            "server": "https://10.20.0.9",
            "token": "t",
            "id": 4242,
            "auth_method": "client-certificate",
            "kubernetes_version": "v9.9.9",
            "last_contact_at": "2001-01-01T00:00:00Z",
            "credentials_ciphertext": "gAAAAAforged",
        },
        format="json",
    )
    assert response.status_code == 201
    cluster = Cluster.objects.get(name="edge")
    assert cluster.pk != 4242
    assert (cluster.auth_method, cluster.kubernetes_version, cluster.last_contact_at) == ("token", "", None)
    assert cluster.credentials().token == "t"


# --- read, update, remove, test --------------------------------------------------------------------------------------


def test_list_and_retrieve_show_no_credentials_to_anyone(world):
    for role in ("platform_admin", "developer"):
        listing = world.clients[role].get("/api/v1/clusters/")
        detail = world.clients[role].get("/api/v1/clusters/prod/")
        for response in (listing, detail):
            assert response.status_code == 200
            assert TOKEN not in response.content.decode()
        assert [c["name"] for c in listing.json()["results"]] == ["prod"]
        assert set(detail.json()) & CREDENTIAL_FIELDS == set()


def test_list_filters_by_enabled(world):
    ClusterFactory(name="off", server="https://10.20.0.2", enabled=False)
    client = world.clients["developer"]
    assert [c["name"] for c in client.get("/api/v1/clusters/?enabled=false").json()["results"]] == ["off"]
    assert [c["name"] for c in client.get("/api/v1/clusters/?enabled=true").json()["results"]] == ["prod"]


def test_patch_replaces_credentials_through_the_same_checks(world, connections):
    client = world.clients["platform_admin"]

    refused = client.patch(
        "/api/v1/clusters/prod/", {"server": "https://169.254.169.254", "token": "new"}, format="json"
    )
    assert "cloud metadata service" in assert_problem(refused, 400)["errors"]["server"][0]
    assert Cluster.objects.get(name="prod").credentials().token == TOKEN

    accepted = client.patch(
        "/api/v1/clusters/prod/",
        {"server": "https://10.20.0.7:6443", "token": "rotated-token", "labels": {"env": "prod"}},
        format="json",
    )
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["server"], accepted.json()["labels"]) == ("https://10.20.0.7:6443", {"env": "prod"})
    assert Cluster.objects.get(name="prod").credentials().token == "rotated-token"
    assert "rotated-token" not in accepted.content.decode()
    assert network_attempts(connections) == []


def test_delete_removes_the_cluster(world):
    assert world.clients["platform_admin"].delete("/api/v1/clusters/prod/").status_code == 204
    assert not Cluster.objects.exists()
    assert_problem(world.clients["platform_admin"].get("/api/v1/clusters/prod/"), 404)


def test_test_reports_an_unreachable_cluster_with_the_reason(world, connections):
    response = world.clients["platform_admin"].post("/api/v1/clusters/prod/test/")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["reachable"], body["crossplane_installed"], body["crossplane_version"]) == (
        "prod",
        False,
        None,
        None,
    )
    assert "127.0.0.1 is a loopback address" in body["error"]
    assert Cluster.objects.get(name="prod").last_error == body["error"]
    assert world.listener.inbound() == 0
    assert network_attempts(connections) == []


# --- the OpenAPI document ---------------------------------------------------------------------------------------------


def _properties(schema: dict[str, Any], node: Any) -> set[str]:
    """Every property name reachable from `node`, following $refs."""
    if isinstance(node, list):
        return set().union(*(_properties(schema, item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    if "$ref" in node:
        found |= _properties(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    found |= set(node.get("properties", {}))
    for value in node.values():
        found |= _properties(schema, value)
    return found


def test_no_cluster_response_schema_has_a_credential_field_while_the_request_schemas_take_them():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/clusters/")}
    assert paths

    responses = [op["responses"] for ops in paths.values() for op in ops.values()]
    requests = [op.get("requestBody", {}) for ops in paths.values() for op in ops.values()]

    assert _properties(schema, responses) & CREDENTIAL_FIELDS == set()
    assert {"kubeconfig", "context", "token", "ca_data"} <= _properties(schema, requests)
    assert "credentials_ciphertext" not in json.dumps(schema)
