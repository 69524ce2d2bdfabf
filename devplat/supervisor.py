"""`make run`: the whole platform in the foreground on embedded defaults.

Starts the private PostgreSQL and Redis when DATABASE_URL / REDIS_URL are not set, migrates, makes sure the demo
admin exists, then runs the web server, one Celery worker and beat as child processes with the servers' URLs in
their environment. When no real cluster is registered and DEVPLAT_KUBECONFIG is not set, it also runs the sandbox
Kubernetes API server with the demo seed (its state kept under .devplat/sandbox/) and registers it as cluster
`sandbox`. Ctrl-C (or any child dying) stops every child and then the embedded servers, so nothing is left running.
"""

from __future__ import annotations

import argparse
import json
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
SANDBOX_CLUSTER = "sandbox"
SANDBOX_START_SECONDS = 30


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


def _devplat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py devplat ARGS` as the demo admin: the supervisor reaches domain apps only through their CLI."""
    argv = [sys.executable, "manage.py", "devplat", *args]
    acting = {**env, "DEVPLAT_USER": DEMO_USER}
    return subprocess.run(argv, cwd=ROOT, env=acting, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def _clusters(env: dict[str, str]) -> dict[str, str]:
    """Registered cluster names and their API servers."""
    listed = _devplat(env, "clusters", "list", "-o", "json")
    if listed.returncode != 0:
        raise SystemExit(f"devplat | error: could not list clusters: {listed.stderr.strip()}")
    return {row["name"]: row["server"] for row in json.loads(listed.stdout)}


def _register_cluster(env: dict[str, str], name: str, *args: str) -> None:
    added = _devplat(env, "clusters", "add", name, *args)
    if added.returncode != 0:
        raise SystemExit(f"devplat | error: could not register cluster {name!r}: {added.stderr.strip()}")
    _say(f"registered cluster {name!r}")


def _register_sandbox(env: dict[str, str], url: str, folder: Path) -> None:
    """Cluster `sandbox` points at this run's sandbox; re-registered when its port changed since the last run."""
    server = _clusters(env).get(SANDBOX_CLUSTER)
    if server == url:
        return
    if server is not None:
        _devplat(env, "clusters", "remove", SANDBOX_CLUSTER)
    token = folder / "token"
    token.write_text("sandbox\n")  # the sandbox checks no token; a cluster needs a credential
    _register_cluster(
        env, SANDBOX_CLUSTER, "--server", url, "--token-file", str(token), "--label", "devplat.io/sandbox=true"
    )


def _start_sandbox(env: dict[str, str], port: int, folder: Path) -> Child:
    """`devplat sandbox serve --seed demo` as a child; returns once it serves, or raises SystemExit."""
    folder.mkdir(parents=True, exist_ok=True)
    kubeconfig = folder / "kubeconfig"
    kubeconfig.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "manage.py",
        "devplat",
        "sandbox",
        "serve",
        "--seed",
        "demo",
        "--port",
        str(port),
        "--state",
        str(folder / "state.json"),
        "--kubeconfig-out",
        str(kubeconfig),
    ]
    child = Child("sandbox", argv, env)
    deadline = time.monotonic() + SANDBOX_START_SECONDS
    while not kubeconfig.exists():
        if child.process.poll() is not None or time.monotonic() > deadline:
            _stop([child])
            raise SystemExit("devplat | error: the sandbox did not start (its output is above)")
        time.sleep(0.1)
    return child


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


def _cluster_source(env: dict[str, str], sandbox_port: int, folder: Path) -> list[Child]:
    """Register DEVPLAT_KUBECONFIG's cluster, or start the sandbox when no real cluster is registered."""
    kubeconfig = env.get("DEVPLAT_KUBECONFIG")
    if kubeconfig:
        name = env.get("DEVPLAT_CLUSTER_NAME", "default")
        if name not in _clusters(env):
            _register_cluster(env, name, "--kubeconfig", kubeconfig)
        return []
    if set(_clusters(env)) - {SANDBOX_CLUSTER}:
        return []
    if not _port_free("127.0.0.1", sandbox_port):
        raise SystemExit(f"devplat | error: the sandbox's port {sandbox_port} is in use; set DEVPLAT_SANDBOX_PORT.")
    child = _start_sandbox(env, sandbox_port, folder)
    url = f"http://127.0.0.1:{sandbox_port}"
    try:
        _register_sandbox(env, url, folder)
        tested = _devplat(env, "clusters", "test", SANDBOX_CLUSTER)  # records its versions for `clusters list`
    except BaseException:  # an error or Ctrl-C: the sandbox runs in its own process group, so stop it here
        _stop([child])
        raise
    _say((tested.stdout or tested.stderr).strip())
    _say(
        f"sandbox cluster at {url}: a Kubernetes API emulator with demo data, not a real cluster "
        f"(kubectl: export KUBECONFIG={folder / 'kubeconfig'})"
    )
    return [child]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("DEVPLAT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEVPLAT_PORT", "8000")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("DEVPLAT_SANDBOX_PORT", "8001")))
    args = parser.parse_args(argv)

    if not _port_free(args.host, args.port):
        _say(f"error: port {args.port} on {args.host} is in use; stop what uses it or run `make run PORT=<another>`.")
        return 1
    env = dict(os.environ)
    env.setdefault("DEVPLAT_ENV", "development")
    embedded_servers = not (env.get("DATABASE_URL") and env.get("REDIS_URL"))
    # Until the children run, Ctrl-C and SIGTERM interrupt the start-up (even when SIGINT was inherited ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _servers(env)
        _prepare(env)
    except embedded.EmbeddedServerError as exc:
        _say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted while starting; stopped")
        return 130

    children: list[Child] = []
    sandbox_folder = Path(env.get("DEVPLAT_DATA_DIR", ROOT / ".devplat")) / "sandbox"
    try:
        children += _cluster_source(env, args.sandbox_port, sandbox_folder)
    except SystemExit as exc:
        print(exc, flush=True)
        return 1
    except KeyboardInterrupt:
        _say("interrupted while starting; stopped")
        return 130

    python = sys.executable
    celery = [python, "-m", "celery", "-A", "devplat"]
    children += [
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
