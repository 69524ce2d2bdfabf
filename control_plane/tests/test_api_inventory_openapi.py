"""The inventory and provisioning operations are documented for agents: a stable operation id, a summary, a
description, every parameter described with an example, the errors they answer and at least one example answer."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

OPERATIONS = {
    ("/api/v1/resources/", "get"): ("resources_list", {"400"}),
    ("/api/v1/resources/{id}/", "get"): ("resources_retrieve", {"404"}),
    ("/api/v1/resources/{id}/tree/", "get"): ("resources_tree", {"404"}),
    ("/api/v1/resources/{id}/history/", "get"): ("resources_history", {"400", "404"}),
    ("/api/v1/changes/", "get"): ("changes_list", {"400"}),
    ("/api/v1/health/", "get"): ("health_retrieve", set()),
    ("/api/v1/resource-types/", "get"): ("resource_types_list", {"400"}),
    ("/api/v1/resource-types/{id}/", "get"): ("resource_types_retrieve", {"404"}),
    ("/api/v1/sync-runs/", "get"): ("sync_runs_list", {"400"}),
    ("/api/v1/sync-runs/{id}/", "get"): ("sync_runs_retrieve", {"404"}),
    ("/api/v1/capabilities/", "get"): ("capabilities_list", set()),
    ("/api/v1/capabilities/{name}/", "get"): ("capabilities_retrieve", {"404"}),
    ("/api/v1/capabilities/{capability}/requests/", "get"): ("capability_requests_list", {"400", "404"}),
    ("/api/v1/capabilities/{capability}/requests/", "post"): ("capability_requests_create", {"400", "404", "409"}),
    ("/api/v1/capabilities/{capability}/requests/{id}/", "get"): ("capability_requests_retrieve", {"404"}),
    ("/api/v1/capabilities/{capability}/requests/{id}/", "patch"): (
        "capability_requests_update",
        {"400", "404", "409"},
    ),
    ("/api/v1/capabilities/{capability}/requests/{id}/", "delete"): ("capability_requests_delete", {"404", "409"}),
}
INVENTORY_PREFIXES = (
    "/api/v1/resources/",
    "/api/v1/changes/",
    "/api/v1/health/",
    "/api/v1/resource-types/",
    "/api/v1/sync-runs/",
    "/api/v1/capabilities/",
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_inventory_and_provisioning_routes_are_exactly_these_operations(schema):
    found = {
        (path, method)
        for path, operations in schema["paths"].items()
        if path.startswith(INVENTORY_PREFIXES)
        for method in operations
    }

    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method"), sorted(OPERATIONS))
def test_each_operation_is_documented_for_agents(schema, path, method):
    operation = schema["paths"][path][method]
    operation_id, errors = OPERATIONS[(path, method)]

    assert operation["operationId"] == operation_id
    assert operation["summary"].strip()
    assert len(operation["description"]) > 40
    responses = operation["responses"]
    assert {"401", "403"} | errors <= set(responses)
    for status in {"401", "403"} | errors:
        assert responses[status]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert responses["200"]["content"]["application/json"]["examples"], "no example answer"
    for parameter in operation.get("parameters", []):
        assert parameter["description"].strip(), parameter["name"]
        if parameter["in"] == "query" and parameter["name"] != "cursor":
            assert (
                parameter.get("examples") or parameter.get("example") is not None or parameter["name"] == "page_size"
            ), parameter


def test_the_resource_list_documents_every_filter_of_the_contract(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/resources/"]["get"]["parameters"]}

    assert names >= {
        "cluster",
        "group",
        "kind",
        "namespace",
        "name",
        "team",
        "health",
        "ready",
        "label_selector",
        "q",
        "changed_since",
        "fields",
        "page_size",
        "cursor",
    }
    feed = {p["name"] for p in schema["paths"]["/api/v1/changes/"]["get"]["parameters"]}
    assert feed == {"after", "wait", "cluster", "team", "kind", "page_size"}


def test_a_list_row_requires_no_field_since_fields_may_leave_any_out(schema):
    row = schema["components"]["schemas"]["ResourceSummary"]

    assert "required" not in row
    assert {"id", "labels", "conditions", "created_at"} <= set(row["properties"])


@pytest.mark.parametrize(
    ("path", "component"),
    [
        ("/api/v1/changes/", "ChangeFeed"),
        ("/api/v1/health/", "HealthSummary"),
        ("/api/v1/capabilities/", "CapabilityList"),
        ("/api/v1/resources/", "PaginatedResourceSummaryList"),
    ],
)
def test_list_routes_document_the_object_they_answer_not_an_array_of_it(schema, path, component):
    answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert answer == {"$ref": f"#/components/schemas/{component}"}
