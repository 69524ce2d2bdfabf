"""The Kubernetes CEL library functions cel-python lacks, bound into every program the compiler builds."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from celpy import celtypes

from control_plane.kubeapi.cel.values import _Optional

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _string_argument(*values: Any) -> None:
    if not all(isinstance(value, str) for value in values):
        raise TypeError("no such overload")


def _lower_ascii(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.translate(_ASCII_LOWER))


def _upper_ascii(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.translate(_ASCII_UPPER))


def _trim(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.strip())


def _replace(text: Any, old: Any, new: Any, limit: Any = -1) -> celtypes.StringType:
    _string_argument(text, old, new)
    return celtypes.StringType(text.replace(old, new, int(limit)))


def _split(text: Any, separator: Any, limit: Any = -1) -> celtypes.ListType:
    _string_argument(text, separator)
    limit = int(limit)
    if limit == 0:
        return celtypes.ListType()
    if separator == "":
        parts = list(text) if limit < 0 else [*text[: limit - 1], text[limit - 1 :]] if text else []
    else:
        parts = text.split(separator, limit - 1 if limit > 0 else -1)
    return celtypes.ListType(celtypes.StringType(part) for part in parts)


def _join(items: Any, separator: Any = "") -> celtypes.StringType:
    _string_argument(*items, separator)
    return celtypes.StringType(separator.join(items))


def _substring(text: Any, start: Any, end: Any = None) -> celtypes.StringType:
    _string_argument(text)
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError(f"index out of range: {int(start) if not 0 <= int(start) <= len(text) else stop}")
    return celtypes.StringType(text[int(start) : stop])


def _index_of(haystack: Any, needle: Any, offset: Any = 0) -> celtypes.IntType:
    if isinstance(haystack, str):
        _string_argument(needle)
        if not 0 <= int(offset) <= len(haystack):
            raise ValueError(f"index out of range: {int(offset)}")
        return celtypes.IntType(haystack.find(needle, int(offset)))
    return celtypes.IntType(next((index for index, item in enumerate(haystack) if item == needle), -1))


def _is_sorted(items: Any) -> celtypes.BoolType:
    return celtypes.BoolType(all(left <= right for left, right in itertools.pairwise(items)))


def _sum(items: Any) -> Any:
    if not items:
        return celtypes.IntType(0)
    return functools.reduce(lambda total, item: total + item, items)


def _max(items: Any) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    return functools.reduce(lambda best, item: item if item > best else best, items)


def _optional(value: Any) -> _Optional:
    if not isinstance(value, _Optional):
        raise TypeError("no such overload")
    return value


def _has_value(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_optional(value).present)


def _optional_value(value: Any) -> Any:
    optional = _optional(value)
    if not optional.present:
        raise ValueError("optional.none() dereference")
    return optional.value


def _or_value(value: Any, default: Any) -> Any:
    optional = _optional(value)
    return optional.value if optional.present else default


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "hasValue": _has_value,
    "indexOf": _index_of,
    "isSorted": _is_sorted,
    "join": _join,
    "lowerAscii": _lower_ascii,
    "max": _max,
    "orValue": _or_value,
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "sum": _sum,
    "trim": _trim,
    "upperAscii": _upper_ascii,
    "value": _optional_value,
}
