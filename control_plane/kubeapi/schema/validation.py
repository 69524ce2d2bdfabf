"""Validation of a value against a compiled node, as kube-openapi's SchemaValidator does it.

Also the `x-kubernetes-list-type` set/map invariants and the `x-kubernetes-embedded-resource` TypeMeta rules,
and the JSON equality and canonical keys they need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from control_plane.kubeapi.schema.causes import (
    _cause,
    _child,
    _composite,
    _duplicate,
    _go_float,
    _go_number,
    _go_quote,
    _invalid,
    _not_supported,
    _required,
    _type_invalid,
    _type_mismatch,
)
from control_plane.kubeapi.schema.names import _dns1035_label
from control_plane.kubeapi.schema.nodes import _Node

_MAX_JSON_INTEGER = float(1 << 53)


_JSON_TYPES: dict[type, tuple[str, str]] = {
    str: ("string", ""),
    bool: ("boolean", ""),
    int: ("integer", "int64"),
    float: ("number", "float64"),
    dict: ("object", ""),
    list: ("array", ""),
}


def _json_type(value: Any) -> tuple[str, str]:
    """JSON type name and the Go format kube-openapi infers for a decoded value."""
    known = _JSON_TYPES.get(type(value))
    if known is not None:
        return known
    for python_type, answer in _JSON_TYPES.items():
        if isinstance(value, python_type):
            return answer
    return "", ""


def _check_node(value: Any, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    """This node's own rules, children excluded; the order of kube-openapi's validators."""
    if value is None:
        if node.types and not node.nullable:
            causes.append(_type_mismatch(path, node.type_label, "null"))
        if node.enum is not None:
            causes.append(_not_supported(path, None, node.enum_labels))
        return
    if node.format:
        _check_type(value, node, path, causes)
    elif node.types:
        known = _JSON_TYPES.get(type(value))
        if known is None or known[0] not in node.types:  # the common case, a plain match, skips the full check
            _check_type(value, node, path, causes)
    if node.junctors:
        _check_junctors(value, node, path, causes)
    if isinstance(value, str):
        if node.string_checks:
            _check_string(value, node, path, causes)
    elif isinstance(value, list):
        if node.array_checks:
            _check_array(value, node, path, causes)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if node.number_checks:
            _check_number(value, node, path, causes)
    if node.enum is not None and not any(_json_equal(value, allowed) for allowed in node.enum):
        causes.append(_not_supported(path, value, node.enum_labels))
    if node.object_checks and isinstance(value, dict):
        _check_object(value, node, path, causes)


def _check_tree(value: Any, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    """`_check_node` plus every child the node declares: validation of a value nothing else walks."""
    _check_node(value, node, path, causes)
    if isinstance(value, dict):
        for key, item in value.items():
            child = node.properties.get(key, node.additional)
            if child is not None:
                _check_tree(item, child, _child(path, key), causes)
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            _check_tree(item, node.items, f"{path}[{index}]", causes)


def _check_type(value: Any, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    json_type, go_format = _json_type(value)
    types = node.types
    float_is_int = json_type == "number" and "integer" in types and _is_json_integer(value)
    int_is_float = json_type == "integer" and "number" in types
    expected_format = node.format
    if expected_format:
        if json_type not in ("string", "array"):
            if not (json_type in types or go_format == expected_format or float_is_int or int_is_float):
                causes.append(_type_mismatch(path, expected_format, go_format))
                return
        elif "number" not in types and "integer" not in types:
            return
    if types and not (json_type in types or float_is_int or int_is_float):
        causes.append(_type_mismatch(path, node.type_label, json_type))


def _check_string(value: str, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    if node.max_length is not None and len(value) > node.max_length:
        causes.append(_cause("FieldValueTooLong", path, "Too long: value is too long"))
    elif node.min_length is not None and len(value) < node.min_length:
        causes.append(_invalid(path, value, f"{path} in body should be at least {node.min_length} chars long"))
    elif node.pattern_error is not None:
        detail = f"{node.pattern_source}, but pattern is invalid: error parsing regexp: {node.pattern_error}"
        causes.append(_invalid(path, value, f"{path} in body should match '{detail}'"))
    elif node.pattern is not None and node.pattern.search(value) is None:
        causes.append(_invalid(path, value, f"{path} in body should match '{node.pattern_source}'"))
    if node.format_check is not None and not node.format_check(value):
        causes.append(_type_invalid(path, value, f"{path} in body must be of type {node.format}: {_go_quote(value)}"))


def _check_number(value: float, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    """Integers meet the bounds truncated to integers, other numbers meet them as floats: kube-openapi's native-type
    checks, which also decide how the bound is printed (1000000 against an integer, 1e+06 against a float)."""
    integral = isinstance(value, int)
    if node.multiple_of is not None:
        factor = node.multiple_of
        if factor < 0:
            detail = f"factor MultipleOf declared for {path} must be positive: {_go_number(factor)}"
            causes.append(_invalid(path, factor, detail))
        elif integral and int(factor) != 0:
            if value % int(factor):
                causes.append(_invalid(path, value, f"{path} in body should be a multiple of {int(factor)}"))
        elif factor and not _is_json_integer(value / factor if factor >= 1 else 1 / factor * value):
            causes.append(_invalid(path, value, f"{path} in body should be a multiple of {_go_float(factor)}"))
    if node.minimum is not None:
        bound = int(node.minimum) if integral else float(node.minimum)
        if value <= bound if node.exclusive_minimum else value < bound:
            relation = "greater than" if node.exclusive_minimum else "greater than or equal to"
            causes.append(_invalid(path, value, f"{path} in body should be {relation} {_go_number(bound)}"))
    if node.maximum is not None:
        bound = int(node.maximum) if integral else float(node.maximum)
        if value >= bound if node.exclusive_maximum else value > bound:
            relation = "less than" if node.exclusive_maximum else "less than or equal to"
            causes.append(_invalid(path, value, f"{path} in body should be {relation} {_go_number(bound)}"))


def _check_array(value: list[Any], node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    size = len(value)
    if node.min_items is not None and size < node.min_items:
        causes.append(_invalid(path, size, f"{path} in body should have at least {node.min_items} items"))
    if node.max_items is not None and size > node.max_items:
        causes.append(_cause("FieldValueTooMany", path, f"Too many: {size}: has too many items"))
    if node.unique_items and next(_repeats(_canonical(item) for item in value), None) is not None:
        causes.append(_invalid(path, "", f"{path} in body shouldn't contain duplicates"))


def _check_object(value: dict[str, Any], node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    size = len(value)
    if node.min_properties is not None and size < node.min_properties:
        causes.append(_invalid(path, size, f"{path} in body should have at least {node.min_properties} properties"))
    if node.max_properties is not None and size > node.max_properties:
        causes.append(_cause("FieldValueTooMany", path, f"Too many: must have at most {node.max_properties} items"))
    for key in node.required:
        if key not in value:
            causes.append(_required(_child(path, key)))


def _check_junctors(value: Any, node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    """allOf/anyOf/oneOf/not: validation only. Their summary errors carry no field, as upstream's do."""
    name = _go_quote(path)
    if node.any_of:
        first_failure: list[dict[str, str]] | None = None
        for branch in node.any_of:
            failures = _failures(value, branch, path)
            if not failures:
                break
            first_failure = first_failure or failures
        else:
            causes.append(_composite(f"{name} must validate at least one schema (anyOf)"))
            causes.extend(first_failure or ())
    if node.one_of:
        valid = 0
        first_failure = None
        for branch in node.one_of:
            failures = _failures(value, branch, path)
            if not failures:
                valid += 1
            elif first_failure is None:
                first_failure = failures
        if valid == 0:
            causes.append(_composite(f"{name} must validate one and only one schema (oneOf). Found none valid"))
            causes.extend(first_failure or ())
        elif valid > 1:
            detail = f"Found {valid} valid alternatives"
            causes.append(_composite(f"{name} must validate one and only one schema (oneOf). {detail}"))
    if node.all_of:
        valid = 0
        for branch in node.all_of:
            failures = _failures(value, branch, path)
            valid += not failures
            causes.extend(failures)
        if valid != len(node.all_of):
            suffix = ". None validated" if valid == 0 else ""
            causes.append(_composite(f"{name} must validate all the schemas (allOf){suffix}"))
    if node.not_ is not None and not _failures(value, node.not_, path):
        causes.append(_composite(f"{name} must not validate the schema (not)"))


