"""Kubeconfigs and server-and-token input become checked `ClusterCredentials`; unsafe ones are refused (R15)."""

from __future__ import annotations

import pytest
import yaml

from control_plane.kube.kubeconfig import (
    KUBECONFIG_MAX_CHARS,
    CredentialsRefused,
    KubeconfigRefused,
    build_credentials,
    parse_kubeconfig,
)
from control_plane.tests.factories import b64, kubeconfig, pki
from control_plane.tests.support import MALICIOUS_KUBECONFIGS, malicious_kubeconfig

SERVER = "https://8.8.8.8:6443"
SECRET = "CANARY-kubeconfig-0f9e8d"


def refused(text: str, context: str | None = None) -> str:
    with pytest.raises(KubeconfigRefused) as caught:
        parse_kubeconfig(text, context)
    return str(caught.value)


def test_a_token_kubeconfig_gives_its_server_token_and_ca():
    text = kubeconfig(
        SERVER + "/", user={"token": "abc.def-ghi"}, cluster={"certificate-authority-data": b64(pki().ca_pem)}
    )

    creds = parse_kubeconfig(text)

    assert (creds.server, creds.token, creds.ca_data) == (SERVER, "abc.def-ghi", pki().ca_pem)
    assert (creds.client_cert_data, creds.client_key_data) == (None, None)


def test_a_client_certificate_kubeconfig_gives_the_pem_pair():
    material = pki()
    text = kubeconfig(
        SERVER,
        user={
            "client-certificate-data": b64(material.client_cert_pem),
            "client-key-data": b64(material.client_key_pem),
        },
    )

    creds = parse_kubeconfig(text)

    assert (creds.token, creds.client_cert_data, creds.client_key_data) == (
        None,
        material.client_cert_pem,
        material.client_key_pem,
    )


def test_the_context_argument_picks_another_context_than_the_current_one():
    document = yaml.safe_load(kubeconfig(SERVER))
    document["clusters"].append({"name": "staging", "cluster": {"server": "https://8.8.4.4"}})
    document["users"].append({"name": "ci", "user": {"token": "staging-token"}})
    document["contexts"].append({"name": "ci@staging", "context": {"cluster": "staging", "user": "ci"}})
    text = yaml.safe_dump(document)

    assert parse_kubeconfig(text).server == SERVER
    assert (parse_kubeconfig(text, "ci@staging").server, parse_kubeconfig(text, "ci@staging").token) == (
        "https://8.8.4.4",
        "staging-token",
    )


def test_insecure_skip_tls_verify_false_is_harmless():
    assert parse_kubeconfig(kubeconfig(SERVER, cluster={"insecure-skip-tls-verify": False})).server == SERVER


@pytest.mark.parametrize("case", MALICIOUS_KUBECONFIGS)
def test_unsafe_kubeconfigs_are_refused_with_the_field_and_what_to_do(case):
    text, reason = malicious_kubeconfig(case, SERVER)

    message = refused(text)

    assert reason in message
    assert "devplat refuses it:" in message
    assert "/etc/devplat-test" not in message


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "admin"), ("password", "pw"), ("as", "system:admin"), ("as-groups", ["system:masters"])],
)
def test_basic_auth_and_impersonation_are_refused(field, value):
    assert f"has {field}" in refused(kubeconfig(SERVER, user={"token": "t", field: value}))


def test_tls_server_name_is_refused():
    assert "has tls-server-name" in refused(kubeconfig(SERVER, cluster={"tls-server-name": "kubernetes"}))


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda d: d.pop("current-context"), "has no current-context"),
        (lambda d: d.update({"current-context": "gone"}), 'no context named "gone"; it has: admin@test'),
        (lambda d: d["contexts"][0]["context"].pop("user"), "must name both a cluster and a user"),
        (lambda d: d["contexts"][0]["context"].update(cluster="nope"), 'no cluster named "nope"; it has: test'),
        (lambda d: d["contexts"][0]["context"].update(user="nope"), 'no user named "nope"; it has: admin'),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), 'cluster "test" has no server URL'),
        (lambda d: d["users"][0].update(user={}), 'user "admin" holds no credentials'),
        (lambda d: d.update(kind="Pod"), "not a kubeconfig"),
        (lambda d: d.update(users={"admin": {}}), "users must be a list"),
    ],
)
def test_incomplete_kubeconfigs_are_refused_with_what_is_missing(mutate, says):
    document = yaml.safe_load(kubeconfig(SERVER))
    mutate(document)
    assert says in refused(yaml.safe_dump(document))


