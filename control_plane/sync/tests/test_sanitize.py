"""Secret material never survives `sanitize`, key names do, and oversized values become markers (R10)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from control_plane.sync.sanitize import LAST_APPLIED, TRUNCATED_KEY, object_parts, sanitize

CANARY = "CANARY-7f3a"


def managed_fields() -> list[dict[str, Any]]:
    return [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {f"f:{CANARY}": {}}, "f:metadata": {"f:annotations": {}}},
        }
    ]


def canary_secret() -> dict[str, Any]:
    last_applied = orjson.dumps({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": CANARY}}).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "db-conn",
            "namespace": "team-a",
            "uid": "0b6f7c1e-3c5f-4f59-9d2c-8f4d6a1b2c3d",
            "resourceVersion": "4711",
            "labels": {"app": "db"},
            "annotations": {LAST_APPLIED: last_applied, "owner": "team-a"},
            "managedFields": managed_fields(),
        },
        "data": {"password": "Q0FOQVJZLTdmM2E=", "username": CANARY},
        "stringData": {"token": CANARY},
    }


def dumped(value: Any) -> bytes:
    return orjson.dumps(value)


def test_canary_secret_leaves_no_trace_but_keeps_key_names() -> None:
    obj = sanitize(canary_secret())
    parts = object_parts(obj)

    assert CANARY.encode() not in dumped(obj)
    assert CANARY.encode() not in dumped(parts)
    assert b"Q0FOQVJZLTdmM2E=" not in dumped(obj)
    assert obj["dataKeys"] == ["password", "token", "username"]
    assert parts["spec"] == {"type": "Opaque", "dataKeys": ["password", "token", "username"]}
    assert parts["annotations"] == {"owner": "team-a"}
    assert parts["labels"] == {"app": "db"}
    assert "managedFields" not in obj["metadata"]
    assert parts["status"] is None


def test_canary_in_a_configmaps_last_applied_annotation_is_dropped() -> None:
    last_applied = orjson.dumps({"kind": "ConfigMap", "data": {"note": CANARY}}).decode()
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "team-a", "annotations": {LAST_APPLIED: last_applied}},
        "data": {"note": CANARY, "level": "debug"},
        "binaryData": {"blob": "AAEC"},
    }

    sanitized = sanitize(obj)

    assert CANARY.encode() not in dumped(sanitized)
    assert CANARY.encode() not in dumped(object_parts(sanitized))
    assert sanitized["dataKeys"] == ["blob", "level", "note"]
    assert object_parts(sanitized)["annotations"] == {}


def test_data_is_dropped_from_any_kind_not_only_secrets() -> None:
    obj = {
        "apiVersion": "apiextensions.crossplane.io/v1beta1",
        "kind": "EnvironmentConfig",
        "metadata": {"name": "shared"},
        "data": {"apiKey": CANARY},
    }

    sanitized = sanitize(obj)

    assert CANARY.encode() not in dumped(sanitized)
    assert object_parts(sanitized)["spec"] == {"dataKeys": ["apiKey"]}


def test_no_data_keys_when_there_was_no_data() -> None:
    obj = sanitize({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "empty"}})

    assert "dataKeys" not in obj
    assert object_parts(obj)["spec"] is None


def test_secret_manifest_embedded_in_a_provider_kubernetes_object_is_stripped() -> None:
    secret = canary_secret()
    obj = {
        "apiVersion": "kubernetes.crossplane.io/v1alpha2",
        "kind": "Object",
        "metadata": {"name": "db-conn-copy"},
        "spec": {"forProvider": {"manifest": secret}, "providerConfigRef": {"name": "in-cluster"}},
        "status": {"atProvider": {"manifest": canary_secret()}},
    }

    sanitized = sanitize(obj)

    assert CANARY.encode() not in dumped(sanitized)
    assert sanitized["spec"]["forProvider"]["manifest"]["dataKeys"] == ["password", "token", "username"]
    assert sanitized["status"]["atProvider"]["manifest"]["metadata"]["name"] == "db-conn"


def test_claim_keeps_its_connection_secret_name() -> None:
    claim = {
        "apiVersion": "platform.example.org/v1alpha1",
        "kind": "PostgreSQLInstance",
        "metadata": {"name": "orders-db", "namespace": "team-a"},
        "spec": {
            "parameters": {"storageGB": 20},
            "compositionRef": {"name": "xpostgresqlinstances-aws"},
            "writeConnectionSecretToRef": {"name": "orders-db-conn"},
        },
    }

    parts = object_parts(sanitize(claim))

    assert parts["spec"]["writeConnectionSecretToRef"] == {"name": "orders-db-conn"}
    assert parts["spec"]["parameters"] == {"storageGB": 20}


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("x" * 4096, True),
        ("x" * 4097, False),
        ("é" * 2048, True),  # 4096 bytes
        ("é" * 2049, False),  # 2049 characters, 4098 bytes: the limit is in utf-8 bytes
        ("€" * 1400, False),  # 1400 characters, 4200 bytes
    ],
)
def test_long_annotations_become_a_marker_with_their_size(value: str, kept: bool) -> None:
    obj = sanitize({"metadata": {"name": "a", "annotations": {"note": value, "short": "ok"}}})

    annotations = obj["metadata"]["annotations"]
    size = len(value.encode())
    assert annotations["note"] == (value if kept else f"[truncated by devplat: {size} bytes]")
    assert annotations["short"] == "ok"


def test_oversized_spec_becomes_a_marker_and_small_status_stays() -> None:
    spec = {"template": {"payload": "y" * 300_000}}
    spec_bytes = len(orjson.dumps(spec))
    obj = {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "big"}, "spec": spec, "status": {"phase": "Ok"}}

    sanitized = sanitize(obj)

    assert sanitized["spec"] == {TRUNCATED_KEY: True, "bytes": spec_bytes}
    assert sanitized["status"] == {"phase": "Ok"}
    assert sanitized["metadata"] == {"name": "big"}


def test_parts_are_measured_against_the_given_limit() -> None:
    obj = {"metadata": {"name": "n"}, "spec": {"a": "b" * 50}, "status": {"c": "d" * 200}}
    status_bytes = len(orjson.dumps(obj["status"]))

    sanitized = sanitize(obj, max_part_bytes=100)

    assert sanitized["spec"] == {"a": "b" * 50}
    assert sanitized["status"] == {TRUNCATED_KEY: True, "bytes": status_bytes}


def test_object_parts_of_a_deployment() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-1", "controller": True}
    obj = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-5d8f",
            "namespace": "team-a",
            "labels": {"app": "web"},
            "ownerReferences": [owner],
            "finalizers": ["foregroundDeletion"],
            "deletionTimestamp": "2025-01-02T03:04:05Z",
        },
        "spec": {"replicas": 2},
        "status": {"replicas": 2},
    }

    assert object_parts(sanitize(obj)) == {
        "labels": {"app": "web"},
        "annotations": {},
        "owner_references": [owner],
        "finalizers": ["foregroundDeletion"],
        "deletion_timestamp": "2025-01-02T03:04:05Z",
        "spec": {"replicas": 2},
        "status": {"replicas": 2},
    }


def test_object_parts_defaults_for_a_bare_object() -> None:
    assert object_parts({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}) == {
        "labels": {},
        "annotations": {},
        "owner_references": [],
        "finalizers": [],
        "deletion_timestamp": None,
        "spec": None,
        "status": None,
    }


def test_sanitize_works_in_place_and_tolerates_missing_metadata() -> None:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}

    assert sanitize(obj) is obj
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "dataKeys": ["k"]}
