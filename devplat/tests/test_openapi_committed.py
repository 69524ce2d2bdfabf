"""The OpenAPI schema: valid, without generator warnings, agent-grade on every operation, and committed as generated.

Agents read `docs/api-reference/openapi.yaml` to learn the API, so it must be the API: the test regenerates it
exactly as `make openapi` does and fails, saying so, when the committed file differs.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from devplat.tests.support import REPO_ROOT

COMMITTED = REPO_ROOT / "docs" / "api-reference" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    """The schema as `make openapi` writes it (the command fails on an invalid schema or any warning)."""
    path = tmp_path_factory.mktemp("openapi") / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return path.read_text()


def test_the_committed_schema_is_the_one_the_code_generates(generated):
    assert COMMITTED.exists(), f"{COMMITTED.relative_to(REPO_ROOT)} is missing: run `make openapi` and commit it."
    committed = COMMITTED.read_text()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "committed", "generated", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(f"docs/api-reference/openapi.yaml is out of date: run `make openapi` and commit it.\n{shown}")


@pytest.fixture(scope="module")
def operations(generated) -> list[tuple[str, dict[str, Any]]]:
    schema = yaml.safe_load(generated)
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_stable_unique_id_a_summary_and_a_description(operations):
    assert len(operations) >= 20
    ids = Counter(operation.get("operationId") for _, operation in operations)
    assert [op for op, count in ids.items() if count > 1 or not op] == []
    missing = [
        f"{where}: {field}"
        for where, operation in operations
        for field in ("summary", "description")
        if not (operation.get(field) or "").strip()
    ]
    assert missing == []


def test_every_operation_documents_its_errors_as_problem_documents(operations):
    wrong = []
    for where, operation in operations:
        responses = operation["responses"]
        wrong += [f"{where}: no {status}" for status in ("401", "403", "429", "503") if status not in responses]
        if "429" in responses and "Retry-After" not in responses["429"].get("headers", {}):
            wrong.append(f"{where}: 429 without Retry-After")
        for status, response in responses.items():
            if status.startswith(("4", "5")) and "Problem" not in str(response.get("content")):
                wrong.append(f"{where}: {status} is not a problem document")
    assert wrong == []


def examples(*bodies: dict[str, Any]) -> list[str]:
    return [
        name
        for body in bodies
        for content in (body.get("content") or {}).values()
        for name in content.get("examples", {})
    ]


def test_every_operation_has_an_example_and_described_parameters(operations):
    """An operation that answers with a body shows one, or the request it takes; error examples do not count."""
    wrong = []
    for where, operation in operations:
        responses = operation["responses"]
        success = [response for status, response in responses.items() if status.startswith("2")]
        shown = examples(*success, operation.get("requestBody") or {})
        if list(responses).count("204") != len(success) and not shown:
            wrong.append(f"{where}: no example of a successful call")
        wrong += [
            f"{where}: parameter {parameter['name']} has no description"
            for parameter in operation.get("parameters", [])
            if not (parameter.get("description") or "").strip()
        ]
    assert wrong == []
