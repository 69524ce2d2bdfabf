"""CRD structural-schema enforcement: pruning, defaulting and validation as kube-apiserver does them.

Expected messages are upstream's (kube-openapi wording rendered by apimachinery's field.Error), many of them copied
from apiextensions-apiserver's own validation tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from control_plane.kubeapi.errors import ApiError
from control_plane.kubeapi.schema import Admitted, admit, crd_problems

CROSSPLANE_CRDS = Path(__file__).resolve().parents[4] / "shared" / "crossplane-crds" / "crossplane-v2.3.4"


def resource_schema(spec: dict[str, Any], **root_properties: Any) -> dict[str, Any]:
    """A root schema the way controller-gen writes them, with `spec` (and optionally more) under it."""
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            **root_properties,
        },
    }


def field_schema(**field: Any) -> dict[str, Any]:
    """A root schema whose spec has one field `x` with the given schema."""
    return resource_schema({"type": "object", "properties": {"x": field}})


def resource(spec: Any, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec, **extra}


def admitted(obj: dict[str, Any], schema: dict[str, Any]) -> Admitted:
    return admit(obj, schema, kind="Widget", group="example.com", name="w")


def causes(obj: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ApiError) as raised:
        admitted(obj, schema)
    assert raised.value.code == 422
    assert raised.value.reason == "Invalid"
    assert raised.value.details is not None
    return raised.value.details["causes"]


def cause(field: str, cause_type: str, message: str) -> dict[str, str]:
    return {"field": field, "reason": cause_type, "message": message}


RULES_NOT_CHECKED = (
    "some validation rules were not checked because the object was invalid; correct the existing errors to complete "
    "validation"
)


# --- validation ---------------------------------------------------------------------------------------------------

REJECTED = [
    pytest.param(
        {"type": "integer"},
        "three",
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.x in body must be of type integer: "string"',
        ),
        id="integer-given-string",
    ),
    pytest.param(
        {"type": "integer"},
        1.5,
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "number": spec.x in body must be of type integer: "number"',
        ),
        id="integer-given-fraction",
    ),
    pytest.param(
        {"type": "boolean"},
        "true",
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.x in body must be of type boolean: "string"',
        ),
        id="boolean-given-string",
    ),
    pytest.param(
        {"type": "string"},
        True,
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "boolean": spec.x in body must be of type string: "boolean"',
        ),
        id="string-given-boolean",
    ),
    pytest.param(
        {"type": "object"},
        [],
        cause(
            "spec.x", "FieldValueTypeInvalid", 'Invalid value: "array": spec.x in body must be of type object: "array"'
        ),
        id="object-given-array",
    ),
    pytest.param(
        {"type": "array", "items": {"type": "string"}},
        {},
        cause(
            "spec.x", "FieldValueTypeInvalid", 'Invalid value: "object": spec.x in body must be of type array: "object"'
        ),
        id="array-given-object",
    ),
    pytest.param(
        {"type": "string", "enum": ["a", "b"]},
        "c",
        cause("spec.x", "FieldValueNotSupported", 'Unsupported value: "c": supported values: "a", "b"'),
        id="enum-string",
    ),
    pytest.param(
        {"type": "integer", "enum": [1, 2]},
        3,
        cause("spec.x", "FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"'),
        id="enum-integer",
    ),
    pytest.param(
        {"type": "integer", "minimum": 1},
        0,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 0: spec.x in body should be greater than or equal to 1"),
        id="minimum",
    ),
    pytest.param(
        {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
        1,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 1: spec.x in body should be greater than 1"),
        id="exclusive-minimum",
    ),
    pytest.param(
        {"type": "integer", "maximum": 10},
        11,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 11: spec.x in body should be less than or equal to 10"),
        id="maximum",
    ),
    pytest.param(
        {"type": "integer", "maximum": 10, "exclusiveMaximum": True},
        10,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 10: spec.x in body should be less than 10"),
        id="exclusive-maximum",
    ),
    pytest.param(
        {"type": "number", "maximum": 2.25},
        2.5,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 2.5: spec.x in body should be less than or equal to 2.25"),
        id="maximum-fraction",
    ),
    pytest.param(
        {"type": "number", "maximum": 1000000},
        2000000.5,
        cause(
            "spec.x",
            "FieldValueInvalid",
            "Invalid value: 2.0000005e+06: spec.x in body should be less than or equal to 1e+06",
        ),
        id="large-numbers-printed-as-go-does",
    ),
    pytest.param(
        {"type": "integer", "multipleOf": 5},
        7,
        cause("spec.x", "FieldValueInvalid", "Invalid value: 7: spec.x in body should be a multiple of 5"),
        id="multiple-of",
    ),
    pytest.param(
        {"type": "string", "minLength": 3},
        "ab",
        cause("spec.x", "FieldValueInvalid", 'Invalid value: "ab": spec.x in body should be at least 3 chars long'),
        id="min-length",
    ),
    pytest.param(
        {"type": "string", "maxLength": 2},
        "abc",
        cause("spec.x", "FieldValueTooLong", "Too long: value is too long"),
        id="max-length",
    ),
    pytest.param(
        {"type": "string", "pattern": "^[a-z]+$"},
        "Abc",
        cause("spec.x", "FieldValueInvalid", "Invalid value: \"Abc\": spec.x in body should match '^[a-z]+$'"),
        id="pattern",
    ),
    pytest.param(
        {"type": "string", "pattern": "^[a-z]+$"},
        "abc\n",
        cause("spec.x", "FieldValueInvalid", "Invalid value: \"abc\\n\": spec.x in body should match '^[a-z]+$'"),
        id="pattern-dollar-is-end-of-text-as-in-go",
    ),
    pytest.param(
        {"type": "string", "format": "date-time"},
        "yesterday",
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday"',
        ),
        id="format-date-time",
    ),
    pytest.param(
        {"type": "string", "format": "uuid"},
        "not-a-uuid",
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "not-a-uuid": spec.x in body must be of type uuid: "not-a-uuid"',
        ),
        id="format-uuid",
    ),
    pytest.param(
        {"type": "integer", "format": "int32"},
        1.5,
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "float64": spec.x in body must be of type int32: "float64"',
        ),
        id="format-int32-given-fraction",
    ),
    pytest.param(
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
        [],
        cause("spec.x", "FieldValueInvalid", "Invalid value: 0: spec.x in body should have at least 1 items"),
        id="min-items",
    ),
    pytest.param(
        {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        ["a", "b", "c"],
        cause("spec.x", "FieldValueTooMany", "Too many: 3: has too many items"),
        id="max-items",
    ),
    pytest.param(
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        [1, 2, 1],
        cause("spec.x", "FieldValueInvalid", 'Invalid value: "": spec.x in body shouldn\'t contain duplicates'),
        id="unique-items",
    ),
    pytest.param(
        {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 2},
        {"a": "1"},
        cause("spec.x", "FieldValueInvalid", "Invalid value: 1: spec.x in body should have at least 2 properties"),
        id="min-properties",
    ),
    pytest.param(
        {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1},
        {"a": "1", "b": "2"},
        cause("spec.x", "FieldValueTooMany", "Too many: must have at most 1 items"),
        id="max-properties",
    ),
    pytest.param(
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"a": "one"},
        cause(
            "spec.x.a",
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.x.a in body must be of type integer: "string"',
        ),
        id="additional-properties-schema",
    ),
    pytest.param(
        {"type": "object", "properties": {"size": {"type": "integer"}}, "required": ["size"]},
        {},
        cause("spec.x.size", "FieldValueRequired", "Required value"),
        id="required",
    ),
    pytest.param(
        {"type": "string", "nullable": True, "enum": ["a"]},
        None,
        cause("spec.x", "FieldValueNotSupported", 'Unsupported value: null: supported values: "a"'),
        id="nullable-null-never-matches-an-enum",
    ),
    pytest.param(
        {"x-kubernetes-int-or-string": True},
        True,
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean"',
        ),
        id="int-or-string-given-boolean",
    ),
    pytest.param(
        {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        ["a", "b", "a"],
        cause("spec.x[2]", "FieldValueDuplicate", 'Duplicate value: "a"'),
        id="list-type-set",
    ),
    pytest.param(
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
        [{"name": "a"}, {"name": "b"}, {"name": "a"}],
        cause("spec.x[2]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"name":"a"}'),
        id="list-type-map",
    ),
    pytest.param(
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name", "protocol"],
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "protocol": {"type": "string"}, "port": {"type": "integer"}},
            },
        },
        [
            {"name": "a", "protocol": "TCP", "port": 1},
            {"name": "a", "protocol": "UDP"},
            {"name": "a", "protocol": "TCP"},
        ],
        cause(
            "spec.x[2]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"name":"a", "protocol":"TCP"}'
        ),
        id="list-type-map-two-keys",
    ),
    pytest.param(
        {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], "items": {}},
        ["a"],
        cause("spec.x[0]", "FieldValueInvalid", 'Invalid value: "a": must be an object for an array of list-type map'),
        id="list-type-map-of-scalars",
    ),
]


@pytest.mark.parametrize(("field", "value", "expected"), REJECTED)
def test_a_value_breaking_a_rule_is_rejected_with_the_upstream_cause(field, value, expected):
    assert causes(resource({"x": value}), field_schema(**field)) == [expected]


ACCEPTED = [
    pytest.param({"type": "integer"}, 3, id="integer"),
    pytest.param({"type": "integer"}, 2.0, id="integral-float-is-an-integer"),
    pytest.param({"type": "number"}, 3, id="integer-is-a-number"),
    pytest.param({"type": "number", "multipleOf": 0.1}, 0.3, id="float-multiple-of"),
    pytest.param({"type": "string", "maxLength": 3}, "ééé", id="max-length-counts-characters"),
    pytest.param({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05.5+01:00", id="date-time"),
    pytest.param({"type": "string", "format": "ipv4"}, "10.0.0.1", id="ipv4"),
    pytest.param({"type": "string", "format": "no-such-format"}, "anything", id="unsupported-format-ignored"),
    # kube-openapi never range-checks int32: its number validator is not given the format.
    pytest.param({"type": "integer", "format": "int32"}, 2**40, id="int32-is-not-range-checked"),
    pytest.param({"type": "string", "nullable": True}, None, id="nullable-null"),
    pytest.param({"x-kubernetes-int-or-string": True}, 8080, id="int-or-string-integer"),
    pytest.param({"x-kubernetes-int-or-string": True}, "http", id="int-or-string-string"),
    pytest.param(
        {"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": True}, "uniqueItems": True},
        [1, 1.5, "1", True],
        id="unique-keeps-json-types-apart",
    ),
    pytest.param({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}, ["a", "b"], id="set"),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_a_value_within_the_rules_is_accepted_unchanged(field, value):
    assert admitted(resource({"x": value}), field_schema(**field)).object["spec"] == {"x": value}


def test_every_violation_is_collected_before_rejecting():
    schema = resource_schema(
        {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer"},
                "tier": {"type": "string", "enum": ["gold", "silver"]},
                "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
            },
        }
    )
    obj = resource({"tier": "bronze", "ports": [{"port": 80}, {"port": "http"}]})

    found = causes(obj, schema)

    assert {(c["field"], c["reason"]) for c in found} == {
        ("spec.size", "FieldValueRequired"),
        ("spec.tier", "FieldValueNotSupported"),
        ("spec.ports[1].port", "FieldValueTypeInvalid"),
    }


def test_the_error_names_the_resource_and_summarises_every_cause():
    with pytest.raises(ApiError) as raised:
        admitted(resource({"x": "big"}), field_schema(type="integer"))

    status = raised.value.status()
    assert status["details"]["kind"] == "Widget"
    assert status["details"]["group"] == "example.com"
    assert status["details"]["name"] == "w"
    assert status["message"] == (
        'Widget.example.com "w" is invalid: spec.x: Invalid value: "string": '
        'spec.x in body must be of type integer: "string"'
    )


def test_an_object_where_the_root_requires_spec_is_rejected_at_spec():
    schema = resource_schema({"type": "object"})
    schema["required"] = ["spec"]
    obj = resource({})
    del obj["spec"]

    assert causes(obj, schema) == [cause("spec", "FieldValueRequired", "Required value")]


def test_status_is_validated_like_spec_when_the_schema_declares_it():
    schema = resource_schema(
        {"type": "object"}, status={"type": "object", "properties": {"ready": {"type": "boolean"}}}
    )

    found = causes(resource({}, status={"ready": "yes"}), schema)

    assert found == [
        cause(
            "status.ready",
            "FieldValueTypeInvalid",
            'Invalid value: "string": status.ready in body must be of type boolean: "string"',
        )
    ]


# --- composition keywords (validation only) -----------------------------------------------------------------------


def test_any_of_reports_the_summary_at_nil_and_the_first_branch_failure():
    field = {"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}

    assert causes(resource({"x": "c"}), field_schema(**field)) == [
        cause("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.x" must validate at least one schema (anyOf)'),
        cause("spec.x", "FieldValueInvalid", "Invalid value: \"c\": spec.x in body should match '^a'"),
    ]
    assert admitted(resource({"x": "b"}), field_schema(**field)).object["spec"] == {"x": "b"}


def test_one_of_rejects_a_value_matching_two_branches():
    field = {"type": "integer", "oneOf": [{"minimum": 1}, {"maximum": 10}]}

    assert causes(resource({"x": 5}), field_schema(**field)) == [
        cause(
            "<nil>",
            "FieldValueInvalid",
            'Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives',
        )
    ]
    assert admitted(resource({"x": 20}), field_schema(**field)).object["spec"] == {"x": 20}


def test_all_of_reports_each_failing_branch_and_the_summary():
    field = {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}

    assert causes(resource({"x": 7}), field_schema(**field)) == [
        cause("spec.x", "FieldValueInvalid", "Invalid value: 7: spec.x in body should be less than or equal to 3"),
        cause("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.x" must validate all the schemas (allOf)'),
    ]


def test_not_rejects_a_value_its_schema_accepts():
    field = {"type": "string", "not": {"enum": ["forbidden"]}}

    assert causes(resource({"x": "forbidden"}), field_schema(**field)) == [
        cause("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.x" must not validate the schema (not)')
    ]
    assert admitted(resource({"x": "fine"}), field_schema(**field)).object["spec"] == {"x": "fine"}


def test_int_or_string_with_its_structural_any_of_reports_both_as_upstream():
    field = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}

    assert causes(resource({"x": 1.5}), field_schema(**field)) == [
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "number": spec.x in body must be of type integer,string: "number"',
        ),
        cause("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.x" must validate at least one schema (anyOf)'),
        cause(
            "spec.x",
            "FieldValueTypeInvalid",
            'Invalid value: "number": spec.x in body must be of type integer: "number"',
        ),
    ]


# --- defaulting ---------------------------------------------------------------------------------------------------


DEFAULTED_SPEC = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "default": 1},
        "mode": {"type": "string", "default": "Pipeline"},
        "note": {"type": "string", "nullable": True, "default": "n/a"},
        "plain": {"type": "string"},
        "resources": {
            "type": "object",
            "default": {},
            "properties": {"cpu": {"type": "string", "default": "100m"}},
        },
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "protocol": {"type": "string", "default": "TCP"},
                },
            },
        },
    },
}


def test_missing_fields_get_their_defaults_recursively_and_inside_arrays():
    obj = resource({"replicas": 3, "ports": [{"name": "http"}, {"name": "dns", "protocol": "UDP"}]})

    spec = admitted(obj, resource_schema(DEFAULTED_SPEC)).object["spec"]

    assert spec == {
        "replicas": 3,
        "mode": "Pipeline",
        "note": "n/a",
        "resources": {"cpu": "100m"},
        "ports": [{"name": "http", "protocol": "TCP"}, {"name": "dns", "protocol": "UDP"}],
    }


def test_null_takes_the_default_unless_nullable_and_is_dropped_when_there_is_none():
    obj = resource({"replicas": None, "note": None, "plain": None})

    spec = admitted(obj, resource_schema(DEFAULTED_SPEC)).object["spec"]

    assert spec["replicas"] == 1
    assert spec["note"] is None
    assert "plain" not in spec


def test_a_null_array_item_takes_the_item_default():
    field = {"type": "array", "items": {"type": "string", "default": "x"}}

    assert admitted(resource({"x": ["a", None]}), field_schema(**field)).object["spec"] == {"x": ["a", "x"]}


def test_defaults_are_pruned_and_not_reported_as_unknown():
    field = {"type": "object", "default": {"known": "k", "unknown": "u"}, "properties": {"known": {"type": "string"}}}

    result = admitted(resource({}), field_schema(**field))

    assert result.object["spec"] == {"x": {"known": "k"}}
    assert result.unknown_fields == []


def test_the_input_is_not_mutated_and_the_output_shares_nothing_with_it_or_the_schema():
    schema = resource_schema(DEFAULTED_SPEC)
    schema_before = copy.deepcopy(schema)
    obj = resource({"ports": [{"name": "http", "extra": 1}]}, status={"x": 1})
    obj_before = copy.deepcopy(obj)

    result = admitted(obj, schema).object
    result["metadata"]["name"] = "changed"
    result["spec"]["resources"]["cpu"] = "changed"

    assert obj == obj_before
    assert schema == schema_before


# --- pruning ------------------------------------------------------------------------------------------------------


def test_unknown_fields_are_pruned_and_their_paths_reported_sorted():
    schema = resource_schema(DEFAULTED_SPEC)
    obj = resource({"replicas": 2, "zeta": 1, "ports": [{"name": "a"}, {"name": "b", "bogus": True}]}, extra="x")

    result = admitted(obj, schema)

    assert result.unknown_fields == ["extra", "spec.ports[1].bogus", "spec.zeta"]
    assert "zeta" not in result.object["spec"]
    assert "extra" not in result.object
    assert result.object["spec"]["ports"][1] == {"name": "b", "protocol": "TCP"}


def test_api_version_kind_and_metadata_are_kept_at_the_root_whatever_the_schema():
    schema = {"type": "object", "properties": {"spec": {"type": "object"}}}
    obj = resource({}) | {"metadata": {"name": "w", "labels": {"a": "b"}, "anything": 1}}

    result = admitted(obj, schema)

    assert result.object == obj
    assert result.unknown_fields == []


def test_status_is_pruned_entirely_when_the_schema_does_not_declare_it():
    result = admitted(resource({}, status={"ready": True}), resource_schema({"type": "object"}))

    assert "status" not in result.object
    assert result.unknown_fields == ["status"]


def test_preserve_unknown_fields_keeps_unknown_fields_but_prunes_inside_known_ones():
    field = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    obj = resource({"x": {"free": {"deep": [1, {"y": 2}]}, "known": {"a": "1", "b": "2"}}})

    result = admitted(obj, field_schema(**field))

    assert result.object["spec"]["x"] == {"free": {"deep": [1, {"y": 2}]}, "known": {"a": "1"}}
    assert result.unknown_fields == ["spec.x.known.b"]


def test_preserve_unknown_fields_on_an_array_applies_to_its_items():
    field = {
        "type": "array",
        "x-kubernetes-preserve-unknown-fields": True,
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }

    result = admitted(resource({"x": [{"name": "a", "other": 1}]}), field_schema(**field))

    assert result.object["spec"]["x"] == [{"name": "a", "other": 1}]
    assert result.unknown_fields == []


def test_additional_properties_schema_keeps_every_key_and_prunes_inside_values():
    field = {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}}

    result = admitted(resource({"x": {"a": {"v": "1", "w": "2"}, "b": {}}}), field_schema(**field))

    assert result.object["spec"]["x"] == {"a": {"v": "1"}, "b": {}}
    assert result.unknown_fields == ["spec.x.a.w"]


def test_additional_properties_true_keeps_keys_but_prunes_objects_under_them_as_upstream():
    field = {"type": "object", "additionalProperties": True}

    result = admitted(resource({"x": {"flag": True, "nested": {"a": 1}}}), field_schema(**field))

    assert result.object["spec"]["x"] == {"flag": True, "nested": {}}
    assert result.unknown_fields == ["spec.x.nested.a"]


def test_an_embedded_resource_keeps_its_type_and_object_meta_and_prunes_the_rest():
    field = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    }
    embedded = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {"size": 1}, "data": {}}

    result = admitted(resource({"x": embedded}), field_schema(**field))

    assert result.object["spec"]["x"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "spec": {"size": 1},
    }
    assert result.unknown_fields == ["spec.x.data"]


def test_an_embedded_resource_needs_an_api_version_and_a_kind():
    field = {"type": "object", "x-kubernetes-embedded-resource": True, "x-kubernetes-preserve-unknown-fields": True}

    assert causes(resource({"x": {"metadata": {}}}), field_schema(**field)) == [
        cause("spec.x.apiVersion", "FieldValueRequired", "Required value"),
        cause("spec.x.kind", "FieldValueRequired", "Required value"),
    ]
    assert causes(resource({"x": {"apiVersion": "a/b/c", "kind": 3}}), field_schema(**field)) == [
        cause(
            "spec.x.apiVersion", "FieldValueInvalid", 'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c'
        ),
        cause("spec.x.kind", "FieldValueInvalid", "Invalid value: 3: must be a string"),
    ]


# --- CustomResourceDefinition checks ------------------------------------------------------------------------------


def valid_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": DEFAULTED_ROOT}},
                {"name": "v1beta1", "served": False, "storage": False, "schema": {"openAPIV3Schema": DEFAULTED_ROOT}},
            ],
        },
    }


DEFAULTED_ROOT = resource_schema(DEFAULTED_SPEC)
SCHEMA = "spec.versions[0].schema.openAPIV3Schema"


def test_a_valid_crd_has_no_problems():
    assert crd_problems(valid_crd()) == []


def _parent(crd: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container holding the last segment of a dotted path (numbers index lists), and that segment."""
    *parents, last = (int(part) if part.isdigit() else part for part in path.split("."))
    target: Any = crd
    for key in parents:
        target = target[key]
    return target, last


