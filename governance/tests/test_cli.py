"""`devplat audit tail` and `devplat audit verify`, driven as an operator would."""

from __future__ import annotations

import json

import pytest
import yaml
from django.contrib.auth import get_user_model

from devplat.tests.support import assert_error, call_devplat, run_devplat
from governance.tests.support import record, remove, tamper_action

EVENT_KEYS = {"seq", "time", "actor", "face", "action", "target", "before", "after", "request_id"}


@pytest.fixture
def users(db):
    model = get_user_model()
    model.objects.create_user(username="root", is_staff=True, is_superuser=True)
    model.objects.create_user(username="dev")


@pytest.fixture
def history(users):
    """Seven events: three by alice on teams, two by bob on tokens, two more by alice on tokens."""
    record(3, username="alice", action="team.create")
    record(2, username="bob", action="token.create")
    record(2, username="alice", action="token.revoke")


@pytest.mark.django_db
def test_tail_shows_the_newest_events_oldest_first(history):
    ran = call_devplat("audit", "tail", "-n", "3", "-o", "json", "--as", "root")

    assert ran.code == 0
    events = json.loads(ran.out)
    assert [e["seq"] for e in events] == [5, 6, 7]
    assert set(events[0]) == EVENT_KEYS
    assert (events[0]["actor"], events[0]["face"], events[0]["action"]) == ("bob", "cli", "token.create")
    assert events[-1]["target"] == "test.thing:"
    assert events[-1]["after"] == {"n": 1}


@pytest.mark.django_db
def test_tail_filters_by_actor_and_action_prefix(history):
    by_bob = yaml.safe_load(call_devplat("audit", "tail", "--actor", "bob", "-o", "yaml", "--as", "root").out)
    assert [(e["seq"], e["actor"]) for e in by_bob] == [(4, "bob"), (5, "bob")]

    tokens = json.loads(call_devplat("audit", "tail", "--action", "token.", "-o", "json", "--as", "root").out)
    assert [e["action"] for e in tokens] == ["token.create"] * 2 + ["token.revoke"] * 2

    both = json.loads(
        call_devplat(
            "audit", "tail", "--actor", "alice", "--action", "token", "-n", "1", "-o", "json", "--as", "root"
        ).out
    )
    assert [(e["seq"], e["actor"], e["action"]) for e in both] == [(7, "alice", "token.revoke")]


@pytest.mark.django_db
def test_tail_prints_a_table_with_one_line_per_event(history):
    ran = call_devplat("audit", "tail", "-n", "2", "--as", "root")
    lines = [line for line in ran.out.splitlines() if line.strip()]

    assert lines[0].split() == ["SEQ", "TIME", "ACTOR", "FACE", "ACTION", "TARGET", "REQUEST", "ID"]
    rows = [line.split() for line in lines[2:]]
    assert [(row[0], row[3], row[4], row[5], row[-1]) for row in rows] == [
        ("6", "alice", "cli", "token.revoke", "req-alice-0"),
        ("7", "alice", "cli", "token.revoke", "req-alice-1"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("verb", ["tail", "verify"])
def test_only_platform_admins_read_the_audit_log(history, verb):
    assert_error(call_devplat("audit", verb, "--as", "dev"), 1, "Only platform admins")


@pytest.mark.django_db
def test_verify_passes_an_intact_log(history):
    ran = call_devplat("audit", "verify", "--as", "root")
    assert (ran.code, ran.out.strip()) == (0, "audit log intact: 7 events verified")
    assert json.loads(call_devplat("audit", "verify", "-o", "json", "--as", "root").out) == {"ok": True, "events": 7}


@pytest.mark.django_db
def test_verify_exits_1_naming_the_altered_row(history):
    tamper_action(2)

    ran = call_devplat("audit", "verify", "--as", "root")
    assert ran.code == 1
    assert ran.out.strip() == "audit log TAMPERED: row #2 was altered after it was written"
    data = yaml.safe_load(call_devplat("audit", "verify", "-o", "yaml", "--as", "root").out)
    assert (data["ok"], data["first_bad_seq"], data["events"]) == (False, 2, 7)


@pytest.mark.django_db
def test_verify_exits_1_naming_removed_rows(history):
    remove(3, 4)
    ran = call_devplat("audit", "verify", "-o", "json", "--as", "root")
    assert ran.code == 1
    data = json.loads(ran.out)
    assert (data["first_bad_seq"], data["events"]) == (3, 5)
    assert "#3-4 were removed" in data["problem"]


@pytest.mark.django_db(transaction=True)
def test_verify_as_a_real_command(users):
    record(3)
    intact = run_devplat("audit", "verify", "--as", "root")
    assert (intact.code, intact.out.strip(), intact.err) == (0, "audit log intact: 3 events verified", "")

    tamper_action(2)
    tampered = run_devplat("audit", "verify", "--as", "root")
    assert tampered.code == 1
    assert "row #2 was altered" in tampered.out
    assert "Traceback" not in tampered.err
    assert_error(run_devplat("audit", "tail", "--as", "nobody"), 1, "no user named 'nobody'")
