"""Real processes syncing one cluster (R22, R23): `devplat sync run` twice, Celery workers, and beat's tick.

The sandbox serves on loopback in the test process, and the processes reach the test database, so every test here
commits its data (transactional database).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from control_plane.models import Cluster, Resource
from control_plane.sync.lease import KEY, Lease, held_cluster_ids
from control_plane.sync.tests.support import configmap, create
from control_plane.tasks import QUEUED_KEY, sync_cluster, sync_tick
from control_plane.tests.factories import ClusterFactory
from devplat.celery import app
from devplat.tests.conftest import own_cache_and_queue  # noqa: F401 (a fixture)
from devplat.tests.support import REPO_ROOT, subprocess_env
from devplat.tests.test_celery import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)

HOLDER_PID = re.compile(r"\bpid (\d+)\b")


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until `condition()` is truthy; its value, or a failure naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:g} s: {what}")


def lease_sessions(cluster: Cluster) -> int:
    """How many database sessions hold the cluster's sync lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [KEY, cluster.pk],
        )
        return cursor.fetchone()[0]


def holder_pid(cluster: Cluster) -> int | None:
    """The pid of the `sync run` process holding the cluster's lease now, if one does."""
    if cluster.pk not in held_cluster_ids():
        return None
    found = HOLDER_PID.search(Cluster.objects.get(pk=cluster.pk).lease_holder)
    return int(found.group(1)) if found else None


def synced(cluster: Cluster, name: str) -> bool:
    return Resource.objects.filter(cluster=cluster, kind="ConfigMap", name=name, deleted_at__isnull=True).exists()


@contextlib.contextmanager
def sync_runs(tmp_path: Path, *args: str, count: int = 1) -> Iterator[list[subprocess.Popen]]:
    """`count` processes of `manage.py devplat sync run ARGS` as the platform admin, killed by pid afterwards;
    process i writes to tmp_path/run-i.out and run-i.err."""
    command = [sys.executable, "manage.py", "devplat", "sync", "run", *args]
    env = subprocess_env(DEVPLAT_USER="root-admin")
    processes = []
    try:
        for index in range(count):
            with (tmp_path / f"run-{index}.out").open("w") as out, (tmp_path / f"run-{index}.err").open("w") as err:
                processes.append(subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=err))
        yield processes
    except BaseException:
        for index in range(len(processes)):
            print((tmp_path / f"run-{index}.err").read_text())  # shown by pytest on failure
        raise
    finally:
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.timeout(90)
def test_two_sync_runs_on_one_cluster_one_syncs_and_the_other_takes_over_when_it_is_killed(
    sandbox, cluster, platform_admin, tmp_path
):
    args = ("--cluster", "sandbox", "--follow", "--window", "3")
    with sync_runs(tmp_path, *args, count=2) as processes:
        pids = {process.pid: index for index, process in enumerate(processes)}
        first = wait_for(lambda: holder_pid(cluster), 30, "one of the two processes holds the lease")
        assert first in pids

        # Over a window boundary (3 s), never two sessions with the lock; the other process knows it waits.
        sessions = set()
        for _ in range(40):
            sessions.add(lease_sessions(cluster))
            assert holder_pid(cluster) in (*pids, None)
            time.sleep(0.1)
        assert sessions <= {0, 1}
        assert 1 in sessions
        create(sandbox, configmap("before-kill"))
        wait_for(lambda: synced(cluster, "before-kill"), 10, "the holder syncs a new object")
        holder = wait_for(lambda: holder_pid(cluster), 10, "a holder")
        survivor = next(process for process in processes if process.pid != holder)
        waiting = tmp_path / f"run-{pids[survivor.pid]}.err"
        wait_for(lambda: "another worker is syncing cluster sandbox" in waiting.read_text(), 10, "the other waits")
        epoch = Cluster.objects.get(pk=cluster.pk).lease_epoch

        os.kill(holder, signal.SIGKILL)
        killed_at = time.monotonic()
        create(sandbox, configmap("after-kill"))

        wait_for(lambda: synced(cluster, "after-kill"), 15, "the survivor syncs an object created after the kill")
        took_over = time.monotonic() - killed_at
        assert holder_pid(cluster) == survivor.pid
        assert Cluster.objects.get(pk=cluster.pk).lease_epoch > epoch
        assert survivor.poll() is None
        print(f"takeover after SIGKILL: {took_over:.1f} s")


