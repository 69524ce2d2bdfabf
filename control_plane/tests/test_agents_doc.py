"""docs/api-reference/agents.md is run as written: against the demo platform synced from the sandbox and a live
devplat server, its `devplat` commands run (as the platform admin), then each `sh` block runs in bash with the token
they issued, and the `python` block (the MCP client) runs with the project's Python. After a block comes its output,
abridged: the real output must be JSON carrying every key the doc shows (the top level, and the first element of
any list), so the guide cannot drift from the API.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from control_plane.sandbox.runner import Sandbox
from control_plane.sandbox.seed import load_demo
from control_plane.sync.engine import sync_window
from control_plane.tests.factories import ClusterFactory
from devplat.tests.support import call_devplat
from identity.tests.factories import UserFactory

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api-reference" / "agents.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
COMMAND = "python manage.py devplat "


def blocks() -> list[tuple[str, str]]:
    """The guide's fenced blocks in order, as (language, text)."""
    return [(match.group(1), match.group(2)) for match in BLOCK.finditer(GUIDE.read_text())]


def shape_of(documented: Any, real: Any, where: str = "output") -> list[str]:
    """What the documented output has that the real one lacks: keys of objects, the first element of lists."""
    if isinstance(documented, dict):
        if not isinstance(real, dict):
            return [f"{where} is {type(real).__name__}, documented as an object"]
        missing = [f"{where}.{key}" for key in documented if key not in real]
        return missing + [
            problem
            for key, value in documented.items()
            if key in real
            for problem in shape_of(value, real[key], f"{where}.{key}")
        ]
    if isinstance(documented, list) and documented:
        if not isinstance(real, list) or not real:
            return [f"{where} is empty or not a list, documented with elements"]
        return shape_of(documented[0], real[0], f"{where}[0]")
    return []


@pytest.fixture
def demo_platform(sandbox: Sandbox, transactional_db) -> None:
    load_demo(sandbox.api)
    UserFactory(username="admin", is_staff=True)
    report = sync_window(ClusterFactory(name="sandbox", server=sandbox.url), once=True)
    assert report is not None and not report.errors, report


def test_the_agents_guide_runs_as_written(demo_platform, live_server):
    found = blocks()
    assert [language for language, _ in found].count("python") == 1, "the guide shows one MCP client"
    token = ""
    env = {"PATH": "/usr/bin:/bin", "DEVPLAT_URL": live_server.url}
    ran = {"sh": 0, "python": 0}
    for index, (language, text) in enumerate(found):
        output: str | None = None
        if language == "console":  # the operator's commands
            for line in text.splitlines():
                assert line.startswith(COMMAND), f"block {index}: not a devplat command: {line}"
                result = call_devplat(*shlex.split(line[len(COMMAND) :]))
                assert result.code == 0, f"{line}\n{result.err}"
                if " tokens create " in f" {line} ":
                    token = json.loads(result.out)["token"]
        elif language in ("sh", "python"):
            assert token, "the guide issues a token before it uses one"
            command = ["bash", "-euo", "pipefail", "-c", text] if language == "sh" else [sys.executable, "-c", text]
            done = subprocess.run(
                command, env={**env, "DEVPLAT_TOKEN": token}, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, f"block {index} failed:\n{text}\n{done.stderr}"
            output = done.stdout
            ran[language] += 1
        if output is not None:
            following = found[index + 1] if index + 1 < len(found) else ("", "")
            assert following[0] == "json", f"block {index} is not followed by its output"
            real = json.loads(output)
            assert not shape_of(json.loads(following[1]), real), (shape_of(json.loads(following[1]), real), real)
    assert ran == {"sh": 8, "python": 1}
