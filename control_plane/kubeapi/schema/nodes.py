"""Compiled schema nodes: every keyword of an openAPIV3Schema read once, cached per schema by identity.

Admission walks these rather than raw dicts, so admitting thousands of objects does no dict digging.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from control_plane.kubeapi.schema.causes import _go_json
from control_plane.kubeapi.schema.formats import _FORMAT_CHECKS, _effective_format
from control_plane.kubeapi.schema.patterns import _compile_pattern

if TYPE_CHECKING:
    # Imported where rules exist: loading cel-python and building its parser takes ~0.4 s that processes whose
    # schemas have no x-kubernetes-validations never pay.
    from control_plane.kubeapi import cel


class _Node:
    """One schema node with its keywords read once, so admitting thousands of objects does no dict digging."""

    __slots__ = tuple(
        """
        additional all_of any_of array_checks default defaulted embedded enum enum_labels exclusive_maximum
        exclusive_minimum format format_check has_additional has_default items junctors list_type map_keys
        max_items max_length max_properties maximum min_items min_length min_properties minimum multiple_of
        not_ nullable number_checks object_checks one_of pattern pattern_error pattern_source preserve
        properties required rules has_rules string_checks type_label types unique_items
        """.split()
    )

    def __init__(self, raw: dict[str, Any], root: bool = False) -> None:
        int_or_string = raw.get("x-kubernetes-int-or-string") is True
        declared = raw.get("type") or ""
        self.types: tuple[str, ...] = ("integer", "string") if int_or_string else ((declared,) if declared else ())
        self.type_label = ",".join(self.types)
        self.nullable = raw.get("nullable") is True
        self.format = _effective_format(raw.get("format") or "", self.types)
        self.format_check = _FORMAT_CHECKS.get(self.format.replace("-", ""))

        self.properties = {key: _Node(sub) for key, sub in (raw.get("properties") or {}).items()}
        additional = raw.get("additionalProperties")
        self.has_additional = additional is True or isinstance(additional, dict)
        self.additional = _Node(additional) if isinstance(additional, dict) else None
        items = raw.get("items")
        self.items = _Node(items) if isinstance(items, dict) else None
        self.preserve = raw.get("x-kubernetes-preserve-unknown-fields") is True
        self.embedded = raw.get("x-kubernetes-embedded-resource") is True

        self.default = raw.get("default")
        self.has_default = self.default is not None  # upstream reads `default: null` as no default
        self.defaulted = tuple((key, sub) for key, sub in self.properties.items() if sub.has_default)
        self.required = tuple(raw.get("required") or ())
        enum = raw.get("enum")
        self.enum = list(enum) if enum else None
        self.enum_labels = [value if isinstance(value, str) else _go_json(value) for value in enum or ()]

        self.max_length = raw.get("maxLength")
        self.min_length = raw.get("minLength")
        self.pattern_source = raw.get("pattern") or ""
        self.pattern, self.pattern_error = _compile_pattern(self.pattern_source)
        self.string_checks = (
            self.max_length is not None
            or self.min_length is not None
            or self.pattern is not None
            or self.pattern_error is not None
            or self.format_check is not None
        )

        self.minimum = raw.get("minimum")
        self.maximum = raw.get("maximum")
        self.exclusive_minimum = raw.get("exclusiveMinimum") is True
        self.exclusive_maximum = raw.get("exclusiveMaximum") is True
        self.multiple_of = raw.get("multipleOf")
        self.number_checks = self.minimum is not None or self.maximum is not None or self.multiple_of is not None

        self.min_items = raw.get("minItems")
        self.max_items = raw.get("maxItems")
        self.unique_items = raw.get("uniqueItems") is True
        self.array_checks = self.min_items is not None or self.max_items is not None or self.unique_items

        self.min_properties = raw.get("minProperties")
        self.max_properties = raw.get("maxProperties")
        self.object_checks = bool(self.required) or self.min_properties is not None or self.max_properties is not None

        self.all_of = tuple(_Node(sub) for sub in raw.get("allOf") or ())
        self.any_of = tuple(_Node(sub) for sub in raw.get("anyOf") or ())
        self.one_of = tuple(_Node(sub) for sub in raw.get("oneOf") or ())
        negated = raw.get("not")
        self.not_ = _Node(negated) if isinstance(negated, dict) else None
        self.junctors = bool(self.all_of or self.any_of or self.one_of) or self.not_ is not None

        self.list_type = raw.get("x-kubernetes-list-type")
        self.map_keys = tuple(raw.get("x-kubernetes-list-map-keys") or ())

        entries = raw.get("x-kubernetes-validations")
        self.rules: tuple[cel.Rule, ...] = ()
        if entries:
            from control_plane.kubeapi import cel

            self.rules = cel.compile_rules(entries, self, root or self.embedded)
        children = (*self.properties.values(), self.additional, self.items)
        self.has_rules: bool = bool(self.rules) or any(child is not None and child.has_rules for child in children)


_CACHE_SIZE = 256
_compiled_cache: OrderedDict[int, tuple[dict[str, Any], _Node]] = OrderedDict()
_compiled_lock = threading.Lock()


def _compiled(schema: dict[str, Any]) -> _Node:
    """The compiled form of `schema`, kept for the most recently used schemas (keyed by identity, held alive)."""
    key = id(schema)
    with _compiled_lock:
        hit = _compiled_cache.get(key)
        if hit is not None and hit[0] is schema:
            _compiled_cache.move_to_end(key)
            return hit[1]
    node = _Node(schema, root=True)
    with _compiled_lock:
        _compiled_cache[key] = (schema, node)
        _compiled_cache.move_to_end(key)
        while len(_compiled_cache) > _CACHE_SIZE:
            _compiled_cache.popitem(last=False)
    return node
