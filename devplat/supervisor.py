"""`make run`: the whole platform in the foreground on embedded defaults.

Starts the private PostgreSQL and Redis when DATABASE_URL / REDIS_URL are not set, migrates, makes sure the demo
admin exists, then runs the web server, one Celery worker and beat as child processes with the servers' URLs in
their environment. Ctrl-C (or any child dying) stops every child and then the embedded servers, so nothing is
left running.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from devplat import embedded

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER = "admin"
DEMO_PASSWORD = "devplat-admin"  # noqa: S105 (the documented local demo login, printed at start)
STOP_GRACE_SECONDS = 10


def _say(message: str) -> None:
    print(f"devplat | {message}", flush=True)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _servers(env: dict[str, str]) -> None:
    """Fill in DATABASE_URL and REDIS_URL, starting the embedded servers for whichever is not set."""
    data_dir = Path(env.get("DEVPLAT_DATA_DIR", ROOT / ".devplat"))
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded.postgres_url(data_dir)
        _say(f"embedded PostgreSQL running (data in {data_dir / 'postgres'})")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = embedded.redis_url(data_dir)
        _say(f"embedded Redis running (data in {data_dir / 'redis'})")


def _prepare(env: dict[str, str]) -> None:
    """Migrate and make sure the demo admin exists, in this process, before any child starts."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devplat.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    _say("applying migrations")
    call_command("migrate", interactive=False, verbosity=0)
    user_model = get_user_model()
    if not user_model.objects.filter(username=DEMO_USER).exists():
        user_model.objects.create_superuser(DEMO_USER, f"{DEMO_USER}@devplat.local", DEMO_PASSWORD)
        _say(f"created the demo admin {DEMO_USER!r}")
    connections.close_all()


class Child:
    """One supervised process in its own process group, its output prefixed with its name."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(  # noqa: S603 (our own commands)
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 (set by Popen above)
        for line in self.process.stdout:
            sys.stdout.write(f"{self.name:<6} | {line}")
            sys.stdout.flush()

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass


def _stop(children: list[Child]) -> None:
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{child.name} did not stop in {STOP_GRACE_SECONDS} s; killing it")
            child.signal(signal.SIGKILL)
            child.process.wait()
        child.signal(signal.SIGKILL)  # anything the child left in its group


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("DEVPLAT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEVPLAT_PORT", "8000")))
    args = parser.parse_args(argv)

    if not _port_free(args.host, args.port):
        _say(f"error: port {args.port} on {args.host} is in use; stop what uses it or run `make run PORT=<another>`.")
        return 1
    env = dict(os.environ)
    env.setdefault("DEVPLAT_ENV", "development")
    embedded_servers = not (env.get("DATABASE_URL") and env.get("REDIS_URL"))
    try:
        _servers(env)
        _prepare(env)
    except embedded.EmbeddedServerError as exc:
        _say(f"error: {exc}")
        return 1

    python = sys.executable
    celery = [python, "-m", "celery", "-A", "devplat"]
    children = [
        Child("web", [python, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"], env),
        Child("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], env),
        Child("beat", [*celery, "beat", "--loglevel", "INFO"], env),
    ]
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    url = f"http://{args.host}:{args.port}"
    _say(f"devplat is starting at {url}/admin/  (login: {DEMO_USER} / {DEMO_PASSWORD})")
    _say(f"API docs: {url}/api/docs/   readiness: {url}/readyz   CLI: export DEVPLAT_USER={DEMO_USER}")
    _say("press Ctrl-C to stop everything")

    exit_code = 0
    while not stopping.wait(0.5):
        dead = next((c for c in children if c.process.poll() is not None), None)
        if dead is not None:
            _say(f"error: {dead.name} exited with code {dead.process.returncode}; stopping the rest (output above)")
            exit_code = 1
            break
    _say("stopping")
    _stop(children)
    _say("stopped" + ("; the embedded servers stop as this process exits" if embedded_servers else ""))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
