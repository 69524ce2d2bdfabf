"""Credentials at rest (R16): MultiFernet under keys from the environment, rotation, and production's key rule."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from control_plane import credentials
from control_plane.kube.credentials import ClusterCredentials
from control_plane.tests.factories import pki
from devplat.tests.support import run_manage, subprocess_env

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
CREDS = ClusterCredentials(
    server="https://8.8.8.8:6443",
    token="CANARY-token-5c1d",
    ca_data=pki().ca_pem,
    client_cert_data=pki().client_cert_pem,
    client_key_data=pki().client_key_pem,
)


def test_encrypt_then_decrypt_gives_the_credentials_back_and_the_ciphertext_holds_none_of_them(settings):
    settings.DEVPLAT_CLUSTER_KEYS = [OLD_KEY]

    ciphertext = credentials.encrypt(CREDS)

    assert credentials.decrypt(ciphertext) == CREDS
    assert ciphertext.startswith("gAAAAA")
    for secret in ("CANARY-token-5c1d", "BEGIN CERTIFICATE", "PRIVATE KEY", "8.8.8.8"):
        assert secret not in ciphertext
    assert credentials.encrypt(CREDS) != ciphertext  # a fresh IV each time: equal secrets do not look equal


def test_rotation_re_encrypts_under_the_newest_key_and_old_ciphertext_reads_until_its_key_goes(settings):
    settings.DEVPLAT_CLUSTER_KEYS = [OLD_KEY]
    old = credentials.encrypt(CREDS)

    settings.DEVPLAT_CLUSTER_KEYS = [NEW_KEY, OLD_KEY]  # the new key first; the old one still listed
    assert credentials.decrypt(old) == CREDS
    rotated = credentials.rotate(old)
    assert rotated != old
    assert Fernet(NEW_KEY.encode()).decrypt(rotated.encode())  # now under the new key...

    settings.DEVPLAT_CLUSTER_KEYS = [NEW_KEY]  # ...so the old key can go
    assert credentials.decrypt(rotated) == CREDS
    with pytest.raises(credentials.CredentialsUnreadable, match="the key that encrypted them was removed"):
        credentials.decrypt(old)
    with pytest.raises(credentials.CredentialsUnreadable):
        credentials.rotate(old)


def test_new_ciphertext_uses_the_first_key(settings):
    settings.DEVPLAT_CLUSTER_KEYS = [NEW_KEY, OLD_KEY]
    ciphertext = credentials.encrypt(CREDS)

    settings.DEVPLAT_CLUSTER_KEYS = [NEW_KEY]
    assert credentials.decrypt(ciphertext) == CREDS


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ([], "DEVPLAT_CLUSTER_KEYS is empty"),
        ([NEW_KEY, "not-a-key"], "DEVPLAT_CLUSTER_KEYS key #2 is not a Fernet key"),
        (["c2hvcnQ="], "key #1 is not a Fernet key"),
    ],
)
def test_missing_or_malformed_keys_are_a_configuration_error_that_says_how_to_make_one(settings, keys, says):
    settings.DEVPLAT_CLUSTER_KEYS = keys
    with pytest.raises(ImproperlyConfigured, match=says) as caught:
        credentials.encrypt(CREDS)
    assert "Fernet.generate_key()" in str(caught.value)


def test_development_and_tests_have_a_fixed_key(settings):
    from devplat import settings as base

    assert base.DEVPLAT_CLUSTER_KEYS == ["ZGV2cGxhdC1kZXZlbG9wbWVudC1jbHVzdGVyLWtleSE="]
    settings.DEVPLAT_CLUSTER_KEYS = base.DEVPLAT_CLUSTER_KEYS
    assert credentials.decrypt(credentials.encrypt(CREDS)) == CREDS


@pytest.fixture
def production_env(db) -> dict[str, str]:
    return subprocess_env(
        DEVPLAT_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="devplat.example.com",
        DEVPLAT_TOKEN_PEPPERS=f"1:{secrets.token_urlsafe(32)}",
        DEVPLAT_CLUSTER_KEYS=f"{NEW_KEY},{OLD_KEY}",
    )


def test_production_refuses_to_start_without_cluster_keys(production_env):
    assert run_manage("check", env=production_env).code == 0

    del production_env["DEVPLAT_CLUSTER_KEYS"]
    ran = run_manage("check", env=production_env)

    assert ran.code != 0
    [line] = ran.err.strip().splitlines()
    assert line.startswith("error: DEVPLAT_CLUSTER_KEYS must be set when DEVPLAT_ENV=production")


def test_production_refuses_loopback_clusters_by_default(production_env):
    probe = "from django.conf import settings; print(settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS)"
    assert run_manage("shell", "--no-imports", "-c", probe, env=production_env).out.strip() == "False"


def test_a_malformed_allowed_network_stops_start_up_with_the_culprit(production_env):
    production_env["DEVPLAT_CLUSTER_ALLOWED_NETWORKS"] = "10.0.0.0/8,not-a-cidr"
    ran = run_manage("check", env=production_env)
    assert ran.code != 0
    assert ran.err.strip() == (
        "error: DEVPLAT_CLUSTER_ALLOWED_NETWORKS: 'not-a-cidr' is not a network; "
        "give CIDRs like 10.20.0.0/16,fd12::/48."
    )
