"""Fixtures for everything that talks to a cluster: a real sandbox API server over HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from control_plane.sandbox.runner import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """An empty sandbox cluster (built-in kinds only) serving on a free loopback port; bookmarks every 0.2 s."""
    with Sandbox(bookmark_interval=0.2) as running:
        yield running
