"""Label and field selectors with the syntax and semantics of k8s.io/apimachinery's `labels.Parse` and `fields`.

Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`, comma-joined (AND).
`!=` and `notin` also match objects that lack the key, as upstream. Field selectors: `metadata.name` and
`metadata.namespace` with `=`, `==`, `!=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from control_plane.kubeapi.errors import ApiError, bad_request

Predicate = Callable[[dict[str, Any]], bool]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SET = re.compile(r"^\s*(?P<key>[^\s!=<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_COMPARE = re.compile(r"^\s*(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s!=<>(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[^\s!=<>(),]+)\s*$")
FIELD_PATHS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside `in (...)` value lists."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(selector):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(selector[start:index])
            start = index + 1
    parts.append(selector[start:])
    return [part for part in parts if part.strip()]


def _invalid(requirement: str, why: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {requirement.strip()!r}: {why}")


def _check_key(key: str, requirement: str) -> str:
    if len(key.split("/")[-1]) > 63 or not _KEY.match(key):
        raise _invalid(
            requirement,
            f"invalid label key {key!r}: a qualified name must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        )
    return key


def _check_value(value: str, requirement: str) -> str:
    if len(value) > 63 or not _VALUE.match(value):
        raise _invalid(
            requirement,
            f"invalid label value {value!r}: must be 63 characters or less, alphanumeric, "
            "'-', '_' or '.', starting and ending with an alphanumeric character",
        )
    return value


def _requirement(text: str) -> Predicate:
    if match := _SET.match(text):
        key = _check_key(match["key"], text)
        values = frozenset(_check_value(v.strip(), text) for v in match["values"].split(","))
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _COMPARE.match(text):
        key, op, value = _check_key(match["key"], text), match["op"], match["value"]
        if op in (">", "<"):
            if not re.fullmatch(r"-?\d+", value):
                raise _invalid(text, f"for 'Gt', 'Lt' operators, the value must be an integer, got {value!r}")
            return _numeric(key, int(value), op)
        _check_value(value, text)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        key = _check_key(match["key"], text)
        if match["neg"]:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise _invalid(text, "expected a key, key=value, key!=value, key in (v1,v2), key notin (v1,v2) or !key")


def _numeric(key: str, bound: int, op: str) -> Predicate:
    def check(labels: dict[str, Any]) -> bool:
        raw = labels.get(key)
        if raw is None or not re.fullmatch(r"-?\d+", raw):
            return False
        return int(raw) > bound if op == ">" else int(raw) < bound

    return check


def label_predicate(selector: str | None) -> Predicate | None:
    """A function over an object's labels, or None when the selector selects everything."""
    if not selector or not selector.strip():
        return None
    checks = [_requirement(part) for part in _split_requirements(selector)]
    return lambda labels: all(check(labels) for check in checks)


def field_predicate(selector: str | None) -> Predicate | None:
    """A function over a whole object, or None when the selector selects everything."""
    if not selector or not selector.strip():
        return None
    checks = []
    for part in selector.split(","):
        match = re.fullmatch(r"\s*([a-zA-Z.]+)\s*(==|=|!=)\s*([^\s,]*)\s*", part)
        if not match:
            raise bad_request(f"invalid field selector: {part!r}: expected field=value or field!=value")
        path, op, value = match.groups()
        if path not in FIELD_PATHS:
            raise bad_request(f'"{path}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        checks.append(_field_check(FIELD_PATHS[path], op, value))
    return lambda obj: all(check(obj) for check in checks)


def _field_check(path: tuple[str, str], op: str, value: str) -> Predicate:
    def check(obj: dict[str, Any]) -> bool:
        actual = obj.get(path[0], {}).get(path[1]) or ""
        return actual != value if op == "!=" else actual == value

    return check


def object_predicate(label_selector: str | None, field_selector: str | None) -> Predicate | None:
    """Both selectors over a whole object; None when nothing is filtered."""
    labels, fields = label_predicate(label_selector), field_predicate(field_selector)
    if labels is None and fields is None:
        return None

    def matches(obj: dict[str, Any]) -> bool:
        if labels is not None and not labels(obj["metadata"].get("labels") or {}):
            return False
        return fields is None or fields(obj)

    return matches
