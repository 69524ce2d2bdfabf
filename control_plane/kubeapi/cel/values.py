"""Decoded JSON as CEL values (apiserver's `UnstructuredToVal`), and cel-python's errors in cel-go's words."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

from control_plane.kubeapi.cel.declarations import SchemaNode, _fields, escape
from devplat.core.cel import describe, message


def to_value(value: Any, node: SchemaNode, resource_root: bool = False) -> Any:
    """UnstructuredToVal: a decoded JSON value as the CEL value its schema node declares."""
    if value is None:
        return None
    types = node.types
    if len(types) == 2:  # x-kubernetes-int-or-string
        return celtypes.StringType(value) if isinstance(value, str) else celtypes.IntType(value)
    kind = types[0] if types else ""
    if kind == "object" and isinstance(value, dict):
        return _object(value, node, resource_root or node.embedded)
    if kind == "array" and isinstance(value, list):
        return _list(value, node)
    if kind == "string" and isinstance(value, str):
        return _string(value, node.format)
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return celtypes.IntType(int(value))
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return celtypes.DoubleType(float(value))
    if kind == "boolean" and isinstance(value, bool):
        return celtypes.BoolType(value)
    if not kind and node.preserve:
        return _Opaque(value)
    return CELEvalError(f"invalid data, expected {kind or 'a typed value'}, got {type(value).__name__}")


def _object(value: dict[str, Any], node: SchemaNode, resource_root: bool) -> celtypes.MapType:
    additional = node.additional
    if additional is not None and not node.properties:
        return celtypes.MapType({celtypes.StringType(key): to_value(item, additional) for key, item in value.items()})
    fields = _fields(node, resource_root) if node.properties or resource_root else {}
    visible: dict[Any, Any] = {}
    hidden: dict[str, Any] = {}
    for key, item in value.items():
        escaped = escape(key) or ""
        child = fields.get(escaped)
        if child is None or item is None:
            hidden[key] = item  # unknown or null: not a field CEL sees, but part of equality
        else:
            visible[celtypes.StringType(escaped)] = to_value(item, child, child.embedded)
    return _Object(visible, hidden)


def _list(value: list[Any], node: SchemaNode) -> celtypes.ListType:
    items = node.items
    converted: list[Any] = [
        to_value(item, items, items.embedded) if items is not None else _Opaque(item) for item in value
    ]
    if node.list_type == "set":
        return _SetList(converted)
    if node.list_type == "map":
        return _MapList(converted, tuple(escape(key) or key for key in node.map_keys))
    return celtypes.ListType(converted)


def _string(value: str, schema_format: str) -> Any:
    try:
        if schema_format in ("date", "date-time"):
            return celtypes.TimestampType(value)
        if schema_format == "duration":
            return celtypes.DurationType(value)
        if schema_format == "byte":
            return celtypes.BytesType(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as error:
        return CELEvalError(f"Invalid {schema_format} formatted string {value}: {error}")
    return celtypes.StringType(value)


def _same_json(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


class _Object(celtypes.MapType):
    """An object's visible fields; the unknown and null ones still count for equality, as upstream's DeepEqual."""

    def __init__(self, visible: dict[Any, Any], hidden: dict[str, Any]) -> None:
        super().__init__(visible)
        self.hidden = hidden

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, _Object) and not _same_json(self.hidden, other.hidden):
            return False
        return super().__eq__(other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _SetList(celtypes.ListType):
    """x-kubernetes-list-type: set; equality ignores order."""

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, list):
            return super().__eq__(other)
        return len(self) == len(other) and all(item in self for item in other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _MapList(celtypes.ListType):
    """x-kubernetes-list-type: map; equality matches items by their map keys, ignoring order."""

    def __init__(self, items: list[Any], keys: tuple[str, ...]) -> None:
        super().__init__(items)
        self.keys = keys

    def key(self, item: Any) -> tuple[Any, ...]:
        return tuple(item.get(key) for key in self.keys) if isinstance(item, dict) else (item,)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, list):
            return super().__eq__(other)
        if len(self) != len(other):
            return False
        mine = {self.key(item): item for item in self}
        return all(self.key(item) in mine and mine[self.key(item)] == item for item in other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _Opaque:
    """Data the schema leaves untyped (x-kubernetes-preserve-unknown-fields): only equality is defined."""

    __slots__ = ("raw",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Opaque) and _same_json(self.raw, other.raw)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


class _Optional:
    """`oldSelf` under optionalOldSelf: optional.of(old) on update, optional.none() on create."""

    __slots__ = ("present", "value")

    def __init__(self, value: Any, *, present: bool) -> None:
        self.value = value
        self.present = present


def _describe(error: CELEvalError) -> str:
    """cel-python's error as cel-go words it (`no such key: x`, `index out of bounds`, `no such overload`)."""
    known = describe(error)
    if known is not None:
        return known
    return "no such overload" if "overload" in message(error) else message(error)