@pytest.mark.timeout(60)
def test_ctrl_c_ends_the_window_writes_what_it_has_and_exits_0_with_a_summary(
    sandbox, cluster, platform_admin, tmp_path
):
    with sync_runs(tmp_path, "--cluster", "sandbox", "--window", "60", "-o", "json") as [process]:
        wait_for(lambda: holder_pid(cluster) == process.pid, 30, "the run holds the lease")
        create(sandbox, configmap("just-before"))
        wait_for(lambda: synced(cluster, "just-before"), 10, "the run syncs a new object")

        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        code = process.wait(timeout=15)

    assert code == 0
    assert time.monotonic() - started < 10  # the 60 s window ended early
    [summary] = json.loads((tmp_path / "run-0.out").read_text())
    assert (summary["cluster"], summary["windows"], summary["state"]) == ("sandbox", 1, "synced")
    assert summary["added"] >= 1
    assert "stopping: each window writes what it has received" in (tmp_path / "run-0.err").read_text()
    assert cluster.pk not in held_cluster_ids()


@contextlib.contextmanager
def ready_workers(queue: str, tmp_path: Path, count: int) -> Iterator[None]:
    """`count` real Celery workers on `queue`, each started (its log says ready) before the block runs."""
    with contextlib.ExitStack() as stack:
        logs = [tmp_path / f"worker-{index}.log" for index in range(count)]
        for log in logs:
            stack.enter_context(celery_worker(queue, log))
        try:
            for log in logs:
                wait_for(lambda log=log: " ready." in log.read_text(), 30, f"{log.name} says it is ready")
            yield
        except BaseException:
            for log in logs:
                print(log.read_text())  # shown by pytest on failure
            raise


@pytest.mark.timeout(90)
def test_a_celery_worker_syncs_a_cluster_and_a_concurrent_duplicate_window_is_skipped(
    sandbox,
    cluster,
    own_cache_and_queue,  # noqa: F811 (the fixture imported above)
    tmp_path,
    monkeypatch,
):
    _, queue = own_cache_and_queue
    monkeypatch.setenv("DEVPLAT_SYNC_WINDOW_SECONDS", "3")  # the workers' windows (their environment is ours)
    create(sandbox, configmap("from-celery"))

    with ready_workers(queue, tmp_path, count=2):
        # The queue is named explicitly: the app read its default queue before this test chose its own.
        first = sync_cluster.apply_async(args=[cluster.pk], queue=queue).get(timeout=30)
        assert (first["cluster"], first["errors"]) == ("sandbox", {})
        assert first["added"] == Resource.objects.filter(cluster=cluster).count() > 0
        assert synced(cluster, "from-celery")
        epoch = Cluster.objects.get(pk=cluster.pk).lease_epoch

        twice = [sync_cluster.apply_async(args=[cluster.pk], queue=queue) for _ in range(2)]
        outcomes = [result.get(timeout=30) for result in twice]

    skipped = [outcome for outcome in outcomes if "skipped" in outcome]
    ran = [outcome for outcome in outcomes if "skipped" not in outcome]
    assert skipped == [{"cluster": "sandbox", "skipped": "lease held by another worker"}]
    assert len(ran) == 1
    assert (ran[0]["added"], ran[0]["errors"]) == (0, {})
    assert Cluster.objects.get(pk=cluster.pk).lease_epoch == epoch + 1  # one more window, not two


@contextlib.contextmanager
def broker_queue() -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """What is waiting in the app's default queue in Redis, as (task, args) pairs; emptied before and after."""
    queue = app.conf.task_default_queue
    client = redis.Redis.from_url(settings.REDIS_URL)

    def waiting() -> list[tuple[str, str]]:
        messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
        return sorted((m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages)

    client.delete(queue)
    try:
        yield waiting
    finally:
        client.delete(queue)


def test_sync_tick_queues_one_window_per_cluster_and_skips_held_leases():
    alpha, beta = ClusterFactory(name="alpha"), ClusterFactory(name="beta")
    ClusterFactory(name="gamma", enabled=False)
    lease = Lease.try_acquire(beta.pk, holder="another worker")
    assert lease is not None

    with lease, broker_queue() as waiting:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two beats ticking at once
            ticks = list(pool.map(lambda _: tick(), range(2)))
        assert sorted(ticks) == [[], ["alpha"]]
        assert tick() == []  # alpha's window is still queued, beta's lease is held
        assert cache.get(QUEUED_KEY.format(alpha.pk)) == 1
        assert cache.get(QUEUED_KEY.format(beta.pk)) is None

        lease.release()
        assert tick() == ["beta"]

        queued = [("control_plane.sync_cluster", f"({alpha.pk},)"), ("control_plane.sync_cluster", f"({beta.pk},)")]
        assert waiting() == queued


def tick() -> list[str]:
    """One beat tick in this thread, closing the thread's database connection afterwards."""
    try:
        return sync_tick()
    finally:
        connection.close()
