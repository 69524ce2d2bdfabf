"""schemathesis 4 against the live schema of the running app (R12 b, R13): no 5xx, no response that breaks the schema.

devplat is served as it is deployed, by gunicorn on loopback, on a committed database populated with two teams'
inventory (see `api_world`). (Not in-process through `from_wsgi`: schemathesis 4.32.5's probe requests, which
`object_level_authorization` sends, pass `requests`-only options to werkzeug there and fail. Nor Django's live
server, whose 40 ms per request from delayed ACKs would make the run several minutes.) schemathesis loads
/api/schema/ from it and runs its phases: the schema's examples, coverage of each parameter's edges, positive and
negative fuzzing (invalid input must be rejected with a 4xx: `negative_data_rejection`), and the stateful phase over
the links it infers (list -> detail -> tree/history).

The two callers are a member of team A and a member of team B, listed as `peers`: the `object_level_authorization`
check replays each one's reads of its own objects as the other and fails when the other gets them. Their tokens
have the `provision` scope, and neither is a platform admin, so the run reads everything a team member may and
changes nothing a probe would have to undo (cluster tests, for one, would connect out).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.engine import events

from devplat.tests.api_world import SCOPES, build_world
from devplat.tests.support import REPO_ROOT, subprocess_env

PEERS = ("team-a", "team-b")
# Budgets that keep the run under a minute on two cores; the seed makes a failure reproducible.
SETTINGS = {
    "seed": 20261125,
    "workers": 1,
    "cache": {"enabled": False},  # no state carried between runs, and none left in the work tree
    "generation": {"mode": "all", "max-examples": 25, "no-shrink": True},
    "phases": {"stateful": {"max-steps": 25}},
    "checks": {
        "max_response_time": 10,  # seconds: a request that hangs is a failure too
        # A filter naming a cluster, team or kind that does not exist is refused with a 400 listing the ones that
        # do (the contract's selectors, for agents), and such names are most of what a schema-valid string is.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]},
        # The defaults, and 413: a body over the upload limit is rejected before anything reads it (R17).
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
        },
    },
}


def wfc_document(path: Path, tokens: dict[str, str]) -> Path:
    """A Web Fuzzing Commons auth document: one entry per peer, each sending its own bearer token."""
    entries = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for name, token in tokens.items()
    ]
    path.write_text(json.dumps({"auth": entries}))
    return path


@dataclass
class Outcome:
    """What the engine's event stream says about a run."""

    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks: Counter[str] = field(default_factory=Counter)  # how often each check ran
    phases: set[str] = field(default_factory=set)  # the phases that ran scenarios


def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Every failure counts but those on a 414: gunicorn refuses a request line over its limit (a long generated
    query) before devplat sees the request, so that answer is the server's, not the API's."""
    return bool(response.status_code != 414)


def outcome_of(stream: Any) -> Outcome:
    outcome = Outcome()
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            outcome.phases.add(event.phase.value)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    outcome.checks[check.name] += 1
                    if check.failure_info is not None:
                        case = event.recorder.cases[case_id].value
                        failure = check.failure_info.failure
                        report = f"{failure.title}\n{failure.message}\n{check.failure_info.code_sample}"
                        outcome.failed.append(
                            f"[{event.phase.value}] {check.name} on {case.method} {case.formatted_path}: "
                            + (report if len(report) < 2000 else report[:2000] + " [...]")  # bodies can be MBs
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            outcome.errors.append(str(getattr(event, "value", getattr(event, "exception", event))))
        elif isinstance(event, events.EngineFinished):
            outcome.failed += [f"[after run] {failure.title}: {failure.message}" for failure in event.failures]
    return outcome


@pytest.fixture
def served(transactional_db, tmp_path) -> Iterator[str]:
    """devplat under gunicorn on a free loopback port, sharing this test's database; its URL. Stopped (and its
    database connections closed) before the test database is flushed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Rates are R17's own tests' business: here they would only turn the run into 429s.
    rates = {f"DEVPLAT_API_RATE_{scope.upper()}": "1000000/min" for scope in (*SCOPES, "session", "anon")}
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "devplat.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=REPO_ROOT,
            # Long polls of the change feed are held at most a second: fuzzing `wait` must not stall the run.
            env=subprocess_env(DEVPLAT_DEBUG="false", DEVPLAT_CHANGES_MAX_WAIT="1", **rates),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.timeout(240)
def test_schemathesis_finds_no_server_error_schema_violation_or_leak(served, tmp_path):
    world = build_world()
    auth = wfc_document(tmp_path / "auth.json", {name: world.callers[name].tokens["provision"] for name in PEERS})
    config = schemathesis.Config.from_dict({**SETTINGS, "auth": {"wfc": {"path": str(auth), "peers": list(PEERS)}}})
    schema = schemathesis.openapi.from_url(f"{served}/api/schema/?format=json", config=config)
    schema.hook(filter_failure)
    assert len(list(schema.get_all_operations())) >= 20

    outcome = outcome_of(schemathesis.engine.from_schema(schema).execute())

    assert outcome.errors == []
    assert outcome.failed == [], "\n\n".join(outcome.failed)
    # The run did what it is here for: every phase, and the checks this test is about, many times over.
    assert {"examples", "coverage", "fuzzing", "stateful"} <= outcome.phases
    for check in ("not_a_server_error", "response_schema_conformance", "negative_data_rejection"):
        assert outcome.checks[check] > 100, (check, outcome.checks)
    assert outcome.checks["object_level_authorization"] > 20, outcome.checks