def _failures(value: Any, node: _Node, path: str) -> list[dict[str, str]]:
    failures: list[dict[str, str]] = []
    _check_tree(value, node, path, failures)
    return failures


def _check_list_type(value: list[Any], node: _Node, path: str, causes: list[dict[str, str]]) -> None:
    """x-kubernetes-list-type set/map uniqueness, reported at the first repeat of each value or key."""
    if node.list_type == "set":
        for index in _repeats(_canonical(item) for item in value):
            causes.append(_duplicate(f"{path}[{index}]", value[index]))
        return
    if node.list_type != "map":
        return
    for index, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            causes.append(_invalid(f"{path}[{index}]", item, "must be an object for an array of list-type map"))
            return
    keys = [{key: item[key] for key in node.map_keys if key in item} if item else {} for item in value]
    for index in _repeats(_canonical(key) for key in keys):
        causes.append(_duplicate(f"{path}[{index}]", keys[index]))


def _check_embedded(value: dict[str, Any], path: str, causes: list[dict[str, str]]) -> None:
    """An x-kubernetes-embedded-resource needs a string apiVersion and kind; metadata, if any, an object."""
    api_version_path, kind_path = _child(path, "apiVersion"), _child(path, "kind")
    if "apiVersion" not in value:
        causes.append(_required(api_version_path))
    else:
        api_version = value["apiVersion"]
        if not isinstance(api_version, str):
            causes.append(_invalid(api_version_path, api_version, "must be a string"))
        elif not api_version:
            causes.append(_required(api_version_path))
        elif api_version.count("/") > 1:
            causes.append(_invalid(api_version_path, api_version, f"unexpected GroupVersion string: {api_version}"))
    if "kind" not in value:
        causes.append(_required(kind_path))
    else:
        kind = value["kind"]
        if not isinstance(kind, str):
            causes.append(_invalid(kind_path, kind, "must be a string"))
        elif not kind:
            causes.append(_required(kind_path))
        elif errors := _dns1035_label(kind.lower()):
            detail = "may have mixed case, but should otherwise match: " + ",".join(errors)
            causes.append(_invalid(kind_path, kind, detail))
    metadata = value.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        go_kind = {"string": "string", "array": "array", "boolean": "bool"}.get(_json_type(metadata)[0], "number")
        detail = f"json: cannot unmarshal {go_kind} into Go value of type v1.ObjectMeta"
        causes.append(_invalid(_child(path, "metadata"), metadata, detail))


def _repeats(keys: Iterable[Any]) -> Iterator[int]:
    """Index of the second occurrence of every key seen more than once."""
    seen: dict[Any, int] = {}
    for index, key in enumerate(keys):
        count = seen.get(key, 0)
        if count == 1:
            yield index
        seen[key] = count + 1


def _canonical(value: Any) -> str:
    """Equality key that keeps JSON types apart (1, 1.0, "1" and true all differ, as in Go)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json_equal(left: Any, right: Any) -> bool:
    """Enum equality: numbers compare by value whatever their Python type; booleans are not numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(_json_equal(item, right[key]) for key, item in left.items())
        )
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(_json_equal, left, right))
    return bool(left == right)


def _is_json_integer(number: float) -> bool:
    """go-openapi's IsFloat64AJSONInteger: integral (within 1e-9) and exactly representable."""
    if not math.isfinite(number) or abs(number) > _MAX_JSON_INTEGER:
        return False
    return abs(number - round(number)) < 1e-9
