"""Test helpers for the audit log: write events as someone, and tamper with rows the way an attacker with SQL could."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from devplat.core.actor import Actor, Face, acting
from governance.models import AuditEvent
from governance.services import audit_record


def record(count: int, *, username: str = "alice", face: str = Face.CLI, action: str = "thing.change") -> None:
    """Append `count` events as `username`, each in its own transaction."""
    for i in range(count):
        with acting(Actor(username=username, face=face, request_id=f"req-{username}-{i}")), transaction.atomic():
            audit_record(action=action, target_type="test.thing", target_id=str(i), after={"n": i})


@contextlib.contextmanager
def trigger_bypassed() -> Iterator[Any]:
    """A cursor on this connection with triggers off (superuser only), as someone bypassing the append-only rule."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = origin")


def tamper_action(seq: int, action: str = "nothing.happened") -> None:
    with trigger_bypassed() as cursor:
        cursor.execute("UPDATE governance_auditevent SET action = %s WHERE seq = %s", [action, seq])


def remove(*seqs: int) -> None:
    with trigger_bypassed() as cursor:
        cursor.execute("DELETE FROM governance_auditevent WHERE seq = ANY(%s)", [list(seqs)])


def seqs() -> list[int]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
