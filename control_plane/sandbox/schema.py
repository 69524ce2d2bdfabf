"""Custom resources against their CRD's structural schema, as kube-apiserver's apiextensions handling does it.

`admit` runs the request pipeline of a create or update: prune fields the schema does not know (recording their
paths for fieldValidation=Strict/Warn), drop non-nullable nulls that have no default, apply defaults, then validate
the result against the schema, the `x-kubernetes-embedded-resource` TypeMeta rules and the `x-kubernetes-list-type`
map/set invariants, and last evaluate the `x-kubernetes-validations` CEL rules (`cel.py`), transition rules against
the old object on updates. Causes carry upstream's cause types, field paths and messages: kube-openapi's wording
("spec.replicas in body must be of type integer: \"string\"") rendered the way apimachinery's `field.Error` does
(Go `%q`/`%v`/`%#v` for the bad value). `crd_problems` reports what makes a CustomResourceDefinition itself invalid,
rules that do not compile included.

Sources: apiextensions-apiserver `schema/pruning`, `schema/defaulting` (with `PruneNonNullableNullsWithoutDefaults`),
`schema/listtype`, `schema/objectmeta`, `apiserver/validation`, `schema/validation.go` (structural invariants),
`schema/cel/validation.go`, `registry/customresource/strategy.go` (hasBlockingErr), `apis/apiextensions/validation`;
kube-openapi `validation/validate` and `validation/errors`.

Deliberately not done here:
- CEL rules run without cost budgets; what the CEL engine leaves out is listed in `cel.py`.
- Root `metadata` is the server's business: it is copied untouched, never pruned, defaulted or validated here.
- Embedded resources' `metadata` is not coerced or validated as an ObjectMeta; only apiVersion and kind are checked.
- Updates validate like creates (no CRDValidationRatcheting, for the schema or the rules: an unchanged invalid value
  is an error where upstream only warns); the old object serves the transition rules only.
- String formats: date-time, date, uuid/uuid3/uuid4/uuid5, ipv4, ipv6, cidr and byte are checked; the other formats
  upstream supports are accepted unchecked, and unsupported formats are ignored, as upstream strips them.
  `int32`/`int64` only shape type errors: kube-openapi never range-checks them, so neither do we.
- Patterns are run with Python's `re` (ASCII classes, `$` only at the very end, as in Go's RE2); a pattern using
  Go-only syntax Python cannot compile (`\\p{L}`, ...) is not enforced.
- Where upstream keeps "the best failing branch" of an anyOf/oneOf, we keep the first failing branch.

Compiled schemas are cached by identity, so a schema dict must not be mutated after it has been used.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from control_plane.sandbox.errors import invalid

if TYPE_CHECKING:
    # Imported where rules exist: loading cel-python and building its parser takes ~0.4 s that processes whose
    # schemas have no x-kubernetes-validations never pay.
    from control_plane.sandbox import cel

_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))
_OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_NIL_FIELD = "<nil>"  # what field.Path renders for the root: kube-openapi's composite errors carry no path
_MAX_JSON_INTEGER = float(1 << 53)


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


def crd_problems(crd: dict[str, Any]) -> list[dict[str, str]]:
    """Causes that make an apiextensions.k8s.io/v1 CustomResourceDefinition itself invalid (empty when it is fine).

    Covers the name (`<plural>.<group>`), group, scope, names.plural and names.kind, version names, exactly one
    storage version, a schema on every version (v1 requires one on all of them, served or not), the structural
    schema rules (`type` where required, items on arrays, additionalProperties placement, embedded resources,
    int-or-string, value validations under anyOf/allOf/oneOf/not, metadata at the root) and, for a structural schema,
    its x-kubernetes-validations: the entries' fields, and rules or messageExpressions that do not compile.
    """
    problems: list[dict[str, str]] = []
    spec = _mapping(crd.get("spec"))
    names = _mapping(spec.get("names"))
    group = _text(spec.get("group"))
    plural = _text(names.get("plural"))
    kind = _text(names.get("kind"))
    problems += _crd_name_problems(_text(_mapping(crd.get("metadata")).get("name")), plural, group)
    problems += _group_problems(group)
    problems += _scope_problems(_text(spec.get("scope")))
    problems += _version_problems(spec.get("versions"))
    if not plural:
        problems.append(_required("spec.names.plural"))
    elif errors := _dns1035_label(plural):
        problems.append(_invalid("spec.names.plural", plural, ",".join(errors)))
    if not kind:
        problems.append(_required("spec.names.kind"))
    elif errors := _dns1035_label(kind.lower()):
        problems.append(
            _invalid("spec.names.kind", kind, "may have mixed case, but should otherwise match: " + ",".join(errors))
        )
    return problems


# --- compiled schema -------------------------------------------------------------------------------------------


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
            from control_plane.sandbox import cel

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


# --- admission: prune, default, validate in one walk --------------------------------------------------------------


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


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _copy(value: Any) -> Any:
    """A copy of a JSON value sharing no containers with it."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --- validation (kube-openapi's SchemaValidator) ------------------------------------------------------------------


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


