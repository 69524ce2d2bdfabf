"""The sandbox as third-party tools reach it: the official `kubernetes` client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from control_plane.sandbox.runner import Sandbox


@pytest.fixture
def api_client(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    """An official `ApiClient` for the `sandbox` fixture's server."""
    configuration = client.Configuration()
    configuration.host = sandbox.url
    configuration.retries = False  # urllib3 would otherwise retry 429s itself, hiding what the server answered
    with client.ApiClient(configuration) as api:
        yield api
