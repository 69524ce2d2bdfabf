"""Celery (R21): reliability settings, late acks only for idempotent tasks, and a real worker round trip."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from devplat.celery import app
from devplat.core.actor import Actor, Face, acting, current_actor
from devplat.core.cli.doctor import check_worker
from devplat.tasks import HEARTBEAT_KEY, heartbeat, ping
from devplat.tests.support import REPO_ROOT, call_devplat, subprocess_env

IDEMPOTENT = {"devplat.heartbeat", "devplat.ping"}


def test_time_limits_fit_inside_the_visibility_timeout():
    """A task is killed (hard limit) before Redis would hand it to a second worker (visibility timeout)."""
    soft, hard = app.conf.task_soft_time_limit, app.conf.task_time_limit
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert 0 < soft < hard < visibility


def test_reliability_settings():
    conf = app.conf
    assert conf.worker_prefetch_multiplier == 1
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")
    assert list(conf.accept_content) == ["json"]
    assert conf.task_acks_late is False
    assert conf.task_reject_on_worker_lost is True
    assert conf.broker_connection_retry_on_startup is True


@app.task(name="devplat.tests.who_acts")
def _who_acts() -> list[str]:
    actor = current_actor()
    return [actor.face, actor.request_id, actor.username]


def test_tasks_run_as_the_system_actor_with_the_task_id_as_request_id():
    """What a task audits names the face `system` and the task that did it, not whoever ran before."""
    with acting(Actor(face=Face.CLI, username="alice", request_id="cli-request")):
        assert _who_acts.apply(task_id="task-42").get() == ["system", "task-42", ""]
        assert current_actor().username == "alice"  # restored once the task is done


def test_late_acks_only_for_tasks_declared_idempotent():
    app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
    assert heartbeat.acks_late is True
    assert ping.acks_late is True
    late = {name for name, task in app.tasks.items() if task.acks_late}
    declared = {name for name, task in app.tasks.items() if getattr(task, "idempotent", False)}
    assert IDEMPOTENT <= declared
    assert late == declared
    assert not app.tasks["celery.backend_cleanup"].acks_late


@contextlib.contextmanager
def celery_worker(queue: str, log: Path) -> Iterator[subprocess.Popen]:
    """A real `celery -A devplat worker` on this test's Redis and queue; stopped (by its pid) however the test ends."""
    command = [
        sys.executable, "-m", "celery", "-A", "devplat", "worker",
        "--pool", "solo", "--concurrency", "1", "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=REPO_ROOT, env=subprocess_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)


@pytest.mark.timeout(120)
@pytest.mark.django_db
def test_a_real_worker_runs_tasks_and_doctor_sees_it(own_cache_and_queue, tmp_path):
    _, queue = own_cache_and_queue
    assert check_worker()[0] == "FAIL"

    with celery_worker(queue, tmp_path / "worker.log") as worker:
        try:
            # The queue is named explicitly: the app read its default queue before this test chose its own.
            assert ping.apply_async(args=["hello"], queue=queue).get(timeout=30) == "pong:hello"
            beat_at = heartbeat.apply_async(queue=queue).get(timeout=30)
            assert cache.get(HEARTBEAT_KEY)["at"] == beat_at

            doctor = {row["check"]: row for row in json.loads(call_devplat("doctor", "-o", "json").out)}
            assert doctor["worker"]["verdict"] == "ok"
            assert f"on queue {queue}: {queue}@" in doctor["worker"]["detail"]
        except BaseException:
            print((tmp_path / "worker.log").read_text())  # shown by pytest on failure
            raise

    assert worker.returncode == 0  # it shut down cleanly on SIGTERM
