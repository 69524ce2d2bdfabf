"""`make run`'s supervisor end to end: with no cluster registered it serves the sandbox, registers and probes it,
and Ctrl-C stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from devplat.tests.support import REPO_ROOT, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_run_serves_registers_and_probes_the_sandbox_then_stops_everything(tmp_path):
    web_port, sandbox_port = free_port(), free_port()
    env = subprocess_env(
        DEVPLAT_DATA_DIR=str(tmp_path), DEVPLAT_PORT=str(web_port), DEVPLAT_SANDBOX_PORT=str(sandbox_port)
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "devplat.supervisor"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any("press Ctrl-C" in line for line in lines):
            assert supervisor.poll() is None and time.monotonic() < deadline, "".join(lines)
            lines.append(supervisor.stdout.readline())
        output = "".join(lines)
        assert "registered cluster 'sandbox'" in output
        assert "cluster sandbox is reachable: Kubernetes v1.32.0-devplat-sandbox, Crossplane v2.0.2" in output
        url = f"http://127.0.0.1:{sandbox_port}/apis/platform.devplat.io/v1alpha1/namespaces/team-checkout/databases"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert [d["metadata"]["name"] for d in json.loads(response.read())["items"]] == ["checkout-db"]
        listed = subprocess.run(
            [sys.executable, "manage.py", "devplat", "clusters", "list", "-o", "json"],
            cwd=REPO_ROOT,
            env={**env, "DEVPLAT_USER": "admin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        [cluster] = json.loads(listed.stdout)
        assert cluster["server"] == f"http://127.0.0.1:{sandbox_port}" and cluster["crossplane_version"] == "v2.0.2"
        children = psutil.Process(supervisor.pid).children(recursive=True)
        assert len(children) >= 4  # sandbox, web, worker, beat
    finally:
        os.killpg(supervisor.pid, signal.SIGINT)
        supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (tmp_path / "sandbox" / "state.json").exists()
