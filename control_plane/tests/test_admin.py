"""The cluster pages of the operator console: registration through the services, credentials never shown."""

from __future__ import annotations

import pytest
from django.test import Client

from control_plane.models import Cluster
from control_plane.tests.factories import ClusterFactory, kubeconfig, pki
from control_plane.tests.support import malicious_kubeconfig
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "CANARY-admin-token-41c7"


@pytest.fixture
def console(platform_admin) -> Client:
    client = Client()
    client.force_login(platform_admin)
    return client


def add(console: Client, **fields: str):
    return console.post("/admin/control_plane/cluster/add/", {"enabled": "on", "labels": "{}", **fields})


def test_registering_with_a_pasted_kubeconfig_goes_through_the_service(console, listener):
    server = f"https://127.0.0.1:{listener.port}"

    response = add(console, name="prod", kubeconfig=kubeconfig(server, user={"token": TOKEN}))

    assert response.status_code == 302, response.content.decode()[:3000]
    cluster = Cluster.objects.get(name="prod")
    assert (cluster.server, cluster.credentials().token) == (server, TOKEN)
    event = AuditEvent.objects.get(action="cluster.register")
    assert (event.face, event.actor_username) == ("admin", "root-admin")
    assert listener.inbound() == 0


def test_registering_with_server_token_and_ca(console):
    response = add(
        console,
        name="edge",
        server_url="https://127.0.0.1:6443",
        token=TOKEN,
        ca_data=pki().ca_pem,
        labels='{"a": "b"}',
    )

    assert response.status_code == 302
    cluster = Cluster.objects.get(name="edge")
    assert (cluster.labels, cluster.credentials().ca_data) == ({"a": "b"}, pki().ca_pem)


def test_a_refused_kubeconfig_is_a_form_error_with_the_reason_and_is_not_echoed(console, listener, connections):
    text, reason = malicious_kubeconfig("exec", f"https://127.0.0.1:{listener.port}")
    text = text.replace("- id", f"- {TOKEN}")

    response = add(console, name="evil", kubeconfig=text)

    assert response.status_code == 200
    page = response.content.decode()
    assert reason in page
    assert TOKEN not in page  # the pasted text is not put back into the textarea
    assert not Cluster.objects.exists()
    assert not AuditEvent.objects.filter(action="cluster.register").exists()
    assert listener.inbound() == 0
    assert connections.attempts == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "Give the API server URL and a token, or a kubeconfig."),
        ({"server_url": "https://169.254.169.254", "token": TOKEN}, "cloud metadata service"),
        ({"server_url": "https://127.0.0.1:6443"}, "Give the bearer token"),
    ],
)
def test_missing_or_refused_credentials_are_form_errors(console, fields, says):
    response = add(console, name="x", **fields)

    assert response.status_code == 200
    assert says in response.content.decode()
    assert TOKEN not in response.content.decode()
    assert not Cluster.objects.exists()


def test_the_change_page_and_list_never_show_credentials(console):
    material = pki()
    cluster = ClusterFactory(name="prod", token=TOKEN, ca_data=material.ca_pem, client_cert=True)

    pages = [
        console.get("/admin/control_plane/cluster/").content.decode(),
        console.get(f"/admin/control_plane/cluster/{cluster.pk}/change/").content.decode(),
        console.get(f"/admin/control_plane/cluster/{cluster.pk}/history/").content.decode(),
    ]

    assert "stored (encrypted): Bearer token and client certificate" in pages[1]
    for page in pages:
        assert TOKEN not in page
        assert "BEGIN" not in page
        assert cluster.credentials_ciphertext not in page


def test_changing_labels_keeps_the_credentials_and_replacing_them_needs_the_same_checks(console):
    cluster = ClusterFactory(name="prod", token=TOKEN)
    url = f"/admin/control_plane/cluster/{cluster.pk}/change/"

    kept = console.post(url, {"labels": '{"env": "prod"}'})
    assert kept.status_code == 302
    cluster.refresh_from_db()
    assert (cluster.labels, cluster.enabled, cluster.credentials().token) == ({"env": "prod"}, False, TOKEN)

    refused = console.post(url, {"enabled": "on", "labels": "{}", "server_url": "https://10.0.0.1", "token": "new"})
    assert refused.status_code == 200
    assert "private range 10.0.0.0/8" in refused.content.decode()
    assert Cluster.objects.get(pk=cluster.pk).credentials().token == TOKEN

    replaced = console.post(
        url, {"enabled": "on", "labels": "{}", "server_url": "https://127.0.0.1:6443", "token": "new-token"}
    )
    assert replaced.status_code == 302
    assert Cluster.objects.get(pk=cluster.pk).credentials().token == "new-token"
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(cluster.pk)).order_by("seq")] == [
        "cluster.register",
        "cluster.update",
        "cluster.update",
    ]


def test_the_test_action_records_and_reports_each_cluster(console, settings, listener, connections):
    cluster = ClusterFactory(name="local", server=f"https://127.0.0.1:{listener.port}")
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False

    response = console.post(
        "/admin/control_plane/cluster/", {"action": "test_connection", "_selected_action": [cluster.pk]}, follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("local: not reachable: ") and "loopback" in m for m in messages)
    assert "loopback" in Cluster.objects.get(pk=cluster.pk).last_error
    assert listener.inbound() == 0
    assert connections.to(port=listener.port) == []


def test_deleting_goes_through_the_service_one_by_one(console):
    clusters = [ClusterFactory(name="a"), ClusterFactory(name="b")]

    single = console.post(f"/admin/control_plane/cluster/{clusters[0].pk}/delete/", {"post": "yes"})
    bulk = console.post(
        "/admin/control_plane/cluster/",
        {"action": "delete_selected", "_selected_action": [clusters[1].pk], "post": "yes"},
    )

    assert (single.status_code, bulk.status_code) == (302, 302)
    assert not Cluster.objects.exists()
    assert AuditEvent.objects.filter(action="cluster.remove").count() == 2
