"""Just enough Kubernetes protobuf to accept what `kubectl create namespace|configmap|secret|serviceaccount` sends.

Those kubectl generators encode their request in protobuf (`application/vnd.kubernetes.protobuf`: the `k8s\\0`
magic, then a `runtime.Unknown` envelope holding the type and the object's bytes), and client-go does not fall back
to JSON. The field numbers below are those of k8s.io/api's generated.proto. Any other kind gets 415 with advice to
send JSON; responses are always JSON, which clients accept whatever they asked for.
"""

from __future__ import annotations

import base64
from typing import Any

from control_plane.kubeapi.errors import ApiError, bad_request, unsupported_media_type

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
Schema = dict[int, tuple[str, Any]]

OWNER_REFERENCE: Schema = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    11: ("labels", ("map", "string")),
    12: ("annotations", ("map", "string")),
    13: ("ownerReferences", ("repeated", OWNER_REFERENCE)),
    14: ("finalizers", ("repeated", "string")),
}
OBJECT_REFERENCE: Schema = {
    1: ("kind", "string"),
    2: ("namespace", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
}
KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("finalizers", ("repeated", "string"))}),
    },
    ("v1", "ConfigMap"): {
        1: ("metadata", OBJECT_META),
        2: ("data", ("map", "string")),
        3: ("binaryData", ("map", "bytes")),
        4: ("immutable", "bool"),
    },
    ("v1", "Secret"): {
        1: ("metadata", OBJECT_META),
        2: ("data", ("map", "bytes")),
        3: ("type", "string"),
        4: ("stringData", ("map", "string")),
        5: ("immutable", "bool"),
    },
    ("v1", "ServiceAccount"): {
        1: ("metadata", OBJECT_META),
        2: ("secrets", ("repeated", OBJECT_REFERENCE)),
        3: ("imagePullSecrets", ("repeated", {1: ("name", "string")})),
        4: ("automountServiceAccountToken", "bool"),
    },
}


def _varint(data: bytes, index: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if index >= len(data):
            raise ValueError("truncated varint")
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: varints as ints, length-delimited fields as bytes."""
    found: list[tuple[int, int | bytes]] = []
    index = 0
    while index < len(data):
        key, index = _varint(data, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, index = _varint(data, index)
            found.append((number, value))
        elif wire == 2:
            length, index = _varint(data, index)
            if index + length > len(data):
                raise ValueError("truncated field")
            found.append((number, data[index : index + length]))
            index += length
        elif wire in (1, 5):
            index += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return found


def _scalar(kind: str, raw: int | bytes) -> Any:
    if kind == "bool":
        return bool(raw)
    assert isinstance(raw, bytes)  # noqa: S101 - the wire type of strings and bytes
    return raw.decode() if kind == "string" else base64.b64encode(raw).decode()


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    """The JSON form of one message; empty strings, false and zero are left out, as Go's omitempty does."""
    result: dict[str, Any] = {}
    for number, raw in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = dict(_fields(raw)) if isinstance(raw, bytes) else {}
            key, value = entry.get(1, b""), entry.get(2, b"")
            result.setdefault(name, {})[_scalar("string", key)] = _scalar(kind[1], value)
        elif isinstance(kind, tuple) and kind[0] == "repeated":
            item = kind[1]
            result.setdefault(name, []).append(
                _message(raw, item) if isinstance(item, dict) and isinstance(raw, bytes) else _scalar(item, raw)
            )
        elif isinstance(kind, dict) and isinstance(raw, bytes):
            result[name] = _message(raw, kind)
        else:
            value = _scalar(kind, raw)
            if value not in ("", 0, False):
                result[name] = value
    return result


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as the JSON object it stands for; 415 for kinds the sandbox cannot decode."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body does not start with the Kubernetes magic number")
    try:
        envelope = dict(_fields(body[len(MAGIC) :]))
        header = envelope.get(1)
        type_meta = dict(_fields(header)) if isinstance(header, bytes) else {}
        api_version = _scalar("string", type_meta.get(1, b""))
        kind = _scalar("string", type_meta.get(2, b""))
        schema = KINDS.get((api_version, kind))
        if schema is None:
            raise unsupported_media_type(
                f"the sandbox decodes protobuf only for {', '.join(k for _, k in KINDS)}; send {kind or 'this'} "
                "as application/json (with kubectl: `kubectl apply -f` or `kubectl create -f`)"
            )
        raw = envelope.get(2, b"")
        obj = _message(raw if isinstance(raw, bytes) else b"", schema)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"the protobuf body could not be decoded: {error}") from None
    except ApiError:
        raise
    obj.setdefault("metadata", {})
    return {"apiVersion": api_version, "kind": kind, **obj}
