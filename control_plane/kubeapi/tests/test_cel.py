"""CRD `x-kubernetes-validations` (CEL): rules checked at CRD creation and evaluated on every write, as upstream.

Expected wording is upstream's: apiextensions-apiserver's `schema/cel/validation.go` for failing and erring rules,
`apis/apiextensions/validation` for CRDs, cel-go's issues for compile errors. The last tests run the real Crossplane
CRDs' rules; control_plane/sandbox/tests/test_cel_served.py drives the same rules through the sandbox over HTTP.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from control_plane.kubeapi import cel
from control_plane.kubeapi.errors import ApiError
from control_plane.kubeapi.schema import admit, crd_problems

GROUP = "example.devplat.io"
UPSTREAM = Path(__file__).resolve().parents[4] / "shared" / "crossplane-crds"
needs_crossplane_crds = pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"{UPSTREAM} is not beside the repository")

SPEC_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string"},
    "replicas": {"type": "integer"},
    "ratio": {"type": "number"},
    "enabled": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "port": {"x-kubernetes-int-or-string": True},
    "namespace": {"type": "string"},
    "dns-name": {"type": "string"},
    "note": {"type": "string", "nullable": True},
    "since": {"type": "string", "format": "date-time"},
    "timeout": {"type": "string", "format": "duration"},
}


def resource_schema(spec_rules: list[dict[str, Any]] | None = None, **spec_properties: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "object", "properties": {**SPEC_PROPERTIES, **spec_properties}}
    if spec_rules:
        spec["x-kubernetes-validations"] = spec_rules
    return {"type": "object", "properties": {"spec": spec}}


def widget(spec: dict[str, Any], name: str = "w") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def check(schema: dict[str, Any], spec: dict[str, Any], old_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    old = None if old_spec is None else widget(old_spec)
    return admit(widget(spec), schema, kind="Widget", group=GROUP, name="w", old=old).object


def causes(schema: dict[str, Any], spec: dict[str, Any], old_spec: dict[str, Any] | None = None) -> list[dict]:
    with pytest.raises(ApiError) as raised:
        check(schema, spec, old_spec)
    assert raised.value.code == 422
    assert raised.value.details is not None
    return raised.value.details["causes"]


def cause(field: str, reason: str, message: str) -> dict[str, str]:
    return {"field": field, "reason": reason, "message": message}


def widget_crd(spec_rules: list[dict[str, Any]] | None = None, root: dict[str, Any] | None = None) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": root or resource_schema(spec_rules)},
                }
            ],
        },
    }


# --- rules that hold and rules that fail --------------------------------------------------------------------------

HOLDING = [
    ("self.replicas > 1 && self.replicas <= 5", {"replicas": 3}),
    ("self.replicas > 1 &&\n  self.replicas <= 5", {"replicas": 3}),  # a YAML block rule spans lines
    ("has(self.name) || has(self.tags)", {"name": "a"}),
    ("!has(self.name)", {}),
    ("size(self.name) < 4 && self.name.size() == 3", {"name": "abc"}),
    ("self.name in ['a', 'b']", {"name": "b"}),
    ("'team' in self.labels && self.labels.team == 'payments'", {"labels": {"team": "payments"}}),
    ("self.name.matches('^[a-z]+-[0-9]+$')", {"name": "web-1"}),
    ("self.name.startsWith('web') && self.name.endsWith('-1')", {"name": "web-1"}),
    ("self.tags.all(t, t.size() < 5) && self.tags.exists(t, t == 'a')", {"tags": ["a", "bcd"]}),
    ("self.tags.exists_one(t, t == 'a')", {"tags": ["a", "b"]}),
    ("self.tags.map(t, t.upperAscii()) == ['A', 'B']", {"tags": ["a", "b"]}),
    ("self.tags.filter(t, t != 'a') == ['b']", {"tags": ["a", "b"]}),
    ("self.name == self.name.lowerAscii()", {"name": "lower"}),
    ("self.tags.isSorted()", {"tags": ["a", "b", "c"]}),
    ("[1, 2, 3].sum() == 6 && [3, 1, 2].min() == 1 && [3, 1, 2].max() == 3", {}),
    ("self.name.split('-') == ['a', 'b'] && self.name.replace('-', '.') == 'a.b'", {"name": "a-b"}),
    ("' x '.trim() == 'x' && ['a', 'b'].join('/') == 'a/b' && 'abc'.substring(1, 2) == 'b'", {}),
    ("'abc'.indexOf('c') == 2", {}),
    ("(has(self.name) ? 1 : 0) + (has(self.tags) ? 1 : 0) == 1", {"tags": []}),
    ("self.ratio == 2.0", {"ratio": 2}),  # a whole JSON number is still a double
    ("self.enabled", {"enabled": True}),
    ("type(self.port) == int ? self.port < 1024 : self.port.endsWith('%')", {"port": 80}),
    ("type(self.port) == int ? self.port < 1024 : self.port.endsWith('%')", {"port": "50%"}),
    ("self.since < timestamp('2030-01-01T00:00:00Z')", {"since": "2024-05-01T10:00:00Z"}),
    ("self.timeout <= duration('1h')", {"timeout": "90s"}),
]

FAILING = [
    ("self.replicas > 1", {"replicas": 0}),
    ("self.name in ['a', 'b']", {"name": "c"}),
    ("self.name.matches('^[a-z]+$')", {"name": "Web"}),
    ("self.tags.all(t, t.size() < 3)", {"tags": ["a", "long"]}),
    ("self.tags.exists_one(t, t == 'a')", {"tags": ["a", "a"]}),
    ("self.name == self.name.upperAscii()", {"name": "lower"}),
    ("self.tags.isSorted()", {"tags": ["b", "a"]}),
    ("(has(self.name) ? 1 : 0) + (has(self.tags) ? 1 : 0) == 1", {"name": "a", "tags": []}),
    ("self.since < timestamp('2030-01-01T00:00:00Z')", {"since": "2031-01-01T00:00:00Z"}),
    ("self.timeout <= duration('1h')", {"timeout": "2h"}),
]


@pytest.mark.parametrize(("rule", "spec"), HOLDING)
def test_an_object_that_meets_its_rule_is_admitted(rule, spec):
    assert check(resource_schema([{"rule": rule}]), spec)["spec"] == spec


@pytest.mark.parametrize(("rule", "spec"), FAILING)
def test_an_object_that_breaks_its_rule_is_refused_naming_the_rule(rule, spec):
    assert causes(resource_schema([{"rule": rule}]), spec) == [
        cause("spec", "FieldValueInvalid", f'Invalid value: "object": failed rule: {rule}')
    ]


MESSAGES = [
    pytest.param(
        {"rule": "self.replicas > 0", "message": " replicas must be positive "},
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": replicas must be positive'),
        id="message-trimmed",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "ignored", "messageExpression": "'got ' + string(self.replicas)"},
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": got 0'),
        id="message-expression-wins",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "fallback", "messageExpression": "self.labels.missing"},
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": fallback'),
        id="message-expression-error-falls-back",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "fallback", "messageExpression": "'  '"},
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": fallback'),
        id="blank-message-expression-falls-back",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "must be positive", "fieldPath": ".replicas"},
        cause("spec.replicas", "FieldValueInvalid", 'Invalid value: "object": must be positive'),
        id="field-path",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "fieldPath": ".labels['app.kubernetes.io/name']"},
        cause(
            "spec.labels[app.kubernetes.io/name]",
            "FieldValueInvalid",
            'Invalid value: "object": failed rule: self.replicas > 0',
        ),
        id="field-path-map-key",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "may not be zero", "reason": "FieldValueForbidden"},
        cause("spec", "FieldValueForbidden", "Forbidden: may not be zero"),
        id="reason-forbidden",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "replicas are needed", "reason": "FieldValueRequired"},
        cause("spec", "FieldValueRequired", "Required value: replicas are needed"),
        id="reason-required",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "message": "not shown", "reason": "FieldValueDuplicate"},
        cause("spec", "FieldValueDuplicate", 'Duplicate value: "object"'),
        id="reason-duplicate",
    ),
]


@pytest.mark.parametrize(("rule", "expected"), MESSAGES)
def test_message_message_expression_field_path_and_reason_shape_the_cause(rule, expected):
    assert causes(resource_schema([rule]), {"replicas": 0, "labels": {}}) == [expected]


ERRORS = [
    pytest.param(
        "self.labels.team == 'a'",
        "no such key: team evaluating rule: self.labels.team == 'a'",
        id="no-such-key",
    ),
    pytest.param("self.tags[3] == 'a'", "index out of bounds evaluating rule: self.tags[3] == 'a'", id="index"),
    pytest.param("self.replicas / 0 == 1", "division by zero evaluating rule: self.replicas / 0 == 1", id="division"),
    pytest.param(
        "self.port > 1",
        "'no such overload': call arguments did not match a supported operator, function or macro signature for "
        "rule: self.port > 1",
        id="int-or-string-overload",
    ),
]


@pytest.mark.parametrize(("rule", "detail"), ERRORS)
def test_a_rule_that_errs_reports_the_error_and_the_rule(rule, detail):
    spec = {"replicas": 1, "labels": {}, "tags": [], "port": "http"}
    assert causes(resource_schema([{"rule": rule}]), spec) == [
        cause("spec", "FieldValueInvalid", f'Invalid value: "object": {detail}')
    ]


def test_self_is_the_value_at_the_node_for_the_root_scalars_and_list_items():
    schema = resource_schema(
        tags={"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'x'"}]}},
        replicas={"type": "integer", "x-kubernetes-validations": [{"rule": "self % 2 == 0", "message": "even"}]},
    )
    schema["x-kubernetes-validations"] = [{"rule": "self.metadata.name.startsWith('w-')", "message": "w- prefix"}]

    assert causes(schema, {"tags": ["a", "x"], "replicas": 3}) == [
        cause("<nil>", "FieldValueInvalid", 'Invalid value: "object": w- prefix'),  # the root has no path
        cause("spec.tags[1]", "FieldValueInvalid", "Invalid value: \"string\": failed rule: self != 'x'"),
        cause("spec.replicas", "FieldValueInvalid", 'Invalid value: "integer": even'),
    ]


def test_rules_of_an_absent_or_null_value_are_skipped():
    schema = resource_schema(note={"type": "string", "nullable": True, "x-kubernetes-validations": [{"rule": "false"}]})

    assert check(schema, {})["spec"] == {}
    assert check(schema, {"note": None})["spec"] == {"note": None}


def test_rule_failures_are_collected_with_the_schema_causes():
    schema = resource_schema(
        [{"rule": "self.replicas > 0", "message": "positive"}], name={"type": "string", "pattern": "^[a-z]+$"}
    )

    assert causes(schema, {"name": "A", "replicas": 0}) == [
        cause("spec.name", "FieldValueInvalid", "Invalid value: \"A\": spec.name in body should match '^[a-z]+$'"),
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": positive'),
    ]
    with pytest.raises(ApiError) as raised:
        check(schema, {"name": "A", "replicas": 0})
    assert raised.value.message == (
        f'Widget.{GROUP} "w" is invalid: spec.name: Invalid value: "A": spec.name in body should match '
        "'^[a-z]+$', spec: Invalid value: \"object\": positive"
    )


def test_a_type_error_stops_the_rules_as_upstream_does():
    found = causes(resource_schema([{"rule": "self.replicas > 0"}]), {"replicas": "three"})

    assert found[-1] == cause(
        "<nil>",
        "FieldValueInvalid",
        'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the '
        "existing errors to complete validation",
    )
    assert len(found) == 2


# --- what a rule sees --------------------------------------------------------------------------------------------


def test_property_names_cel_cannot_spell_are_escaped():
    rule = "self.__namespace__ == 'prod' && self.dns__dash__name == 'a.example.com'"

    assert check(resource_schema([{"rule": rule}]), {"namespace": "prod", "dns-name": "a.example.com"})


def test_a_null_field_of_an_object_is_absent_to_has():
    assert causes(resource_schema([{"rule": "has(self.note)"}]), {"note": None}) == [
        cause("spec", "FieldValueInvalid", 'Invalid value: "object": failed rule: has(self.note)')
    ]


def test_an_embedded_resource_shows_only_its_type_and_name():
    schema = resource_schema(
        template={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-validations": [
                {"rule": "self.kind == 'ConfigMap' && self.metadata.name.size() > 0", "message": "a named ConfigMap"}
            ],
        }
    )
    template = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}

    assert causes(schema, {"template": template}) == [
        cause("spec.template", "FieldValueInvalid", 'Invalid value: "object": a named ConfigMap')
    ]


def test_equality_of_objects_sees_the_fields_the_schema_preserves_unknown():
    schema = resource_schema(
        config={
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "config is immutable"}],
        }
    )

    assert check(schema, {"config": {"a": 1}}, old_spec={"config": {"a": 1}})
    assert causes(schema, {"config": {"a": 2}}, old_spec={"config": {"a": 1}}) == [
        cause("spec.config", "FieldValueInvalid", 'Invalid value: "object": config is immutable')
    ]


# --- transition rules -------------------------------------------------------------------------------------------

IMMUTABLE = {
    "type": "string",
    "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}],
}


def test_an_immutable_field_is_set_freely_on_create_and_refused_when_changed_on_update():
    schema = resource_schema(region=IMMUTABLE)

    assert check(schema, {"region": "eu"})["spec"] == {"region": "eu"}
    assert check(schema, {"region": "eu", "replicas": 2}, old_spec={"region": "eu"})
    assert causes(schema, {"region": "us"}, old_spec={"region": "eu"}) == [
        cause("spec.region", "FieldValueInvalid", 'Invalid value: "string": Value is immutable')
    ]


def test_a_transition_rule_does_not_run_where_the_old_object_had_no_value():
    assert check(resource_schema(region=IMMUTABLE), {"region": "us"}, old_spec={})


def test_a_transition_rule_may_allow_some_changes():
    schema = resource_schema(
        state={
            "type": "string",
            "x-kubernetes-validations": [{"rule": "self == oldSelf || oldSelf != 'Active'", "message": "frozen"}],
        }
    )

    assert check(schema, {"state": "Active"}, old_spec={"state": "Pending"})
    assert causes(schema, {"state": "Pending"}, old_spec={"state": "Active"}) == [
        cause("spec.state", "FieldValueInvalid", 'Invalid value: "string": frozen')
    ]


def port_list(list_type: str | None) -> dict[str, Any]:
    port = {"type": "integer", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "port is fixed"}]}
    ports: dict[str, Any] = {
        "type": "array",
        "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "port": port}},
    }
    if list_type:
        ports["x-kubernetes-list-type"] = list_type
        ports["x-kubernetes-list-map-keys"] = ["name"]
    return resource_schema(ports=ports)


def test_items_of_a_map_list_are_correlated_with_their_old_items_by_key():
    old = {"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}

    assert check(port_list("map"), {"ports": [{"name": "https", "port": 443}, {"name": "http", "port": 80}]}, old)
    assert causes(
        port_list("map"), {"ports": [{"name": "https", "port": 8443}, {"name": "http", "port": 80}]}, old
    ) == [cause("spec.ports[0].port", "FieldValueInvalid", 'Invalid value: "integer": port is fixed')]


def test_items_of_an_atomic_list_have_no_old_value():
    old = {"ports": [{"name": "http", "port": 80}]}

    assert check(port_list(None), {"ports": [{"name": "http", "port": 8080}]}, old)


def test_a_set_list_equals_its_old_value_in_any_order():
    schema = resource_schema(
        zones={
            "type": "array",
            "x-kubernetes-list-type": "set",
            "items": {"type": "string"},
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "zones are fixed"}],
        }
    )

    assert check(schema, {"zones": ["b", "a"]}, old_spec={"zones": ["a", "b"]})
    assert causes(schema, {"zones": ["a", "c"]}, old_spec={"zones": ["a", "b"]}) == [
        cause("spec.zones", "FieldValueInvalid", 'Invalid value: "array": zones are fixed')
    ]


def test_optional_old_self_runs_on_create_with_an_empty_optional():
    rule = {"rule": "oldSelf.hasValue() ? self >= oldSelf.value() : self <= 10", "optionalOldSelf": True}
    schema = resource_schema(size={"type": "integer", "x-kubernetes-validations": [rule]})
    refused = cause("spec.size", "FieldValueInvalid", f'Invalid value: "integer": failed rule: {rule["rule"]}')

    assert check(schema, {"size": 10})
    assert causes(schema, {"size": 11}) == [refused]
    assert check(schema, {"size": 50}, old_spec={"size": 40})
    assert causes(schema, {"size": 30}, old_spec={"size": 40}) == [refused]


# --- compiling ---------------------------------------------------------------------------------------------------

COMPILE_ERRORS = [
    pytest.param(
        "foo(1)",
        "compilation failed: ERROR: <input>:1:4: undeclared reference to 'foo' (in container '')\n | foo(1)\n | ...^",
        id="unknown-function",
    ),
    pytest.param(
        "self.name.frob()",
        "compilation failed: ERROR: <input>:1:15: undeclared reference to 'frob' (in container '')\n"
        " | self.name.frob()\n | ..............^",
        id="unknown-method",
    ),
    pytest.param(
        "self.nmae == 'a'",
        "compilation failed: ERROR: <input>:1:5: undefined field 'nmae'\n | self.nmae == 'a'\n | ....^",
        id="undefined-field",
    ),
    pytest.param(
        "other == 1",
        "compilation failed: ERROR: <input>:1:1: undeclared reference to 'other' (in container '')\n"
        " | other == 1\n | ^",
        id="undeclared-variable",
    ),
    pytest.param(
        "self.name ==",
        "compilation failed: ERROR: <input>:1:11: Syntax error: mismatched input '<EOF>'\n"
        " | self.name ==\n | ..........^",
        id="syntax",
    ),
    pytest.param("self.name", "cel expression must evaluate to a bool", id="not-a-bool"),
]


@pytest.mark.parametrize(("rule", "detail"), COMPILE_ERRORS)
def test_a_rule_that_does_not_compile_is_refused_at_crd_creation(rule, detail):
    crd = widget_crd([{"rule": rule}])

    assert crd_problems(crd) == [
        cause(
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
            "FieldValueInvalid",
            f'Invalid value: apiextensions.ValidationRule{{Rule:{json.dumps(rule)}, Message:"", '
            'MessageExpression:"", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", '
            f"OptionalOldSelf:(*bool)(nil)}}: {detail}",
        )
    ]


def test_resource_roots_show_only_api_version_kind_and_metadata_name_to_rules():
    root = {"type": "object", "properties": {"spec": {"type": "object"}}}
    root["x-kubernetes-validations"] = [
        {"rule": "self.kind == 'Widget' && self.metadata.name.size() < 64"},
        {"rule": "self.metadata.labels.size() > 0"},
    ]

    problems = crd_problems(widget_crd(root=root))

    assert [problem["field"] for problem in problems] == [
        "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[1].rule"
    ]
    assert problems[0]["message"].endswith(
        "compilation failed: ERROR: <input>:1:14: undefined field 'labels'\n"
        " | self.metadata.labels.size() > 0\n | .............^"
    )


CRD_RULE_PROBLEMS = [
    pytest.param(
        {"rule": " "},
        cause("{at}.rule", "FieldValueRequired", "Required value: rule is not specified"),
        id="no-rule",
    ),
    pytest.param(
        {"rule": "true", "message": "two\nlines"},
        cause(
            "{at}.message", "FieldValueInvalid", 'Invalid value: "two\\nlines": message must not contain line breaks'
        ),
        id="message-line-break",
    ),
    pytest.param(
        {"rule": "true", "reason": "FieldValueWrong"},
        cause(
            "{at}.reason",
            "FieldValueNotSupported",
            'Unsupported value: "FieldValueWrong": supported values: "FieldValueDuplicate", "FieldValueForbidden", '
            '"FieldValueInvalid", "FieldValueRequired"',
        ),
        id="reason",
    ),
    pytest.param(
        {"rule": "true", "fieldPath": ".nope"},
        cause("{at}.fieldPath", "FieldValueInvalid", 'Invalid value: ".nope": fieldPath must be a valid path'),
        id="field-path",
    ),
    pytest.param(
        {"rule": "true", "messageExpression": "self.replicas"},
        cause(
            "{at}.messageExpression",
            "FieldValueInvalid",
            'Invalid value: apiextensions.ValidationRule{Rule:"true", Message:"", MessageExpression:"self.replicas", '
            'Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:(*bool)(nil)}: '
            "messageExpression must evaluate to a string",
        ),
        id="message-expression-type",
    ),
    pytest.param(
        {"rule": "self.replicas > 0", "optionalOldSelf": True},
        cause(
            "{at}.optionalOldSelf",
            "FieldValueInvalid",
            "Invalid value: true: may not be set if oldSelf is not used in rule",
        ),
        id="optional-old-self-unused",
    ),
]


@pytest.mark.parametrize(("rule", "expected"), CRD_RULE_PROBLEMS)
def test_a_crd_rule_entry_is_validated_like_upstream(rule, expected):
    at = "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0]"

    assert crd_problems(widget_crd([rule])) == [{**expected, "field": expected["field"].format(at=at)}]


def test_old_self_is_refused_below_a_list_whose_items_cannot_be_correlated():
    spec = resource_schema()["properties"]["spec"]
    spec["properties"]["tags"] = {
        "type": "array",
        "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
    }
    path = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags]"

    assert crd_problems(widget_crd(root={"type": "object", "properties": {"spec": spec}})) == [
        cause(
            f"{path}.items.x-kubernetes-validations[0].rule",
            "FieldValueInvalid",
            f'Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema '
            f"within {path}",
        )
    ]


# --- names and paths --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("replicas", "replicas"),
        ("namespace", "__namespace__"),
        ("dns-name", "dns__dash__name"),
        ("a.b/c", "a__dot__b__slash__c"),
        ("x__y", "x__underscores__y"),
        ("1st", None),
        ("has space", None),
    ],
)
def test_property_names_are_escaped_as_upstream(name, escaped):
    assert cel.escape(name) == escaped


@dataclass(eq=False)
class Node:
    """A schema node as `cel` sees one (schema.py's compiled node has the same attributes)."""

    types: tuple[str, ...] = ("object",)
    properties: dict[str, Node] = field(default_factory=dict)
    additional: Node | None = None
    items: Node | None = None
    format: str = ""
    preserve: bool = False
    embedded: bool = False
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()


STRING = Node(("string",))
SPEC = Node(properties={"name": STRING, "labels": Node(additional=STRING), "ports": Node(("array",), items=STRING)})


@pytest.mark.parametrize(
    ("json_path", "expected"),
    [
        (".name", "name"),
        (".labels.team", "labels[team]"),
        (".labels['app.kubernetes.io/name']", "labels[app.kubernetes.io/name]"),
        ("['name']", "name"),
        (".nope", None),
        (".ports[0]", None),  # list indexes are not supported
        ("name", None),
    ],
)
def test_a_field_path_is_resolved_against_the_schema(json_path, expected):
    assert cel.field_path(json_path, SPEC) == expected


def test_a_rule_is_parsed_once_per_text():
    first = cel.compile_expression("self.name == 'a'", SPEC, False)
    again = cel.compile_expression("self.name == 'a'", Node(properties={"name": STRING}), False)

    assert again.runner is first.runner
    assert not first.uses_old_self
    assert cel.compile_expression("self.name == oldSelf.name", SPEC, False).uses_old_self


# --- the upstream Crossplane CRDs ---------------------------------------------------------------------------------


def upstream_crds() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(UPSTREAM.glob("*/*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document and document.get("kind") == "CustomResourceDefinition"
    ]


def rule_count(schema: Any) -> int:
    if isinstance(schema, dict):
        return len(schema.get("x-kubernetes-validations") or ()) + sum(map(rule_count, schema.values()))
    if isinstance(schema, list):
        return sum(map(rule_count, schema))
    return 0


def upstream_schema(kind: str) -> dict[str, Any]:
    crd = next(crd for crd in upstream_crds() if crd["spec"]["names"]["kind"] == kind)
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@needs_crossplane_crds
def test_every_rule_of_the_upstream_crossplane_crds_compiles():
    crds = upstream_crds()

    assert {crd["metadata"]["name"]: crd_problems(crd) for crd in crds} == {crd["metadata"]["name"]: [] for crd in crds}
    assert sum(rule_count(crd) for crd in crds) >= 60  # they do carry rules: the check above is not vacuous
    broken = copy.deepcopy(next(crd for crd in crds if crd["spec"]["names"]["kind"] == "Composition"))
    spec = broken["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["x-kubernetes-validations"][0]["rule"] = "self.mode == 'Pipeline' && has(self.pipelines)"
    assert "undefined field 'pipelines'" in crd_problems(broken)[0]["message"]


@needs_crossplane_crds
def test_a_pipeline_mode_composition_without_a_pipeline_is_refused():
    composition = {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {"name": "xpostgres"},
        "spec": {"compositeTypeRef": {"apiVersion": "platform.example.com/v1", "kind": "XPostgres"}},
    }

    with pytest.raises(ApiError) as raised:
        admit(
            composition,
            upstream_schema("Composition"),
            kind="Composition",
            group="apiextensions.crossplane.io",
            name="xpostgres",
        )
    assert raised.value.message == (
        'Composition.apiextensions.crossplane.io "xpostgres" is invalid: spec: Invalid value: "object": an array of '
        "pipeline steps is required in Pipeline mode"
    )


def xrd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": f"xdatabases.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "XDatabase", "plural": "xdatabases"},
            "versions": [{"name": "v1alpha1", "served": True, "referenceable": True}],
        },
    }


@needs_crossplane_crds
def test_changing_an_xrds_group_is_refused_as_immutable():
    schema = upstream_schema("CompositeResourceDefinition")
    live = admit(
        xrd("platform.example.com"),
        schema,
        kind="CompositeResourceDefinition",
        group="apiextensions.crossplane.io",
        name="xdatabases.platform.example.com",
    ).object

    with pytest.raises(ApiError) as raised:
        admit(
            xrd("other.example.com"),
            schema,
            kind="CompositeResourceDefinition",
            group="apiextensions.crossplane.io",
            name="xdatabases.platform.example.com",
            old=live,
        )
    assert raised.value.details is not None
    assert raised.value.details["causes"] == [
        cause("spec.group", "FieldValueInvalid", 'Invalid value: "string": Value is immutable')
    ]
