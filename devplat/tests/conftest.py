"""Fixtures for tests that share Redis with other processes: their own cache prefix and Celery queue."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def own_cache_and_queue(settings) -> tuple[str, str]:
    """A cache key prefix and a default queue of this test's own.

    Workers and beats of other devplat processes on the same Redis (a `make run`, another test run) then neither
    take this test's tasks nor write the heartbeat it reads. Returns (prefix, queue).
    """
    run = uuid.uuid4().hex[:8]
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"devplat-test-{run}"}}
    settings.CELERY_TASK_DEFAULT_QUEUE = f"devplat-test-{run}"
    return settings.CACHES["default"]["KEY_PREFIX"], settings.CELERY_TASK_DEFAULT_QUEUE
