"""`devplat sandbox serve` as a user runs it: a process, a kubeconfig, a state file that survives restarts."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from devplat.tests.support import REPO_ROOT, subprocess_env


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "devplat", "sandbox", "serve", *args],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.1)


def server_of(kubeconfig: Path) -> str:
    return yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback server
        return json.loads(response.read())


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    return out


def test_demo_state_survives_a_restart_with_uids_and_resource_versions(tmp_path):
    state, kubeconfig = tmp_path / "state.json", tmp_path / "kubeconfig"
    first = serve("--seed", "demo", "--state", str(state), "--kubeconfig-out", str(kubeconfig), "--no-simulate")
    wait_for(kubeconfig, first)
    url = server_of(kubeconfig)
    before = get(f"{url}/apis/platform.devplat.io/v1alpha1/namespaces/team-checkout/databases/checkout-db")
    out = stop(first)
    assert "seed demo" in out and f"state saved to {state}" in out
    assert "SIMULATED" not in out

    kubeconfig.unlink()
    second = serve("--seed", "empty", "--state", str(state), "--kubeconfig-out", str(kubeconfig))
    wait_for(kubeconfig, second)
    after = get(
        f"{server_of(kubeconfig)}/apis/platform.devplat.io/v1alpha1/namespaces/team-checkout/databases/checkout-db"
    )
    out = stop(second)
    assert after == before
    assert "objects restored from" in out


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = serve("--port", str(port))
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    assert out.strip().splitlines() == [f"error: port {port} is in use: pick another with --port, or 0 for a free one"]
