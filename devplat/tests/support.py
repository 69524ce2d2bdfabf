"""Helpers for tests that drive devplat as a user or an operator would: the CLI in-process and in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management import call_command

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ran:
    """Exit code and output of one CLI run."""

    code: int
    out: str
    err: str


def call_devplat(*args: str) -> Ran:
    """`manage.py devplat ARGS` in this process (inside the test's transaction), output captured."""
    out, err = StringIO(), StringIO()
    try:
        call_command("devplat", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:
        code = 0
    return Ran(code, out.getvalue(), err.getvalue())


def database_url() -> str:
    """A URL for the test database (pytest-django has renamed NAME by now), for processes the test starts."""
    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    query = {}
    socket_dir = (db.get("OPTIONS") or {}).get("host") or (host if host.startswith("/") else "")
    if socket_dir:
        host, query["host"] = "", socket_dir
    netloc = f"{auth}@{host}" if auth else host
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    url = f"postgres://{netloc}/{quote(db['NAME'], safe='')}"
    return f"{url}?{urlencode(query)}" if query else url


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a devplat process that shares this test run's database, Redis, cache prefix and queue."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DEVPLAT_USER")}
    env.update(
        DJANGO_SETTINGS_MODULE="devplat.settings",
        DEVPLAT_ENV="development",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DEVPLAT_CACHE_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        DEVPLAT_CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
    )
    env.update(extra)
    return env


def run_manage(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Ran:
    """`python manage.py ARGS` in a new process, as a user types it. Data must be committed to be seen."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env if env is not None else subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def run_devplat(*args: str, env: dict[str, str] | None = None) -> Ran:
    return run_manage("devplat", *args, env=env)


def assert_error(ran: Ran, code: int, *fragments: str) -> None:
    """The run failed as the CLI promises: exit `code`, one `error:` line on stderr saying what, no traceback."""
    assert ran.code == code, ran
    assert "Traceback" not in ran.out + ran.err, ran.err
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1, ran.err
    assert lines[0].startswith("error: "), ran.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
