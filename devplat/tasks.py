"""The kernel's own tasks."""

from __future__ import annotations

import socket

from django.core.cache import cache
from django.utils import timezone

from devplat.core.tasks import idempotent_task

HEARTBEAT_KEY = "devplat:heartbeat"


@idempotent_task(name="devplat.heartbeat")
def heartbeat() -> str:
    """Beat schedules this every 30 s; `devplat doctor` reads it to tell that beat and a worker both run."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, {"at": now, "worker": socket.gethostname()}, timeout=24 * 3600)
    return now


@idempotent_task(name="devplat.ping")
def ping(value: str) -> str:
    """Round trip through the broker and a worker; used by tests and by operators checking a deployment."""
    return f"pong:{value}"