def _without(path: str):
    def mutate(crd: dict[str, Any]) -> None:
        target, last = _parent(crd, path)
        del target[last]

    return mutate


def _setting(path: str, value: Any):
    def mutate(crd: dict[str, Any]) -> None:
        target, last = _parent(crd, path)
        target[last] = value

    return mutate


def _spec_field(**schema: Any):
    return _setting("spec.versions.0.schema.openAPIV3Schema", resource_schema(schema))


NAME_MISMATCH = cause(
    "metadata.name",
    "FieldValueInvalid",
    'Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
)
CRD_PROBLEMS = [
    pytest.param(
        _without("spec.group"),
        [NAME_MISMATCH, cause("spec.group", "FieldValueRequired", "Required value")],
        id="no-group",
    ),
    pytest.param(
        _setting("spec.group", "example"),
        [
            NAME_MISMATCH,
            cause(
                "spec.group", "FieldValueInvalid", 'Invalid value: "example": should be a domain with at least one dot'
            ),
        ],
        id="group-without-dot",
    ),
    pytest.param(
        _without("spec.names.plural"),
        [NAME_MISMATCH, cause("spec.names.plural", "FieldValueRequired", "Required value")],
        id="no-plural",
    ),
    pytest.param(
        _without("spec.names.kind"), [cause("spec.names.kind", "FieldValueRequired", "Required value")], id="no-kind"
    ),
    pytest.param(
        _setting("metadata.name", "gadgets.example.com"),
        [
            cause(
                "metadata.name",
                "FieldValueInvalid",
                'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group',
            )
        ],
        id="name-not-plural-dot-group",
    ),
    pytest.param(
        _setting("spec.scope", "Global"),
        [
            cause(
                "spec.scope",
                "FieldValueNotSupported",
                'Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
            )
        ],
        id="scope",
    ),
    pytest.param(
        _setting("spec.versions", []),
        [
            cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: []apiextensions.CustomResourceDefinitionVersion{}: "
                "must have exactly one version marked as storage version",
            )
        ],
        id="no-versions",
    ),
    pytest.param(
        _setting("spec.versions.1.storage", True),
        [
            cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: []apiextensions.CustomResourceDefinitionVersion{"
                'apiextensions.CustomResourceDefinitionVersion{Name:"v1", Served:true, Storage:true, ...}, '
                'apiextensions.CustomResourceDefinitionVersion{Name:"v1beta1", Served:false, Storage:true, ...}}: '
                "must have exactly one version marked as storage version",
            )
        ],
        id="two-storage-versions",
    ),
    pytest.param(
        _without("spec.versions.0.schema"),
        [
            cause(
                "spec.versions[0].schema.openAPIV3Schema", "FieldValueRequired", "Required value: schemas are required"
            )
        ],
        id="version-without-schema",
    ),
    pytest.param(
        _spec_field(properties={"size": {"type": "integer"}}),
        [
            cause(
                f"{SCHEMA}.properties[spec].type",
                "FieldValueRequired",
                "Required value: must not be empty for specified object fields",
            )
        ],
        id="field-without-type",
    ),
    pytest.param(
        _spec_field(type="object", properties={"tags": {"type": "array"}}),
        [
            cause(
                f"{SCHEMA}.properties[spec].properties[tags].items",
                "FieldValueRequired",
                "Required value: must be specified",
            )
        ],
        id="array-without-items",
    ),
    pytest.param(
        _spec_field(type="object", properties={"tags": {"type": "array", "items": {}}}),
        [
            cause(
                f"{SCHEMA}.properties[spec].properties[tags].items.type",
                "FieldValueRequired",
                "Required value: must not be empty for specified array items",
            )
        ],
        id="items-without-type",
    ),
    pytest.param(
        _spec_field(type="object", anyOf=[{"type": "object", "required": ["a"]}]),
        [
            cause(
                f"{SCHEMA}.properties[spec].anyOf[0].type",
                "FieldValueForbidden",
                "Forbidden: must be empty to be structural",
            )
        ],
        id="type-under-any-of",
    ),
    pytest.param(
        _setting("spec.versions.0.schema.openAPIV3Schema", {"type": "string"}),
        [cause(f"{SCHEMA}.type", "FieldValueInvalid", 'Invalid value: "string": must be object at the root')],
        id="root-not-object",
    ),
    pytest.param(
        _spec_field(type="object", properties={"a": {"type": "string"}}, additionalProperties={"type": "string"}),
        [
            cause(
                f"{SCHEMA}.properties[spec].additionalProperties",
                "FieldValueForbidden",
                "Forbidden: additionalProperties and properties are mutual exclusive",
            )
        ],
        id="properties-and-additional-properties",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), CRD_PROBLEMS)
