"""Writing and checking the audit log; writing admission policies (audited like every change)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from devplat.core.actor import current_actor
from governance.choices import PolicyModeChoices
from governance.models import AuditEvent, Policy
from governance.redaction import redact

GENESIS_HASH = "0" * 64
_CHAIN_LOCK = 0x0DE5_A0D1  # advisory lock key: one writer at a time extends the chain


class AuditOutsideTransaction(RuntimeError):
    """The audit row must commit or roll back with the change it records."""


def _normalize(value: Any) -> Any:
    """Snapshots as plain JSON, so the hash computed at write time equals the one recomputed from the database."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)) if value is not None else None


def event_hash(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq,
        "time": event.time.isoformat(),
        "actor_user_id": event.actor_user_id,
        "actor_username": event.actor_username,
        "actor_token": event.actor_token,
        "face": event.face,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_repr": event.target_repr,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def audit_record(
    *,
    action: str,
    target: Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event for the current actor. Must run inside the transaction that makes the change."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(f"audit_record({action!r}) called outside a transaction")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)[:200]
    actor = current_actor()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        time=timezone.now(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        actor_token=actor.token_key_id,
        face=actor.face,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        before=_normalize(redact(before)),
        after=_normalize(redact(after)),
        request_id=actor.request_id,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def audit_verify() -> ChainBreak | None:
    """Walk the chain in order; return the first row that was altered, or the place where rows were removed."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    for event in _in_order():
        if event.seq != expected_seq:
            missing = f"{expected_seq}" if event.seq == expected_seq + 1 else f"{expected_seq}-{event.seq - 1}"
            return ChainBreak(expected_seq, f"row(s) #{missing} were removed (the next row present is #{event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, f"row #{event.seq} does not follow row #{event.seq - 1}: the chain was cut")
        if event_hash(event) != event.hash:
            return ChainBreak(event.seq, f"row #{event.seq} was altered after it was written")
        expected_seq, prev_hash = event.seq + 1, event.hash
    return None


def _in_order() -> Iterator[AuditEvent]:
    with transaction.atomic():
        yield from AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def policy_snapshot(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "expression": policy.expression,
        "message": policy.message,
        "mode": policy.mode,
        "capabilities": list(policy.capabilities),
        "kinds": list(policy.kinds),
        "teams": list(policy.teams),
        "environments": list(policy.environments),
        "enabled": policy.enabled,
    }


@transaction.atomic
def policy_create(
    *,
    name: str,
    expression: str,
    message: str,
    description: str = "",
    mode: str = PolicyModeChoices.ENFORCE,
    capabilities: Sequence[str] = (),
    kinds: Sequence[str] = (),
    teams: Sequence[str] = (),
    environments: Sequence[str] = (),
    enabled: bool = True,
) -> Policy:
    """Create a policy; its expression must compile (ValidationError on the field otherwise)."""
    policy = Policy(
        name=name,
        description=description,
        expression=expression,
        message=message,
        mode=mode,
        capabilities=list(capabilities),
        kinds=list(kinds),
        teams=list(teams),
        environments=list(environments),
        enabled=enabled,
    )
    policy.full_clean()
    policy.save()
    audit_record(action="policy.create", target=policy, after=policy_snapshot(policy))
    return policy


@transaction.atomic
def policy_update(
    *,
    policy: Policy,
    description: str | None = None,
    expression: str | None = None,
    message: str | None = None,
    mode: str | None = None,
    capabilities: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
    environments: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> Policy:
    """Change the given fields (None leaves one as stored); the name is the policy's identity and never changes.

    The audit's `before` is read from the database, not from `policy`, which a form may already have changed.
    """
    stored = Policy.objects.select_for_update().get(pk=policy.pk)
    before = policy_snapshot(stored)
    changes = {
        "description": description,
        "expression": expression,
        "message": message,
        "mode": mode,
        "capabilities": None if capabilities is None else list(capabilities),
        "kinds": None if kinds is None else list(kinds),
        "teams": None if teams is None else list(teams),
        "environments": None if environments is None else list(environments),
        "enabled": enabled,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(stored, field, value)
    stored.full_clean()
    after = policy_snapshot(stored)
    if after != before:
        stored.save()
        audit_record(action="policy.update", target=stored, before=before, after=after)
    return stored


@transaction.atomic
def policy_delete(*, policy: Policy) -> None:
    stored = Policy.objects.select_for_update().get(pk=policy.pk)
    audit_record(action="policy.delete", target=stored, before=policy_snapshot(stored))
    stored.delete()
