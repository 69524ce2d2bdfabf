"""The `devplat` command itself: help, usage errors and `devplat doctor`."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from devplat.core.cli.doctor import check_beat
from devplat.tasks import HEARTBEAT_KEY
from devplat.tests.support import assert_error, call_devplat, run_devplat, subprocess_env

CHECKS = ["database", "redis", "migrations", "worker", "beat"]


@pytest.fixture
def lonely_queue(own_cache_and_queue) -> str:
    """A queue no worker consumes and a cache no beat writes, whatever else runs on this Redis."""
    return own_cache_and_queue[1]


@pytest.fixture
def heartbeat_schedule(db) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    task, _ = PeriodicTask.objects.update_or_create(
        name="devplat heartbeat", defaults={"task": "devplat.heartbeat", "interval": every, "enabled": True}
    )
    return task


def verdicts(ran) -> dict[str, str]:
    return {row["check"]: row["verdict"] for row in json.loads(ran.out)}


def test_help_lists_the_nouns():
    ran = run_devplat("--help", env=subprocess_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/unused"))
    assert ran.code == 0, ran.err
    for noun in ("audit", "doctor", "teams", "tokens"):
        assert re.search(rf"^\s+{noun}\s", ran.out, re.MULTILINE), noun


@pytest.mark.django_db
def test_unknown_noun_and_missing_verb_are_one_line_usage_errors(capsys):
    assert call_devplat("frobnicate").code == 2
    assert capsys.readouterr().err.startswith("error: argument <noun>: invalid choice: 'frobnicate'")
    assert call_devplat("tokens").code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == "error: the following arguments are required: <verb>; see `devplat tokens --help`."


@pytest.mark.django_db(transaction=True)
def test_doctor_as_a_real_command_fails_on_the_missing_worker_with_a_line_per_check(lonely_queue, heartbeat_schedule):
    cache.set(HEARTBEAT_KEY, {"at": timezone.now().isoformat(), "worker": "w1"})
    ran = run_devplat("doctor")

    assert ran.code == 1
    assert "Traceback" not in ran.err
    lines = [line.split(None, 2) for line in ran.out.splitlines() if line.strip()]
    assert lines[0] == ["CHECK", "VERDICT", "DETAIL"]
    table = {line[0]: line[1:] for line in lines[2:-1]}
    assert list(table) == CHECKS
    assert {name: verdict for name, (verdict, _) in table.items()} == {
        "database": "ok",
        "redis": "ok",
        "migrations": "ok",
        "worker": "FAIL",
        "beat": "ok",
    }
    assert re.search(r"no Celery worker answered|none consumes the queue", table["worker"][1])
    assert ran.out.splitlines()[-1] == "1 check(s) failed: worker"


@pytest.mark.django_db
def test_doctor_needs_no_acting_user_and_speaks_json(lonely_queue, monkeypatch):
    monkeypatch.delenv("DEVPLAT_USER", raising=False)
    ran = call_devplat("doctor", "check", "-o", "json")

    assert ran.code == 1
    rows = json.loads(ran.out)
    assert [row["check"] for row in rows] == CHECKS
    assert all(set(row) == {"check", "verdict", "detail"} for row in rows)
    assert verdicts(ran)["migrations"] == "ok"
    assert verdicts(ran)["worker"] == "FAIL"


@pytest.mark.django_db
def test_the_beat_check_reads_the_heartbeat(lonely_queue, heartbeat_schedule):
    assert check_beat()[0] == "warn"  # scheduled, never beaten

    cache.set(HEARTBEAT_KEY, {"at": timezone.now().isoformat(), "worker": "w1"})
    verdict, detail = check_beat()
    assert (verdict, detail.endswith("from w1")) == ("ok", True)

    stale = timezone.now() - datetime.timedelta(minutes=10)
    cache.set(HEARTBEAT_KEY, {"at": stale.isoformat(), "worker": "w1"})
    verdict, detail = check_beat()
    assert verdict == "warn"
    assert re.fullmatch(r"last heartbeat 60\d s ago: beat or the workers have stopped", detail)

    PeriodicTask.objects.filter(pk=heartbeat_schedule.pk).update(enabled=False)
    assert check_beat()[0] == "FAIL"


@pytest.mark.django_db
def test_bad_output_format_is_a_usage_error():
    assert_error(run_devplat("doctor", "-o", "xml"), 2, "argument -o/--output: invalid choice: 'xml'")
