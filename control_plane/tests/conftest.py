"""Fixtures of the cluster registry tests: the connection listener and log, and the loopback switch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_plane.tests.support import ConnectionLog, Listener, listening, watch_connections


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as opened:
        yield opened


@pytest.fixture
def connections(monkeypatch) -> ConnectionLog:
    return watch_connections(monkeypatch)


@pytest.fixture
def loopback_disallowed(settings) -> None:
    """As in production: API servers on loopback addresses are refused."""
    settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
