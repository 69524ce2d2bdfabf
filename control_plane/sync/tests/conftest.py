"""Fixtures of the sync tests: a sandbox cluster registered in devplat, and a way to drive it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_plane.models import Cluster
from control_plane.sandbox.runner import Sandbox
from control_plane.sandbox.seed import load_demo
from control_plane.tests.factories import ClusterFactory


@pytest.fixture
def cluster(sandbox: Sandbox, transactional_db) -> Cluster:
    """The `sandbox` fixture's server registered as cluster `sandbox` (plain HTTP on loopback, as in tests)."""
    return ClusterFactory(name="sandbox", server=sandbox.url)


@pytest.fixture
def demo(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with the demo seed: teams, Crossplane, composites with trees, one failing deep down."""
    load_demo(sandbox.api)
    yield sandbox
