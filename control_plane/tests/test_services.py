"""Cluster registry services: checked input, encrypted storage, audit without credentials, rotation, probes."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.utils import timezone

from control_plane import credentials as vault
from control_plane import services
from control_plane.kube.credentials import ClusterCredentials
from control_plane.models import Cluster
from control_plane.tests.factories import ClusterFactory, b64, kubeconfig, pki
from devplat.core.actor import Actor, Face, acting
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "CANARY-service-token-77aa"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def audit_text() -> str:
    return json.dumps([[e.before, e.after, e.target_repr] for e in AuditEvent.objects.all()])


def creds(server: str = "https://127.0.0.1:6443", **extra: str) -> ClusterCredentials:
    return ClusterCredentials(server=server, token=extra.pop("token", TOKEN), **extra)


# --- input ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field", "says"),
    [
        ({"kubeconfig": "x", "server": "https://8.8.8.8"}, "kubeconfig", "not both"),
        ({"context": "admin@prod"}, "context", "give the kubeconfig too"),
        ({}, "server", "Give the API server URL and a token"),
        ({"server": "https://8.8.8.8"}, "token", "Give the bearer token"),
        ({"server": "https://8.8.8.8", "token": "a b"}, "token", "is not a bearer token"),
        ({"server": "https://8.8.8.8", "token": "t", "ca_data": "nope"}, "ca_data", "is not PEM certificates"),
        ({"server": "https://169.254.169.254", "token": "t"}, "server", "cloud metadata service"),
        ({"kubeconfig": kubeconfig("https://10.0.0.1")}, "server", "private range 10.0.0.0/8"),
        ({"kubeconfig": kubeconfig("https://8.8.8.8", user={"tokenFile": "/x"})}, "kubeconfig", "has tokenFile"),
    ],
)
def test_credentials_from_input_names_the_input_at_fault(given, field, says):
    with pytest.raises(ValidationError) as caught:
        services.credentials_from_input(**given)
    assert list(caught.value.message_dict) == [field]
    assert says in caught.value.message_dict[field][0]


def test_credentials_from_input_accepts_a_kubeconfig_context_or_a_server_with_token_and_ca():
    text = kubeconfig("https://8.8.8.8:6443", user={"token": "k-token"})
    assert services.credentials_from_input(kubeconfig=text, context="admin@test").token == "k-token"

    made = services.credentials_from_input(server="https://8.8.8.8:6443", token="s-token\n", ca_data=pki().ca_pem)
    assert (made.server, made.token, made.ca_data) == ("https://8.8.8.8:6443", "s-token", pki().ca_pem)


# --- register, update, remove ---------------------------------------------------------------------------------------


def test_register_stores_ciphertext_only_and_audits_without_credentials():
    with acting(Actor(username="root-admin", face=Face.CLI, request_id="req-1")):
        cluster = services.cluster_register(
            name="prod", credentials=creds(ca_data=pki().ca_pem), labels={"env": "prod"}
        )

    stored = Cluster.objects.get(name="prod")
    assert (stored.server, stored.auth_method, stored.enabled, stored.labels) == (
        "https://127.0.0.1:6443",
        "token",
        True,
        {"env": "prod"},
    )
    assert TOKEN not in stored.credentials_ciphertext
    assert stored.credentials().token == TOKEN
    [event] = events("cluster.register")
    assert (event.actor_username, event.face, event.target_id) == ("root-admin", Face.CLI, str(cluster.pk))
    assert event.after == {
        "name": "prod",
        "server": "https://127.0.0.1:6443",
        "auth_method": "token",
        "enabled": True,
        "labels": {"env": "prod"},
    }
    assert TOKEN not in audit_text()
    assert "BEGIN CERTIFICATE" not in audit_text()


def test_auth_method_says_what_the_credentials_hold():
    material = pki()
    pair = {"client_cert_data": material.client_cert_pem, "client_key_data": material.client_key_pem}
    cert_only = services.cluster_register(name="a", credentials=ClusterCredentials(server="https://127.0.0.1", **pair))
    both = services.cluster_register(name="b", credentials=creds(**pair))
    assert (cert_only.auth_method, both.auth_method) == ("client-certificate", "token+client-certificate")


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"name": "taken"}, "name", "already exists"),
        ({"name": "Not_A_Label"}, "name", "DNS label"),
        ({"name": "fresh", "labels": {"bad key": "x"}}, "labels", "not a Kubernetes label key"),
        ({"name": "fresh", "credentials": creds("https://10.9.8.7")}, "server", "private range"),
    ],
)
def test_register_refuses_bad_input_and_stores_and_audits_nothing(kwargs, field, says):
    ClusterFactory(name="taken")
    before = (Cluster.objects.count(), AuditEvent.objects.count())

    with pytest.raises(ValidationError) as caught:
        services.cluster_register(**{"credentials": creds(), **kwargs})

    assert says in " ".join(caught.value.message_dict[field])
    assert (Cluster.objects.count(), AuditEvent.objects.count()) == before


def test_update_changes_what_is_given_and_audits_before_and_after():
    cluster = ClusterFactory(name="prod", labels={"env": "prod"})

    updated = services.cluster_update(cluster=cluster, enabled=False, labels={"env": "staging"})

    assert (updated.enabled, updated.labels) == (False, {"env": "staging"})
    [event] = events("cluster.update")
    assert (event.before["enabled"], event.after["enabled"]) == (True, False)
    assert (event.before["labels"], event.after["labels"]) == ({"env": "prod"}, {"env": "staging"})
    assert "auth_replaced" not in event.after


def test_new_credentials_for_the_same_server_keep_what_the_last_probe_learnt():
    cluster = ClusterFactory(name="prod", server="https://127.0.0.1:6443")
    Cluster.objects.filter(pk=cluster.pk).update(kubernetes_version="v1.34.1", last_contact_at=timezone.now())

    updated = services.cluster_update(cluster=cluster, credentials=creds("https://127.0.0.1:6443", token="rotated-1"))

    assert updated.credentials().token == "rotated-1"
    assert updated.kubernetes_version == "v1.34.1"
    assert events("cluster.update")[0].after["auth_replaced"] is True
    assert "rotated-1" not in audit_text()


def test_new_credentials_for_another_server_forget_the_old_servers_probe():
    cluster = ClusterFactory(name="prod", server="https://127.0.0.1:6443")
    Cluster.objects.filter(pk=cluster.pk).update(
        kubernetes_version="v1.34.1", crossplane_version="v2.1.0", last_contact_at=timezone.now(), last_error="x"
    )

    updated = services.cluster_update(cluster=cluster, credentials=creds("https://127.0.0.2:6443"))

    assert updated.server == "https://127.0.0.2:6443"
    assert (updated.kubernetes_version, updated.crossplane_version, updated.last_contact_at, updated.last_error) == (
        "",
        "",
        None,
        "",
    )


def test_update_refuses_a_server_that_is_not_allowed_and_keeps_the_old_credentials(settings):
    cluster = ClusterFactory(name="prod", token="kept-token")
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False

    with pytest.raises(ValidationError, match="loopback"):
        services.cluster_update(cluster=cluster, credentials=creds("https://127.0.0.1:7443"))

    assert Cluster.objects.get(pk=cluster.pk).credentials().token == "kept-token"
    assert events("cluster.update") == []


def test_remove_deletes_the_cluster_and_audits_what_it_was():
    cluster = ClusterFactory(name="prod")

    services.cluster_remove(cluster=cluster)

    assert not Cluster.objects.filter(name="prod").exists()
    [event] = events("cluster.remove")
    assert event.before["name"] == "prod"
    assert event.after is None


# --- key rotation ---------------------------------------------------------------------------------------------------


def test_rotate_keys_re_encrypts_everything_under_the_newest_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DEVPLAT_CLUSTER_KEYS = [old]
    ClusterFactory(name="a", token="token-a")
    ClusterFactory(name="b", token="token-b")
    before = dict(Cluster.objects.values_list("name", "credentials_ciphertext"))

    settings.DEVPLAT_CLUSTER_KEYS = [new, old]
    assert Cluster.objects.get(name="a").credentials().token == "token-a"  # old ciphertext still reads
    rotated = services.clusters_rotate_keys()

    assert [c.name for c in rotated] == ["a", "b"]
    after = dict(Cluster.objects.values_list("name", "credentials_ciphertext"))
    assert all(after[name] != before[name] for name in before)
    settings.DEVPLAT_CLUSTER_KEYS = [new]
    assert [c.credentials().token for c in Cluster.objects.order_by("name")] == ["token-a", "token-b"]
    [event] = events("cluster.rotate_keys")
    assert event.after == {"clusters": ["a", "b"]}


def test_rotate_keys_changes_nothing_when_one_ciphertext_is_unreadable(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DEVPLAT_CLUSTER_KEYS = [first]
    ClusterFactory(name="a")
    settings.DEVPLAT_CLUSTER_KEYS = [second]
    ClusterFactory(name="b")
    before = dict(Cluster.objects.values_list("name", "credentials_ciphertext"))

    with pytest.raises(vault.CredentialsUnreadable, match="cluster 'a': none of the keys"):
        services.clusters_rotate_keys()

    assert dict(Cluster.objects.values_list("name", "credentials_ciphertext")) == before
    assert events("cluster.rotate_keys") == []


# --- probes ---------------------------------------------------------------------------------------------------------


def test_testing_a_cluster_whose_server_is_no_longer_allowed_records_why_without_connecting(
    settings, listener, connections
):
    cluster = ClusterFactory(name="prod", server=f"https://127.0.0.1:{listener.port}")
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False

    result = services.cluster_test(cluster=cluster)

    assert (result.reachable, result.kubernetes_version, result.crossplane_version) == (False, "", None)
    assert "127.0.0.1 is a loopback address" in result.error
    assert result.tested_at is not None
    stored = Cluster.objects.get(pk=cluster.pk)
    assert (stored.last_error, stored.last_contact_at) == (result.error, None)
    [event] = events("cluster.test")
    assert event.after == {
        "reachable": False,
        "kubernetes_version": "",
        "crossplane_version": None,
        "error": result.error,
    }
    assert listener.inbound() == 0
    assert connections.to(port=listener.port) == []


def test_testing_a_cluster_whose_key_was_retired_records_that_it_cannot_be_read(settings):
    settings.DEVPLAT_CLUSTER_KEYS = [Fernet.generate_key().decode()]
    cluster = ClusterFactory(name="prod")
    settings.DEVPLAT_CLUSTER_KEYS = [Fernet.generate_key().decode()]

    result = services.cluster_test(cluster=cluster)

    assert not result.reachable
    assert "none of the keys in DEVPLAT_CLUSTER_KEYS decrypts" in result.error
    assert Cluster.objects.get(pk=cluster.pk).last_error == result.error


def test_a_registration_with_a_kubeconfig_holding_a_client_certificate_keeps_it_encrypted():
    material = pki()
    text = kubeconfig(
        "https://127.0.0.1:6443",
        user={
            "client-certificate-data": b64(material.client_cert_pem),
            "client-key-data": b64(material.client_key_pem),
        },
        cluster={"certificate-authority-data": b64(material.ca_pem)},
    )
    cluster = services.cluster_register(name="certs", credentials=services.credentials_from_input(kubeconfig=text))

    stored = Cluster.objects.get(pk=cluster.pk)
    assert stored.auth_method == "client-certificate"
    assert "PRIVATE KEY" not in stored.credentials_ciphertext
    assert stored.credentials().client_key_data == material.client_key_pem
