"""Shared fixtures: API clients authenticated as real users with real tokens, against real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from identity.tests.factories import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters and heartbeats live in Redis; each test starts from none.

    Only this run's keys are deleted (they share a per-run prefix): `cache.clear()` would flush the whole Redis
    database, including other test runs' keys and queues on a shared server.
    """
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        client.delete(key)


@pytest.fixture
def platform_admin(db):
    return UserFactory(username="root-admin", platform_admin=True)


@pytest.fixture
def token_client() -> Callable[..., APIClient]:
    """`token_client(user, scope="read")` -> an APIClient sending `Authorization: Bearer <a new token>`."""

    def make(user, scope: str = "read") -> APIClient:
        token = ApiTokenFactory(owner=user, scope=scope)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
        client.token = token
        return client

    return make


@pytest.fixture
def team_with_members(db):
    """A team with one member per role, plus an outsider in another team."""
    team = TeamFactory(name="payments")
    members = {
        role: MembershipFactory(team=team, user=UserFactory(username=f"pay-{role}"), role=role).user
        for role in ("viewer", "developer", "admin")
    }
    other = TeamFactory(name="search")
    outsider = MembershipFactory(team=other, user=UserFactory(username="search-dev"), role="developer").user
    return {"team": team, "other_team": other, "outsider": outsider, **members}