# --- x-kubernetes-validations (CEL), after the schema --------------------------------------------------------------

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
        from control_plane.sandbox import cel

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


# --- formats and patterns -----------------------------------------------------------------------------------------

# apiextensions' supportedVersionedFormats (1.0 and 1.34 sets), '-' removed as go-openapi normalises names.
_SUPPORTED_STRING_FORMATS = frozenset(
    """
    bsonobjectid uri email hostname ipv4 ipv6 cidr mac uuid uuid3 uuid4 uuid5 isbn isbn10
    isbn13 creditcard ssn hexcolor rgbcolor byte password date duration datetime quantity k8sshortname k8slongname
    """.split()
)


def _effective_format(declared: str, types: tuple[str, ...]) -> str:
    """The format kube-apiserver keeps (StripUnsupportedFormatsPostProcess): others are ignored, not errors."""
    if not declared:
        return ""
    schema_type = types[0] if len(types) == 1 else ""
    if schema_type in ("", "string"):
        return declared if declared.replace("-", "") in _SUPPORTED_STRING_FORMATS else ""
    if schema_type == "integer":
        return declared if declared in ("int32", "int64") else ""
    if schema_type == "number":
        return declared if declared in ("float", "double") else ""
    return ""


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_TIME_OF_DAY = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})\Z")
_UUID_GROUPS = r"[0-9a-f]{8}-?[0-9a-f]{4}-?%s-?%s-?[0-9a-f]{12}\Z"


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    if match is None:
        return False
    try:
        datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def _is_date_time(text: str) -> bool:
    """strfmt.IsDateTime: an RFC 3339 full date, 'T', then hh:mm:ss[.frac] and 'Z' or an offset."""
    parts = text.lower().split("t")
    if len(text) < 4 or len(parts) < 2 or not _is_date(parts[0]):
        return False
    match = _TIME_OF_DAY.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def _is_ip(text: str, marker: str) -> bool:
    """govalidator's IsIPv4/IsIPv6: parses as an address and contains '.' (v4) or ':' (v6)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return marker in text


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _uuid_check(version: str, variant: str) -> Callable[[str], bool]:
    pattern = re.compile(_UUID_GROUPS % (version, variant), re.IGNORECASE)
    return lambda text: pattern.match(text) is not None


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "datetime": _is_date_time,
    "date": _is_date,
    "uuid": _uuid_check("[0-9a-f]{4}", "[0-9a-f]{4}"),
    "uuid3": _uuid_check("3[0-9a-f]{3}", "[0-9a-f]{4}"),
    "uuid4": _uuid_check("4[0-9a-f]{3}", "[89ab][0-9a-f]{3}"),
    "uuid5": _uuid_check("5[0-9a-f]{3}", "[89ab][0-9a-f]{3}"),
    "ipv4": lambda text: _is_ip(text, "."),
    "ipv6": lambda text: _is_ip(text, ":"),
    "cidr": _is_cidr,
    "byte": lambda text: _BASE64.match(text) is not None,
}

_MULTILINE_FLAG = re.compile(r"\(\?[a-zA-Z]*m")


def _compile_pattern(source: str) -> tuple[re.Pattern[str] | None, str | None]:
    """`(compiled, None)`, `(None, error)` for a broken pattern, `(None, None)` for none or Go-only syntax.

    Rewritten towards Go's RE2: ASCII character classes, `\\z`, and `$` matching only at the very end
    (Python's `$` also matches before a trailing newline) unless the pattern turns multi-line mode on.
    """
    if not source:
        return None, None
    try:
        return re.compile(_go_pattern(source), re.ASCII), None
    except re.error as error:
        if str(error).startswith("bad escape"):
            return None, None
        return None, str(error)


def _go_pattern(source: str) -> str:
    if _MULTILINE_FLAG.search(source):
        return source.replace("\\z", "\\Z")
    out: list[str] = []
    escaped = in_class = False
    for char in source:
        if escaped:
            out.append("Z" if char == "z" else char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]"
        elif char == "$":
            out.append("\\Z")
        else:
            out.append(char)
            in_class = char == "["
    return "".join(out)


# --- causes, rendered as apimachinery's field.Error.ErrorBody() ---------------------------------------------------


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


# --- CustomResourceDefinition checks ------------------------------------------------------------------------------

_DNS1035_FORMAT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035 = re.compile(_DNS1035_FORMAT + r"\Z")
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FORMAT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FORMAT + r"\Z")
_DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_SCOPES = ("Cluster", "Namespaced")
_EMPTY_TYPE = {
    "root": "must not be empty at the root",
    "item": "must not be empty for specified array items",
    "field": "must not be empty for specified object fields",
}
# Keywords a value validation under anyOf/allOf/oneOf/not must leave unset, with upstream's wording.
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("externalDocs", "must be undefined to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's RegexError wording, double space before 'or' included."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _dns1035_label(value: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1035.match(value):
        errors.append(_regex_error(_DNS1035_MESSAGE, _DNS1035_FORMAT, "my-name", "abc-123"))
    return errors


def _dns1123_subdomain(value: str) -> list[str]:
    errors = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(_regex_error(_DNS1123_SUBDOMAIN_MESSAGE, _DNS1123_SUBDOMAIN_FORMAT, "example.com"))
    return errors


def _crd_name_problems(name: str, plural: str, group: str) -> list[dict[str, str]]:
    if not name:
        return [_required("metadata.name", "name or generateName is required")]
    problems = [_invalid("metadata.name", name, message) for message in _dns1123_subdomain(name)]
    if name != f"{plural}.{group}":
        problems.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    return problems


def _group_problems(group: str) -> list[dict[str, str]]:
    if not group:
        return [_required("spec.group")]
    if errors := _dns1123_subdomain(group):
        return [_invalid("spec.group", group, ",".join(errors))]
    if "." not in group:
        return [_invalid("spec.group", group, "should be a domain with at least one dot")]
    return []


def _scope_problems(scope: str) -> list[dict[str, str]]:
    if not scope:
        return [_required("spec.scope")]
    return [] if scope in _SCOPES else [_not_supported("spec.scope", scope, _SCOPES)]


def _version_problems(versions: Any) -> list[dict[str, str]]:
    listed = [_mapping(version) for version in versions] if isinstance(versions, list) else []
    problems: list[dict[str, str]] = []
    for index, version in enumerate(listed):
        schema = _mapping(version.get("schema")).get("openAPIV3Schema")
        if schema is None:
            problems.append(_required(f"spec.versions[{index}].schema.openAPIV3Schema", "schemas are required"))
    for index, version in enumerate(listed):
        path = f"spec.versions[{index}]"
        name = _text(version.get("name"))
        if errors := _dns1035_label(name):
            problems.append(_invalid(f"{path}.name", name, ",".join(errors)))
        schema = _mapping(version.get("schema")).get("openAPIV3Schema")
        if schema is not None:
            structural = _structural_problems(schema, f"{path}.schema.openAPIV3Schema")
            problems += structural or _validation_rule_problems(schema, f"{path}.schema.openAPIV3Schema")
    shown = _go_versions(listed)
    names = [version.get("name") for version in listed]
    if len(set(map(str, names))) != len(names):
        problems.append(_invalid("spec.versions", shown, "must contain unique version names"))
    if sum(version.get("storage") is True for version in listed) != 1:
        problems.append(_invalid("spec.versions", shown, "must have exactly one version marked as storage version"))
    return problems


def _go_versions(versions: list[dict[str, Any]]) -> _GoLiteral:
    """The versions list as Go prints the struct slice, with the schema and other details elided."""
    entries = ", ".join(
        "apiextensions.CustomResourceDefinitionVersion{"
        f"Name:{_go_quote(_text(version.get('name')))}, Served:{_go_number(version.get('served') is True)}, "
        f"Storage:{_go_number(version.get('storage') is True)}, ...}}"
        for version in versions
    )
    return _GoLiteral(f"[]apiextensions.CustomResourceDefinitionVersion{{{entries}}}")


def _structural_problems(schema: Any, path: str) -> list[dict[str, str]]:
    """ValidateStructural: sorted by rendered error, as upstream sorts them."""
    problems: list[dict[str, str]] = []
    _schema_problems(schema, path, "root", problems)
    return sorted(problems, key=lambda cause: f"{cause['field']}: {cause['message']}")


def _schema_problems(schema: Any, path: str, level: str, problems: list[dict[str, str]]) -> None:
    if not isinstance(schema, dict):
        problems.append(_invalid(path, _GoLiteral(_go_syntax(schema)), "must be a schema object"))
        return
    declared = _text(schema.get("type"))
    properties = _mapping(schema.get("properties"))
    additional = schema.get("additionalProperties")
    items = schema.get("items")
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = schema.get("x-kubernetes-embedded-resource") is True

    if declared and declared not in _OPENAPI_TYPES:
        problems.append(_not_supported(f"{path}.type", declared, _OPENAPI_TYPES))
    if declared == "array" and items is None:
        problems.append(_required(f"{path}.items", "must be specified"))
    if items is not None:
        _schema_problems(items, f"{path}.items", "item", problems)
    for key, sub in properties.items():
        _schema_problems(sub, f"{path}.properties[{key}]", "field", problems)
    if additional is not None:
        if level == "root":
            problems.append(_forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if properties and additional is not True:
            problems.append(
                _forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive")
            )
        if embedded:
            problems.append(
                _forbidden(f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set")
            )
        if isinstance(additional, dict):
            _schema_problems(additional, f"{path}.additionalProperties", "field", problems)
    if int_or_string and preserve:
        detail = "must be false if x-kubernetes-int-or-string is true"
        problems.append(_invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True, detail))
    if int_or_string and embedded:
        detail = "must be false if x-kubernetes-int-or-string is true"
        problems.append(_invalid(f"{path}.x-kubernetes-embedded-resource", True, detail))
    _junctor_problems(schema, path, problems)
    _pattern_problems(schema, path, problems)
    _list_type_problems(schema, path, problems)

    if embedded and declared != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        problems.append(_invalid(f"{path}.type", declared, detail) if declared else _required(f"{path}.type", detail))
    elif not declared and not int_or_string and not preserve:
        problems.append(_required(f"{path}.type", _EMPTY_TYPE[level]))
    if level == "root" and declared and declared != "object":
        problems.append(_invalid(f"{path}.type", declared, "must be object at the root"))
    _type_meta_problems(properties, path, level == "root" or embedded, level == "root", problems)
    if embedded and not preserve and not properties:
        detail = (
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
        )
        problems.append(_required(f"{path}.properties", detail))


def _type_meta_problems(
    properties: dict[str, Any], path: str, checks_meta: bool, root: bool, problems: list[dict[str, str]]
) -> None:
    """apiVersion/kind must be strings and metadata an object; at the root metadata may only constrain names."""
    if checks_meta:
        for key in ("kind", "apiVersion"):
            if key in properties and _mapping(properties[key]).get("type") != "string":
                declared = _text(_mapping(properties[key]).get("type"))
                problems.append(_invalid(f"{path}.properties[{key}].type", declared, "must be string"))
    if "metadata" not in properties:
        return
    metadata = _mapping(properties["metadata"])
    if checks_meta and metadata.get("type") != "object":
        declared = _text(metadata.get("type"))
        problems.append(_invalid(f"{path}.properties[metadata].type", declared, "must be object"))
    if root and set(_mapping(metadata.get("properties"))) - {"name", "generateName"}:
        detail = "must not specify anything other than name and generateName, but metadata is implicitly specified"
        problems.append(_forbidden(f"{path}.properties[metadata]", detail))


def _junctor_problems(schema: dict[str, Any], path: str, problems: list[dict[str, str]]) -> None:
    """Value validations under anyOf/allOf/oneOf/not, except the two int-or-string shapes upstream allows."""
    any_of = schema.get("anyOf") or []
    all_of = schema.get("allOf") or []
    skip_any_of = any_of == _INT_OR_STRING_ANY_OF
    skip_first_all_of = bool(all_of) and _mapping(all_of[0]).get("anyOf") == _INT_OR_STRING_ANY_OF
    if not skip_any_of:
        for index, sub in enumerate(any_of):
            _nested_problems(sub, f"{path}.anyOf[{index}]", problems)
    for index, sub in enumerate(all_of):
        _nested_problems(sub, f"{path}.allOf[{index}]", problems, skip_any_of=skip_first_all_of and index == 0)
    for index, sub in enumerate(schema.get("oneOf") or []):
        _nested_problems(sub, f"{path}.oneOf[{index}]", problems)
    if schema.get("not") is not None:
        _nested_problems(schema["not"], f"{path}.not", problems)


def _nested_problems(schema: Any, path: str, problems: list[dict[str, str]], skip_any_of: bool = False) -> None:
    schema = _mapping(schema)
    for key, detail in _NESTED_FORBIDDEN:
        if schema.get(key):
            problems.append(_forbidden(f"{path}.{key}", detail))
    if schema.get("default") is not None:
        problems.append(_forbidden(f"{path}.default", "must be undefined to be structural"))
    properties = _mapping(schema.get("properties"))
    if "metadata" in properties:
        problems.append(_forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))
    for key, sub in properties.items():
        _nested_problems(sub, f"{path}.properties[{key}]", problems)
    if schema.get("items") is not None:
        _nested_problems(schema["items"], f"{path}.items", problems)
    nested = {key: value for key, value in schema.items() if key != "anyOf" or not skip_any_of}
    _junctor_problems(nested, path, problems)
    _pattern_problems(schema, path, problems)


def _pattern_problems(schema: dict[str, Any], path: str, problems: list[dict[str, str]]) -> None:
    source = _text(schema.get("pattern"))
    error = _compile_pattern(source)[1]
    if error is not None:
        detail = f"must be a valid regular expression, but isn't: {error}"
        problems.append(_invalid(f"{path}.pattern", source, detail))


def _list_type_problems(schema: dict[str, Any], path: str, problems: list[dict[str, str]]) -> None:
    if schema.get("x-kubernetes-list-type") == "map" and not schema.get("x-kubernetes-list-map-keys"):
        detail = "must not be empty if x-kubernetes-list-type is map"
        problems.append(_required(f"{path}.x-kubernetes-list-map-keys", detail))


# --- x-kubernetes-validations of a CRD ------------------------------------------------------------------------------

_NEWLINES = re.compile(r"[\n\r]")


def _validation_rule_problems(schema: dict[str, Any], path: str) -> list[dict[str, str]]:
    """Every entry's fields first, then what compiling the rules found (upstream's SchemaErrors, then CELErrors)."""
    entry_problems: list[dict[str, str]] = []
    compile_problems: list[dict[str, str]] = []
    _rules_problems(schema, None, path, "", entry_problems, compile_problems, root=True)
    return entry_problems + compile_problems


def _rules_problems(
    schema: dict[str, Any],
    node: _Node | None,
    path: str,
    uncorrelatable: str,
    entry_problems: list[dict[str, str]],
    compile_problems: list[dict[str, str]],
    root: bool = False,
) -> None:
    """Walk the raw schema, compiling it (beside the walk) from the outermost node that carries rules: schemas
    without rules never pay for compiling. `uncorrelatable` is the outermost list above that is not a map list:
    below it no old value can be found, so a rule there may not use oldSelf."""
    entries = schema.get("x-kubernetes-validations")
    if isinstance(entries, list) and entries:
        node = node or _Node(schema, root=root)
        found = _rule_entry_problems(entries, node, path)
        entry_problems += found
        if not found:
            compile_problems += _rule_compile_problems(entries, node.rules, path, uncorrelatable)
    walk = functools.partial(_rules_problems, entry_problems=entry_problems, compile_problems=compile_problems)
    for key, sub in _mapping(schema.get("properties")).items():
        if isinstance(sub, dict):
            walk(sub, node and node.properties.get(key), f"{path}.properties[{key}]", uncorrelatable)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        walk(additional, node and node.additional, f"{path}.additionalProperties", uncorrelatable)
    items = schema.get("items")
    if isinstance(items, dict):
        below = uncorrelatable or ("" if schema.get("x-kubernetes-list-type") == "map" else path)
        walk(items, node and node.items, f"{path}.items", below)


def _rule_entry_problems(entries: list[Any], node: _Node, path: str) -> list[dict[str, str]]:
    from control_plane.sandbox import cel

    problems: list[dict[str, str]] = []
    for index, raw in enumerate(entries):
        entry = _mapping(raw)
        at = f"{path}.x-kubernetes-validations[{index}]"
        rule, message = _text(entry.get("rule")), _text(entry.get("message"))
        expression, field_path = _text(entry.get("messageExpression")), _text(entry.get("fieldPath"))
        if not rule.strip():
            problems.append(_required(f"{at}.rule", "rule is not specified"))
        elif message and not message.strip():
            problems.append(_invalid(f"{at}.message", message, "message must be non-empty if specified"))
        elif _NEWLINES.search(message.strip()):
            problems.append(_invalid(f"{at}.message", message, "message must not contain line breaks"))
        elif _NEWLINES.search(rule.strip()) and not message.strip():
            problems.append(_required(f"{at}.message", "message must be specified if rule contains line breaks"))
        if expression and not expression.strip():
            problems.append(_required(f"{at}.messageExpression", "messageExpression must be non-empty if specified"))
        reason = entry.get("reason")
        if reason is not None and reason not in cel.REASONS:
            problems.append(_not_supported(f"{at}.reason", reason, cel.REASONS))
        if field_path and not field_path.strip():
            problems.append(_invalid(f"{at}.fieldPath", field_path, "fieldPath must be non-empty if specified"))
        if _NEWLINES.search(field_path):
            problems.append(_invalid(f"{at}.fieldPath", field_path, "fieldPath must not contain line breaks"))
        if field_path and cel.field_path(field_path, node) is None:
            problems.append(_invalid(f"{at}.fieldPath", field_path, "fieldPath must be a valid path"))
    return problems


def _rule_compile_problems(
    entries: list[Any], rules: tuple[cel.Rule, ...], path: str, uncorrelatable: str
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for index, (raw, rule) in enumerate(zip(entries, rules, strict=True)):
        entry = _mapping(raw)
        at = f"{path}.x-kubernetes-validations[{index}]"
        if rule.error:
            problems.append(_invalid(f"{at}.rule", _go_validation_rule(entry), rule.error))
        if rule.message_error:
            problems.append(_invalid(f"{at}.messageExpression", _go_validation_rule(entry), rule.message_error))
        if rule.uses_old_self and uncorrelatable:
            detail = f"oldSelf cannot be used on the uncorrelatable portion of the schema within {uncorrelatable}"
            problems.append(_invalid(f"{at}.rule", rule.source, detail))
        elif not rule.uses_old_self and entry.get("optionalOldSelf") is not None:
            detail = "may not be set if oldSelf is not used in rule"
            problems.append(_invalid(f"{at}.optionalOldSelf", entry["optionalOldSelf"], detail))
    return problems


def _go_validation_rule(entry: dict[str, Any]) -> _GoLiteral:
    """The rule as Go's %#v prints apiextensions.ValidationRule; a set pointer shows its value, not an address."""

    def pointer(go_type: str, value: Any) -> str:
        return f"(*{go_type})(nil)" if value is None else f"(*{go_type})({_go_value(value)})"

    return _GoLiteral(
        "apiextensions.ValidationRule{"
        f"Rule:{_go_quote(_text(entry.get('rule')))}, Message:{_go_quote(_text(entry.get('message')))}, "
        f"MessageExpression:{_go_quote(_text(entry.get('messageExpression')))}, "
        f"Reason:{pointer('apiextensions.FieldValueErrorReason', entry.get('reason'))}, "
        f"FieldPath:{_go_quote(_text(entry.get('fieldPath')))}, "
        f"OptionalOldSelf:{pointer('bool', entry.get('optionalOldSelf'))}}}"
    )
