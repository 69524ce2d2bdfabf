"""What CEL sees of a schema: the variables a rule gets, the node protocol, CEL names and each node's kind and fields.

The bottom of the package: the checker (at compile time) and the value conversion (at evaluation) both read
schemas through these, so they agree on which fields exist and under which escaped names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from devplat.core.cel import Static

SELF = "self"
OLD_SELF = "oldSelf"


class SchemaNode(Protocol):
    """What CEL needs of a compiled schema node (`schema/nodes.py`'s `_Node`), hashed by identity."""

    def __hash__(self) -> int: ...

    @property
    def types(self) -> tuple[str, ...]: ...
    @property
    def format(self) -> str: ...
    @property
    def properties(self) -> Mapping[str, SchemaNode]: ...
    @property
    def additional(self) -> SchemaNode | None: ...
    @property
    def items(self) -> SchemaNode | None: ...
    @property
    def preserve(self) -> bool: ...
    @property
    def embedded(self) -> bool: ...
    @property
    def list_type(self) -> str | None: ...
    @property
    def map_keys(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class _Static(Static):
    """What the checker knows of data: its CEL kind and its schema node, so fields and elements can be followed."""

    node: SchemaNode | None = None
    resource_root: bool = False


_DYN = _Static("dyn")
_BOOL = _Static("bool")
_SCALAR_KINDS = {"boolean": "bool", "integer": "int", "number": "double"}
_STRING_FORMAT_KINDS = {"byte": "bytes", "duration": "duration", "date": "timestamp", "date-time": "timestamp"}


def _static(node: SchemaNode, resource_root: bool) -> _Static | None:
    """SchemaDeclType: the CEL kind of a schema node, or None when CEL cannot see it."""
    if len(node.types) == 2:  # x-kubernetes-int-or-string
        return _DYN
    kind = node.types[0] if node.types else ""
    if kind == "object":
        if node.additional is not None and not node.properties:
            return _Static("map", node) if _static(node.additional, node.additional.embedded) else None
        return _Static("map", node, resource_root or node.embedded)
    if kind == "array":
        items = node.items
        return _Static("list", node) if items is not None and _static(items, items.embedded) else None
    if kind == "string":
        return _Static(_STRING_FORMAT_KINDS.get(node.format, "string"))
    if kind in _SCALAR_KINDS:
        return _Static(_SCALAR_KINDS[kind])
    return None


def _element(static: Static) -> _Static:
    """The static of `list[i]` or `map[key]` (and of a comprehension's variable over a list)."""
    node = static.node if isinstance(static, _Static) else None
    if node is None:
        return _DYN
    child = node.items if static.kind == "list" else node.additional if not node.properties else None
    return (_static(child, child.embedded) or _DYN) if child is not None else _DYN


_RESERVED = frozenset(
    """
    true false null in as break const continue else for function if import let loop package namespace return var void
    while
    """.split()
)
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_IDENTIFIER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")


@functools.lru_cache(maxsize=8192)
def escape(name: str) -> str | None:
    """apiserver's cel.Escape: the CEL name of a property, or None when CEL cannot name it."""
    if not name or name[0].isdigit() or not set(name) <= _IDENTIFIER_CHARACTERS:
        return None
    if name in _RESERVED:
        return f"__{name}__"
    out: list[str] = []
    index = 0
    while index < len(name):
        if name.startswith("__", index):
            out.append(_ESCAPES["__"])
            index += 2
        else:
            out.append(_ESCAPES.get(name[index], name[index]))
            index += 1
    return "".join(out)


@dataclass(frozen=True, eq=False)
class _FixedNode:
    """A schema node the server adds: the type and object meta every resource root exposes to CEL."""

    types: tuple[str, ...]
    properties: Mapping[str, SchemaNode] = field(default_factory=dict)
    format: str = ""
    additional: SchemaNode | None = None
    items: SchemaNode | None = None
    preserve: bool = False
    embedded: bool = False
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()


_STRING_NODE = _FixedNode(("string",))
_OBJECT_META = _FixedNode(("object",), {"name": _STRING_NODE, "generateName": _STRING_NODE})
_TYPE_AND_OBJECT_META: dict[str, SchemaNode] = {
    "apiVersion": _STRING_NODE,
    "kind": _STRING_NODE,
    "metadata": _OBJECT_META,
}


@functools.lru_cache(maxsize=4096)
def _fields(node: SchemaNode, resource_root: bool) -> dict[str, SchemaNode]:
    """An object's CEL fields by escaped name (WithTypeAndObjectMeta at resource roots); do not mutate."""
    declared: Mapping[str, SchemaNode] = node.properties
    if resource_root:
        declared = {**declared, **_TYPE_AND_OBJECT_META}
    fields: dict[str, SchemaNode] = {}
    for name, child in declared.items():
        escaped = escape(name)
        if escaped is not None and _static(child, child.embedded) is not None:
            fields[escaped] = child
    return fields
