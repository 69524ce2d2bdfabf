"""Causes rendered as apimachinery's `field.Error.ErrorBody()`, and the field paths they name.

Every schema and CRD check reports through these helpers, so upstream's cause types, wording and Go's printing
of the bad value (`%q`/`%v`/`%#v`) live in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

_NIL_FIELD = "<nil>"  # what field.Path renders for the root: kube-openapi's composite errors carry no path


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _GoLiteral(str):
    """A value already rendered the way Go would print it (for values that are Go structs upstream)."""


def _cause(cause_type: str, field: str, message: str) -> dict[str, str]:
    return {"reason": cause_type, "message": message, "field": field or _NIL_FIELD}


def _required(field: str, detail: str = "") -> dict[str, str]:
    return _cause("FieldValueRequired", field, f"Required value: {detail}" if detail else "Required value")


def _forbidden(field: str, detail: str) -> dict[str, str]:
    return _cause("FieldValueForbidden", field, f"Forbidden: {detail}")


def _invalid(field: str, value: Any, detail: str) -> dict[str, str]:
    return _cause("FieldValueInvalid", field, f"Invalid value: {_go_value(value)}: {detail}")


def _type_invalid(field: str, value: Any, detail: str) -> dict[str, str]:
    return _cause("FieldValueTypeInvalid", field, f"Invalid value: {_go_value(value)}: {detail}")


def _type_mismatch(path: str, expected: str, actual: str) -> dict[str, str]:
    return _type_invalid(path, actual, f"{path} in body must be of type {expected}: {_go_quote(actual)}")


def _not_supported(field: str, value: Any, allowed: Iterable[str]) -> dict[str, str]:
    supported = ", ".join(_go_quote(option) for option in allowed)
    detail = f": supported values: {supported}" if supported else ""
    return _cause("FieldValueNotSupported", field, f"Unsupported value: {_go_value(value)}{detail}")


def _duplicate(field: str, value: Any) -> dict[str, str]:
    return _cause("FieldValueDuplicate", field, f"Duplicate value: {_go_value(value)}")


def _composite(message: str) -> dict[str, str]:
    """kube-openapi's anyOf/allOf/oneOf/not errors are not field errors: upstream reports them at `<nil>`."""
    return _invalid("", "", message)


def _go_quote(text: str) -> str:
    """Go's %q for the strings we meet (JSON escaping agrees with it on printable text)."""
    return json.dumps(text, ensure_ascii=False)


def _go_value(value: Any) -> str:
    """How field.Error prints a bad value: %q strings, %v scalars, %#v for maps and slices, null for nil."""
    if isinstance(value, _GoLiteral):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, (dict, list)):
        return _go_syntax(value)
    return _go_number(value)


def _go_number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(number: float) -> str:
    """Go's %v for a float64: shortest digits, exponent form below 1e-4 and from 1e6 (1e+06, 1.5e-07)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    shortest = Decimal(repr(number)).normalize()
    sign, digits, exponent = shortest.as_tuple()
    mantissa = "".join(map(str, digits))
    power = len(mantissa) + int(exponent) - 1
    if -4 <= power < 6:
        return format(shortest, "f")
    fraction = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
    return f"{'-' if sign else ''}{mantissa[0]}{fraction}e{'-' if power < 0 else '+'}{abs(power):02d}"


def _go_syntax(value: Any) -> str:
    """Go's %#v of a decoded JSON value (map[string]interface {}, []interface {}, ...)."""
    if isinstance(value, dict):
        entries = ", ".join(f"{_go_quote(key)}:{_go_syntax(value[key])}" for key in sorted(value))
        return f"map[string]interface {{}}{{{entries}}}"
    if isinstance(value, list):
        return f"[]interface {{}}{{{', '.join(_go_syntax(item) for item in value)}}}"
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return _go_quote(value)
    return _go_number(value)


def _go_json(value: Any) -> str:
    """Go's json.Marshal of an enum value: sorted keys, integral floats without '.0', HTML characters escaped."""

    def go_like(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e21:
            return int(item)
        if isinstance(item, dict):
            return {key: go_like(entry) for key, entry in item.items()}
        if isinstance(item, list):
            return [go_like(entry) for entry in item]
        return item

    text = json.dumps(go_like(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