def test_an_invalid_crd_is_reported_with_upstream_causes(mutate, expected):
    crd = copy.deepcopy(valid_crd())
    mutate(crd)

    assert crd_problems(crd) == expected


# --- a real upstream CRD ------------------------------------------------------------------------------------------

needs_crossplane_crds = pytest.mark.skipif(
    not CROSSPLANE_CRDS.is_dir(), reason=f"upstream Crossplane CRDs not present at {CROSSPLANE_CRDS}"
)


def crossplane_crd(name: str) -> dict[str, Any]:
    return yaml.safe_load((CROSSPLANE_CRDS / name).read_text())


def composition_schema() -> dict[str, Any]:
    crd = crossplane_crd("apiextensions.crossplane.io_compositions.yaml")
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def composition(pipeline: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {"name": "xpostgres"},
        "spec": {
            "compositeTypeRef": {"apiVersion": "platform.example.com/v1", "kind": "XPostgres"},
            "pipeline": pipeline,
            **spec,
        },
    }


def step(name: str, **extra: Any) -> dict[str, Any]:
    return {"step": name, "functionRef": {"name": "function-patch-and-transform"}, **extra}


@needs_crossplane_crds
def test_every_upstream_crossplane_crd_is_a_valid_crd():
    for path in sorted(CROSSPLANE_CRDS.glob("*.yaml")):
        assert crd_problems(yaml.safe_load(path.read_text())) == [], path.name


