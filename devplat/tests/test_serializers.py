"""Property-level authorization (R13), checked over every serializer and every operation the API has.

No serializer takes "all the model's fields" (a new column would be exposed, or writable, the day it is added);
the fields that say who owns a row or what the cluster says about it are read-only wherever a model serializer has
them; no request body lets a client set them; and no response schema carries a credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from devplat.tests.api_world import api_endpoints

APPS = ("devplat", "governance", "identity", "control_plane", "applications")
# Who owns a row and what Kubernetes says of it: set by services and the sync, never by a request (R13).
PROTECTED = {"team", "owner", "cluster", "status", "uid", "resource_version"}
# Request fields with a protected name that are not mass assignment, and why.
REQUEST_ALLOWED = {
    # Picks whose token to create ("this team's service account"), checked by `team_for(..., "change")`.
    ("tokens_create", "team"),
    # The requesting team and, among those offering the capability, the cluster: checked by the provisioning
    # service (`team_for`, the developer role, the capability's clusters); the namespace comes from the team.
    ("capability_requests_create", "team"),
    ("capability_requests_create", "cluster"),
}
CREDENTIALS = {
    "kubeconfig",
    "ca_data",
    "client_key",
    "client_key_data",
    "client_cert_data",
    "client_certificate_data",
    "credentials",
    "credentials_ciphertext",
    "token",
    "secret",
    "password",
    "digest",
    "pepper_id",
    "private_key",
}
STRUCTURE = {"properties", "items", "allOf", "oneOf", "anyOf"}
# The one response that carries a secret: a new token, shown once (R11).
RESPONSE_ALLOWED = {("tokens_create", "201", "token")}


def project_serializers() -> list[type[serializers.Serializer]]:
    """Every serializer class the project defines (the URL conf imports every app's API first)."""
    get_resolver().url_patterns  # noqa: B018 (imports the views, and with them their serializers)
    found, todo = set(), [serializers.BaseSerializer]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in APPS:
                found.add(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


SERIALIZERS = project_serializers()
MODEL_SERIALIZERS = [
    cls for cls in SERIALIZERS if issubclass(cls, serializers.ModelSerializer) and hasattr(cls, "Meta")
]


def test_every_view_serializer_is_among_those_checked():
    views = {
        endpoint.view.serializer_class for endpoint in api_endpoints() if hasattr(endpoint.view, "serializer_class")
    }
    assert views
    assert views <= set(SERIALIZERS)
    assert len(MODEL_SERIALIZERS) >= 5


@pytest.mark.parametrize("serializer", MODEL_SERIALIZERS, ids=lambda cls: cls.__qualname__)
def test_model_serializers_list_their_fields(serializer):
    meta = serializer.Meta
    assert not hasattr(meta, "exclude"), f"{serializer.__qualname__}: list the fields instead of `exclude`"
    fields = getattr(meta, "fields", None)
    assert isinstance(fields, list | tuple), f"{serializer.__qualname__}: Meta.fields must be a list, not {fields!r}"


def writable_protected(serializer: serializers.Serializer, path: str = "") -> Iterator[str]:
    """Protected fields (by name, or by the model attribute they read) a client could write, nested ones too."""
    for name, field in serializer.fields.items():
        source = (field.source or name).split(".")[0]
        if (name in PROTECTED or source in PROTECTED) and not field.read_only:
            yield f"{path}{name}"
        child = field.child if isinstance(field, serializers.ListSerializer) else field
        if isinstance(child, serializers.Serializer) and not field.read_only:
            yield from writable_protected(child, f"{path}{name}.")


@pytest.mark.parametrize("serializer", MODEL_SERIALIZERS, ids=lambda cls: cls.__qualname__)
def test_ownership_and_cluster_state_are_read_only(serializer):
    """A model serializer's `save()` writes what validated: so these must never validate from a request."""
    assert list(writable_protected(serializer(context={}))) == []


# --- the schema's request and response bodies ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def properties(
    schema: dict[str, Any], node: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dict]]:
    """(name, schema) of every property at any depth, following references, items and combinators."""
    ref = node.get("$ref", "")
    if ref in seen:
        return
    seen = seen | {ref} if ref else seen
    node = resolve(schema, node)
    for name, sub in (node.get("properties") or {}).items():
        yield name, resolve(schema, sub)
        yield from properties(schema, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from properties(schema, node[key], seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key) or []:
            yield from properties(schema, sub, seen)


def operations(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in schema["paths"].values():
        yield from (operation for method, operation in path.items() if method != "parameters")


def test_no_request_body_can_set_who_owns_a_row(schema):
    found = []
    for operation in operations(schema):
        for content in (operation.get("requestBody") or {}).get("content", {}).values():
            for name, sub in properties(schema, content["schema"]):
                if (
                    name in PROTECTED
                    and not sub.get("readOnly")
                    and (operation["operationId"], name) not in REQUEST_ALLOWED
                ):
                    found.append(f"{operation['operationId']}: {name}")
    assert found == []


def test_no_response_schema_carries_a_credential(schema):
    checked, found = 0, []
    for operation in operations(schema):
        for status, response in operation["responses"].items():
            for content in (response.get("content") or {}).values():
                for name, sub in properties(schema, content["schema"]):
                    checked += 1
                    # A credential is a value; an object named `token` (the token's metadata on /me) is not one.
                    is_value = sub.get("type") not in ("object", "array") and not STRUCTURE & sub.keys()
                    if (
                        name in CREDENTIALS
                        and is_value
                        and (operation["operationId"], status, name) not in RESPONSE_ALLOWED
                    ):
                        found.append(f"{operation['operationId']} {status}: {name}")
    assert checked > 100  # the walk reached into the bodies
    assert found == []


def test_the_credential_walk_sees_the_token_shown_once(schema):
    """The allowed exception is really there, so the walk above does look at response bodies' fields."""
    created = next(op for op in operations(schema) if op["operationId"] == "tokens_create")
    names = {
        name for name, _ in properties(schema, created["responses"]["201"]["content"]["application/json"]["schema"])
    }
    assert "token" in names


def test_the_read_only_check_finds_a_writable_owner_even_nested():
    class Inner(serializers.Serializer):
        uid = serializers.CharField()

    class Leaky(serializers.Serializer):
        label = serializers.CharField()
        team_name = serializers.CharField(source="team.name")
        owner = serializers.CharField(read_only=True)
        inner = Inner(many=True)

    assert list(writable_protected(Leaky())) == ["team_name", "inner.uid"]
