"""`crd_problems`: what makes a CustomResourceDefinition itself invalid, as apiextensions' validation reports it.

Names, group, scope and versions; the structural-schema rules (ValidateStructural); and the
`x-kubernetes-validations` entries, including rules and messageExpressions that do not compile.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from control_plane.kubeapi.schema.causes import (
    _forbidden,
    _go_number,
    _go_quote,
    _go_syntax,
    _go_value,
    _GoLiteral,
    _invalid,
    _not_supported,
    _required,
)
from control_plane.kubeapi.schema.names import _dns1035_label, _dns1123_subdomain
from control_plane.kubeapi.schema.nodes import _Node
from control_plane.kubeapi.schema.patterns import _compile_pattern

if TYPE_CHECKING:
    from control_plane.kubeapi import cel


_OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")


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
    from control_plane.kubeapi import cel

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
