"""The audit log (R20): one row per change in the change's own transaction, append-only, redacted, hash-chained."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, connections, transaction

from devplat.core.actor import Actor, Face, acting, actor_for
from governance.models import AuditEvent
from governance.redaction import REDACTED, redact
from governance.services import AuditOutsideTransaction, audit_record, audit_verify, event_hash
from governance.tests.support import record, remove, seqs, tamper_action, trigger_bypassed

CANARY = "CANARY-7f3a"


@pytest.mark.django_db
def test_audit_record_writes_one_row_naming_actor_face_action_target_and_request_id():
    user = get_user_model().objects.create_user(username="alice")
    group = Group.objects.create(name="payments-group")
    with acting(actor_for(user, face=Face.API, token_key_id="0123456789abcdef", request_id="req-42")):
        with transaction.atomic():
            audit_record(action="group.create", target=group, after={"name": group.name})

    row = AuditEvent.objects.get()
    assert (row.seq, row.actor_user_id, row.actor_username, row.actor_token) == (
        1,
        user.pk,
        "alice",
        "0123456789abcdef",
    )
    assert (row.face, row.action, row.request_id) == (Face.API, "group.create", "req-42")
    assert (row.target_type, row.target_id, row.target_repr) == ("auth.group", str(group.pk), "payments-group")
    assert (row.before, row.after) == (None, {"name": "payments-group"})
    assert row.hash == event_hash(row)


@pytest.mark.django_db
def test_without_an_actor_the_row_says_system_and_nobody():
    with transaction.atomic():
        event = audit_record(action="sweep.run", target_type="test.thing", target_id="7", target_repr="thing 7")
    assert (event.face, event.actor_username, event.actor_user_id) == (Face.SYSTEM, "", None)


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction():
    with acting(Actor(username="alice", face=Face.CLI)), pytest.raises(AuditOutsideTransaction):
        audit_record(action="thing.change", target_type="test.thing", target_id="1")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_audit_row_and_no_gap_in_the_chain():
    record(1)

    with pytest.raises(RuntimeError, match="the change failed"), transaction.atomic():
        group = Group.objects.create(name="doomed")
        audit_record(action="group.create", target=group)
        raise RuntimeError("the change failed after auditing")

    assert not Group.objects.filter(name="doomed").exists()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["thing.change"]
    record(1)
    assert seqs() == [1, 2]
    assert audit_verify() is None


def _sql_update() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE governance_auditevent SET action = 'rewritten' WHERE seq = 1")


def _sql_delete() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM governance_auditevent WHERE seq = 1")


def _orm_update() -> None:
    AuditEvent.objects.filter(seq=1).update(action="rewritten")


def _orm_delete() -> None:
    AuditEvent.objects.filter(seq=1).delete()


@pytest.mark.django_db
@pytest.mark.parametrize("change", [_sql_update, _sql_delete, _orm_update, _orm_delete])
def test_the_database_refuses_update_and_delete_on_the_audit_log(change):
    record(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()
    assert seqs() == [1, 2]
    assert AuditEvent.objects.get(seq=1).action == "thing.change"
    assert audit_verify() is None


def test_redact_replaces_secret_looking_keys_at_any_depth():
    snapshot = {
        "name": "web",
        "password": CANARY,
        "client_secret": CANARY,
        "token": CANARY,
        "api_token": CANARY,
        "accessToken": CANARY,
        "digest": CANARY,
        "token_key_id": "0123456789abcdef",
        "spec": {"Authorization": f"Bearer {CANARY}", "replicas": 2, "env": [{"name": "DB_PASSWORD", "value": "x"}]},
        "items": [{"kind": "Secret", "data": {"key": CANARY}, "stringData": {"key": CANARY}}],
        "pairs": ({"private_key": CANARY},),
    }
    cleaned = redact(snapshot)

    for key in ("password", "client_secret", "token", "api_token", "accessToken", "digest"):
        assert cleaned[key] == REDACTED, key
    assert cleaned["spec"]["Authorization"] == REDACTED
    assert cleaned["items"][0] == {"kind": "Secret", "data": REDACTED, "stringData": REDACTED}
    assert cleaned["pairs"] == [{"private_key": REDACTED}]
    assert (cleaned["name"], cleaned["token_key_id"], cleaned["spec"]["replicas"]) == ("web", "0123456789abcdef", 2)
    assert cleaned["spec"]["env"] == [{"name": "DB_PASSWORD", "value": "x"}]  # values are not guessed at, keys are
    assert CANARY not in json.dumps(cleaned)
    assert snapshot["password"] == CANARY  # the caller's object is left alone


@pytest.mark.django_db
def test_secrets_in_before_and_after_never_reach_the_database():
    with transaction.atomic():
        audit_record(
            action="credential.rotate",
            target_type="test.thing",
            target_id="1",
            before={"name": "db", "password": CANARY, "nested": [{"secret": CANARY}]},
            after={"name": "db", "connection": {"password": CANARY, "host": "db.internal"}},
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT before::text, after::text FROM governance_auditevent")
        before, after = cursor.fetchone()
    assert CANARY not in before + after
    row = AuditEvent.objects.get()
    assert row.before == {"name": "db", "password": REDACTED, "nested": [{"secret": REDACTED}]}
    assert row.after == {"name": "db", "connection": {"password": REDACTED, "host": "db.internal"}}
    assert audit_verify() is None


@pytest.mark.django_db
def test_verify_is_none_for_an_intact_chain():
    assert audit_verify() is None
    record(4)
    assert audit_verify() is None


@pytest.mark.django_db
def test_verify_names_the_altered_row():
    record(4)
    tamper_action(2)
    broken = audit_verify()
    assert broken is not None
    assert broken.seq == 2
    assert "#2 was altered" in broken.problem


@pytest.mark.django_db
def test_verify_reports_removed_rows():
    record(4)
    remove(2)
    broken = audit_verify()
    assert broken is not None
    assert broken.seq == 2
    assert "#2 were removed" in broken.problem


@pytest.mark.django_db
def test_verify_reports_a_removed_range():
    record(5)
    remove(2, 3)
    broken = audit_verify()
    assert broken is not None
    assert (broken.seq, "#2-3 were removed" in broken.problem) == (2, True)


@pytest.mark.django_db
def test_an_altered_row_with_its_own_hash_recomputed_cuts_the_chain_at_the_next_row():
    record(4)
    forged = AuditEvent.objects.get(seq=2)
    forged.action = "nothing.happened"
    with trigger_bypassed() as cursor:
        cursor.execute(
            "UPDATE governance_auditevent SET action = %s, hash = %s WHERE seq = 2", [forged.action, event_hash(forged)]
        )
    broken = audit_verify()
    assert broken is not None
    assert broken.seq == 3
    assert "the chain was cut" in broken.problem


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_produce_a_contiguous_valid_chain():
    """Two writers in their own transactions at once: the chain lock serialises them; no duplicate or missing seq."""
    per_writer = 5
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait(timeout=10)
            for i in range(per_writer):
                with acting(Actor(username=name, face=Face.SYSTEM)), transaction.atomic():
                    audit_record(action="thing.change", target_type="test.thing", target_id=f"{name}-{i}")
                    time.sleep(0.01)  # hold the transaction open so the other writer has to wait for it
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert seqs() == list(range(1, 2 * per_writer + 1))
    by_actor = sorted(AuditEvent.objects.values_list("actor_username", flat=True))
    assert by_actor == ["w1"] * per_writer + ["w2"] * per_writer
    assert audit_verify() is None