def test_a_missing_current_context_lists_the_contexts_to_choose_from():
    document = yaml.safe_load(kubeconfig(SERVER))
    del document["current-context"]
    assert "Contexts in it: admin@test." in refused(yaml.safe_dump(document))
    assert parse_kubeconfig(yaml.safe_dump(document), "admin@test").server == SERVER


@pytest.mark.parametrize(
    ("user", "says"),
    [
        ({"token": f"{SECRET}\nX-Injected: 1"}, "is not a bearer token"),
        ({"token": 12345}, "token is not a string"),
        ({"client-certificate-data": b64(pki().client_cert_pem)}, "needs both a client certificate and its key"),
        (
            {"client-certificate-data": "not base64!!", "client-key-data": b64(pki().client_key_pem)},
            "client-certificate-data is not base64-encoded PEM",
        ),
        (
            {"client-certificate-data": b64(pki().ca_pem), "client-key-data": b64(pki().client_key_pem)},
            "client-key-data does not belong to the client certificate",
        ),
        (
            {"client-certificate-data": b64(pki().client_cert_pem), "client-key-data": b64(SECRET)},
            "client-key-data is not a PEM private key",
        ),
    ],
)
def test_malformed_credentials_are_refused_without_echoing_them(user, says):
    message = refused(kubeconfig(SERVER, user=user))
    assert says in message
    assert SECRET not in message


def test_a_ca_that_is_not_pem_is_refused():
    message = refused(kubeconfig(SERVER, cluster={"certificate-authority-data": b64(SECRET)}))
    assert 'cluster "test" certificate-authority-data is not PEM certificates' in message
    assert SECRET not in message


def test_invalid_yaml_gives_the_position_but_never_the_line():
    message = refused(f"users:\n- name: admin\n  user:\n    token: {SECRET}\n   bad: [indent\n")
    assert message.startswith("The kubeconfig is not valid YAML (line ")
    assert SECRET not in message


@pytest.mark.parametrize("text", ["just a string", "- a\n- list", "42"])
def test_a_document_that_is_not_a_mapping_is_refused(text):
    assert "not a YAML mapping" in refused(text)


def test_an_oversized_kubeconfig_is_refused_before_parsing():
    assert "larger than 256 KiB" in refused("#" * (KUBECONFIG_MAX_CHARS + 1))


def test_server_and_token_input_is_checked_the_same_way():
    creds = build_credentials(server=" https://8.8.8.8:6443/ ", token=" tok.en \n", ca_data=pki().ca_pem)
    assert (creds.server, creds.token, creds.ca_data) == ("https://8.8.8.8:6443", "tok.en", pki().ca_pem)

    with pytest.raises(CredentialsRefused) as caught:
        build_credentials(server=SERVER, token="a b")
    assert (caught.value.field, str(caught.value).split(" is ")[0]) == ("token", "The token")

    with pytest.raises(CredentialsRefused) as caught:
        build_credentials(server=SERVER, token="ok", ca_data="-----BEGIN CERTIFICATE-----\nnope\n")
    assert caught.value.field == "ca_data"
    assert "is not PEM certificates" in str(caught.value)


def test_an_encrypted_client_key_is_refused_with_what_to_do():
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki().client_key_pem.encode(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()

    with pytest.raises(CredentialsRefused) as caught:
        build_credentials(server=SERVER, client_cert_data=pki().client_cert_pem, client_key_data=encrypted)
    assert "encrypted with a passphrase; give the key unencrypted" in str(caught.value)


def test_credentials_repr_hides_the_token():
    creds = parse_kubeconfig(kubeconfig(SERVER, user={"token": SECRET}))
    assert SECRET not in repr(creds)
    assert SECRET not in str(creds)
