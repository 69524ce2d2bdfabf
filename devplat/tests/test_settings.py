"""The production profile passes Django's deployment checklist, and refuses to start without its secrets."""

from __future__ import annotations

import secrets

import pytest
from cryptography.fernet import Fernet

from devplat.tests.support import run_manage, subprocess_env

CHECK_DEPLOY = ("check", "--deploy", "--fail-level", "WARNING")


@pytest.fixture
def production_env(db) -> dict[str, str]:
    return subprocess_env(
        DEVPLAT_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="devplat.example.com",
        DEVPLAT_TOKEN_PEPPERS=f"1:{secrets.token_urlsafe(32)}",
        DEVPLAT_CLUSTER_KEYS=Fernet.generate_key().decode(),
    )


def test_production_settings_pass_the_deployment_checklist(production_env):
    ran = run_manage(*CHECK_DEPLOY, env=production_env)
    assert ran.code == 0, ran.out + ran.err
    assert "System check identified no issues" in ran.out


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DEVPLAT_TOKEN_PEPPERS", "DEVPLAT_CLUSTER_KEYS"])
def test_production_refuses_to_start_without_a_required_setting(production_env, missing):
    del production_env[missing]
    ran = run_manage(*CHECK_DEPLOY, env=production_env)

    assert ran.code != 0
    assert "Traceback" not in ran.err
    [line] = ran.err.strip().splitlines()
    assert line.startswith("error: ")
    assert missing in line
    assert "DEVPLAT_ENV=production" in line
