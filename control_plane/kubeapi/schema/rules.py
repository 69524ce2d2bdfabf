"""An admitted object's `x-kubernetes-validations` (CEL) rules, run after the schema as upstream runs them.

Walks only the nodes that carry rules, correlating old values for transition rules; cel-python is imported
only here and only when a node has rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from control_plane.kubeapi.schema.causes import _child, _duplicate, _forbidden, _GoLiteral, _invalid, _required
from control_plane.kubeapi.schema.nodes import _Node
from control_plane.kubeapi.schema.validation import _canonical

if TYPE_CHECKING:
    from control_plane.kubeapi import cel


# Cause types after which upstream does not run the rules: the object lacks the shape they were written for.
_BLOCKING = frozenset(
    ("FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany", "FieldValueTypeInvalid")
)
_RULES_SKIPPED = (
    "some validation rules were not checked because the object was invalid; correct the existing errors to complete "
    "validation"
)


def _check_rules(obj: dict[str, Any], old: dict[str, Any] | None, node: _Node, causes: list[dict[str, str]]) -> None:
    """Every rule of the admitted object, unless its schema causes already block them (upstream's hasBlockingErr)."""
    if any(cause["reason"] in _BLOCKING for cause in causes):
        causes.append(_invalid("", _GoLiteral('"null"'), _RULES_SKIPPED))
        return
    _rules_at(obj, old, node, "", causes, resource_root=True)


def _rules_at(
    value: Any, old: Any, node: _Node, path: str, causes: list[dict[str, str]], resource_root: bool = False
) -> None:
    """A node's rules on its value, then its children's: objects correlate old values by key, map lists by their
    map keys; items of other lists have no old value, so their transition rules do not run (as upstream)."""
    if value is None:
        return
    if node.rules:
        from control_plane.kubeapi import cel

        for violation in cel.violations(node.rules, value, old, node, resource_root):
            causes.append(_rule_cause(path, node, violation))
    if isinstance(value, dict):
        olds = old if isinstance(old, dict) else {}
        for key, item in value.items():
            child, child_path = node.properties.get(key), _child(path, key)
            if child is None and node.additional is not None:
                child, child_path = node.additional, f"{path}[{key}]"
            if child is not None and child.has_rules:
                _rules_at(item, olds.get(key), child, child_path, causes)
    elif isinstance(value, list) and node.items is not None and node.items.has_rules:
        olds_by_key = _items_by_map_key(old, node) if node.list_type == "map" and isinstance(old, list) else {}
        for index, item in enumerate(value):
            previous = olds_by_key.get(_map_key(item, node.map_keys)) if olds_by_key else None
            _rules_at(item, previous, node.items, f"{path}[{index}]", causes)


def _items_by_map_key(items: list[Any], node: _Node) -> dict[str, Any]:
    return {_map_key(item, node.map_keys): item for item in items if isinstance(item, dict)}


def _map_key(item: Any, keys: tuple[str, ...]) -> str:
    return _canonical([item.get(key) for key in keys] if isinstance(item, dict) else item)


def _rule_cause(path: str, node: _Node, violation: cel.Violation) -> dict[str, str]:
    """fieldErrorForReason: the bad value shown is the node's schema type ("object"), as upstream reports it."""
    field = _child(path, violation.field_path) if violation.field_path else path
    schema_type = node.types[0] if len(node.types) == 1 else ""
    if violation.reason == "FieldValueForbidden":
        return _forbidden(field, violation.detail)
    if violation.reason == "FieldValueRequired":
        return _required(field, violation.detail)
    if violation.reason == "FieldValueDuplicate":
        return _duplicate(field, schema_type)
    return _invalid(field, schema_type, violation.detail)