@needs_crossplane_crds
def test_a_realistic_composition_is_defaulted_and_pruned_with_its_function_input_preserved():
    function_input = {
        "apiVersion": "pt.fn.crossplane.io/v1beta1",
        "kind": "Resources",
        "resources": [{"name": "instance", "base": {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Instance"}}],
    }
    obj = composition(
        [step("patch-and-transform", input=function_input), step("auto-ready", note="not in the schema")],
        writeConnectionSecretsToNamespace="crossplane-system",
        legacyField=True,
    )

    result = admit(obj, composition_schema(), kind="Composition", group="apiextensions.crossplane.io", name="xpostgres")

    spec = result.object["spec"]
    assert spec["mode"] == "Pipeline"
    assert spec["pipeline"][0]["input"] == function_input
    assert spec["pipeline"][1] == step("auto-ready")
    assert spec["writeConnectionSecretsToNamespace"] == "crossplane-system"
    assert result.unknown_fields == ["spec.legacyField", "spec.pipeline[1].note"]


@needs_crossplane_crds
def test_a_broken_composition_is_rejected_with_every_cause():
    broken_input = {"kind": "Resources"}
    obj = composition([step("one", input=broken_input), {"step": "one"}], mode="Resources")

    found = causes(obj, composition_schema())

    assert found == [
        cause("spec.pipeline[0].input.apiVersion", "FieldValueRequired", "Required value"),
        cause("spec.pipeline[1].functionRef", "FieldValueRequired", "Required value"),
        cause("spec.pipeline[1]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"step":"one"}'),
        cause("spec.mode", "FieldValueNotSupported", 'Unsupported value: "Resources": supported values: "Pipeline"'),
        # The CEL rules wait for a well-formed object, as upstream's hasBlockingErr has them do.
        cause("<nil>", "FieldValueInvalid", f'Invalid value: "null": {RULES_NOT_CHECKED}'),
    ]
