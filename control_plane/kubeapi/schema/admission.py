"""`admit`: one walk over an object that prunes, defaults and validates it, then runs its CEL rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from control_plane.kubeapi.errors import invalid
from control_plane.kubeapi.schema.causes import _child
from control_plane.kubeapi.schema.nodes import _compiled, _Node
from control_plane.kubeapi.schema.rules import _check_rules
from control_plane.kubeapi.schema.validation import _check_embedded, _check_list_type, _check_node, _check_tree

_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))


@dataclass(frozen=True)
class Admitted:
    """An object the schema accepts: `object` is a new dict, `unknown_fields` the pruned paths (sorted)."""

    object: dict[str, Any]
    unknown_fields: list[str]


def admit(
    obj: dict[str, Any],
    schema: dict[str, Any],
    *,
    kind: str,
    group: str,
    name: str,
    old: dict[str, Any] | None = None,
) -> Admitted:
    """Default, prune, validate `obj` against a structural openAPIV3Schema, then run its CEL rules; 422 on violations.

    `old` is the live object an update replaces (None on create): transition rules (those using `oldSelf`) run only
    where it has a value at the correlated path. All violations are collected before raising. The input is never
    mutated and shares no containers with the result. A schema without rules never touches CEL.
    """
    admission = _Admission()
    node = _compiled(schema)
    result = admission.root(obj, node)
    if node.has_rules:
        _check_rules(result, old, node, admission.causes)
    if admission.causes:
        raise invalid(kind, name, admission.causes, group)
    return Admitted(object=result, unknown_fields=sorted(admission.unknown))


class _Admission:
    """One object's pass through the pipeline: builds the output and collects causes and pruned paths."""

    __slots__ = ("causes", "record", "unknown")

    def __init__(self) -> None:
        self.causes: list[dict[str, str]] = []
        self.unknown: list[str] = []
        self.record = True  # off while admitting a default value: upstream prunes those without reporting them

    def root(self, obj: dict[str, Any], node: _Node) -> dict[str, Any]:
        """The resource root: apiVersion, kind and metadata are kept whatever the schema says, as upstream."""
        result = self._object(obj, node, "", preserve=False, root=True)
        _check_node(result, node, "", self.causes)
        return result

    def value(self, value: Any, node: _Node | None, path: str, preserve: bool = False) -> Any:
        """Admit one value. `node` None means no schema (additionalProperties: true, items missing).

        `preserve` forces x-kubernetes-preserve-unknown-fields semantics on this level only, which is how upstream
        treats the items of a preserving array.
        """
        if isinstance(value, dict):
            value = self._object(value, node, path, preserve)
        elif isinstance(value, list):
            value = self._array(value, node, path, preserve)
        if node is not None:
            _check_node(value, node, path, self.causes)
            if node.list_type is not None and isinstance(value, list):
                _check_list_type(value, node, path, self.causes)
            if node.embedded and isinstance(value, dict):
                _check_embedded(value, path, self.causes)
        return value

    def _object(
        self, value: dict[str, Any], node: _Node | None, path: str, preserve: bool, root: bool = False
    ) -> dict[str, Any]:
        if node is None:
            if preserve:
                return _copy(value)
            for key in value:
                self._pruned(path, key)
            return {}
        preserve = preserve or node.preserve
        keeps_meta = root or node.embedded
        properties = node.properties
        result: dict[str, Any] = {}
        for key, item in value.items():
            child = properties.get(key)
            meta = keeps_meta and key in _META_FIELDS
            if child is None and not meta:
                if node.has_additional:
                    child = node.additional
                elif preserve:
                    result[key] = _copy(item)
                    continue
                else:
                    self._pruned(path, key)
                    continue
            if item is None and child is not None and not child.nullable:
                if child.has_default:
                    result[key] = self._default(child, _child(path, key))
                continue  # a non-nullable null without a default is dropped, not reported
            if meta:
                result[key] = kept = _copy(item)
                if child is not None and not (root and key == "metadata"):
                    _check_tree(kept, child, _child(path, key), self.causes)
                continue
            result[key] = self.value(item, child, _child(path, key))
        for key, child in node.defaulted:
            if key not in value and not (root and key == "metadata"):
                result[key] = self._default(child, _child(path, key))
        return result

    def _array(self, value: list[Any], node: _Node | None, path: str, preserve: bool) -> list[Any]:
        items = node.items if node is not None else None
        preserve = preserve or (node is not None and node.preserve)
        if items is None:
            if preserve:
                return _copy(value)
            return [self.value(item, None, f"{path}[{index}]") for index, item in enumerate(value)]
        result = []
        for index, item in enumerate(value):
            if item is None and items.has_default and not items.nullable:
                result.append(self._default(items, f"{path}[{index}]"))
            else:
                result.append(self.value(item, items, f"{path}[{index}]", preserve))
        return result

    def _default(self, node: _Node, path: str) -> Any:
        """A copy of `node`'s default, itself pruned and defaulted (unreported, as upstream) and validated."""
        recording, self.record = self.record, False
        try:
            return self.value(node.default, node, path)
        finally:
            self.record = recording

    def _pruned(self, path: str, key: str) -> None:
        if self.record:
            self.unknown.append(_child(path, key))


def _copy(value: Any) -> Any:
    """A copy of a JSON value sharing no containers with it."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
