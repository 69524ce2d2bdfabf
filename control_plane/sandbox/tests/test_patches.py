"""PATCH semantics: RFC 7386 and RFC 6902 appendix examples, and kube-apiserver's strategic merge patch results.

Where kube-apiserver departs from an RFC the test says so and asserts what the server does. Strategic merge patch
expectations come from the Kubernetes docs ("Update API Objects in Place Using kubectl patch") and from the fixtures
in k8s.io/apimachinery strategicpatch/patch_test.go, renamed onto real fields.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox.patches import (
    MERGE_KEYS,
    PatchRejected,
    json_patch,
    list_merge_key,
    merge_patch,
    strategic_merge_patch,
)

REJECTED = "the server rejected our request due to an error in our request"


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def _deployment(containers: list[dict[str, Any]], **pod_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo", "labels": {"app": "nginx", "tier": "web"}, "finalizers": ["a", "b"]},
        "spec": {"replicas": 2, "template": {"spec": {"containers": containers, **pod_spec}}},
    }


def _pod_spec_patch(**fields: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": fields}}}


# JSON merge patch: RFC 7386 appendix A.


@pytest.mark.parametrize(
    ("original", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc7386_appendix(original: Any, patch: dict[str, Any], result: Any) -> None:
    assert merge_patch(original, patch) == result


@pytest.mark.parametrize(
    ("original", "patch", "message"),
    [
        (
            {"a": "b"},
            ["c"],
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            ["a", "b"],
            ["c", "d"],
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            {"a": "foo"},
            "bar",
            "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        ({"a": "foo"}, None, "Invalid JSON Patch"),
    ],
)
def test_merge_patch_rejects_the_rfc7386_rows_whose_patch_is_not_an_object(
    original: Any, patch: Any, message: str
) -> None:
    # RFC 7386 returns such a patch as the result; kube-apiserver decodes the body into a map first and answers 400.
    with pytest.raises(ApiError) as raised:
        merge_patch(original, patch)
    assert (raised.value.code, raised.value.reason, raised.value.message) == (400, "BadRequest", message)


def test_merge_patch_drops_null_members_of_added_values_even_inside_arrays() -> None:
    # evanphx/json-patch v4.12 prunes what it adds; null array elements stay.
    assert merge_patch({"a": [1]}, {"a": [{"b": None, "c": 1}, None], "d": {"e": None}}) == {
        "a": [{"c": 1}, None],
        "d": {},
    }


def test_merge_patch_leaves_its_inputs_alone_and_shares_nothing_with_them() -> None:
    original = {"metadata": {"labels": {"app": "web"}}, "spec": {"ports": [{"port": 80}]}}
    patch = {"metadata": {"labels": {"tier": "front"}}, "spec": {"selector": {"app": "web"}}}
    before = copy.deepcopy((original, patch))

    result = merge_patch(original, patch)
    result["spec"]["ports"][0]["port"] = 8080
    result["spec"]["selector"]["app"] = "changed"

    assert (original, patch) == before


# JSON patch: RFC 6902 appendix A.


@pytest.mark.parametrize(
    ("original", "operations", "result"),
    [
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
            id="A.1 adding an object member",
        ),
        pytest.param(
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
            id="A.2 adding an array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "remove", "path": "/baz"}],
            {"foo": "bar"},
            id="A.3 removing an object member",
        ),
        pytest.param(
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
            id="A.4 removing an array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
            id="A.5 replacing a value",
        ),
        pytest.param(
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
            id="A.6 moving a value",
        ),
        pytest.param(
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
            id="A.7 moving an array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
            {"baz": "qux", "foo": ["a", 2, "c"]},
            id="A.8 testing a value: success",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
            id="A.10 adding a nested member object",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
            id="A.11 ignoring unrecognized elements",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}],
            {"/": 9, "~1": 10},
            id="A.14 ~ escape ordering",
        ),
        pytest.param(
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
            id="A.16 adding an array value",
        ),
    ],
)
def test_json_patch_follows_rfc6902_appendix(original: Any, operations: list[Any], result: Any) -> None:
    assert json_patch(original, operations) == result


@pytest.mark.parametrize(
    ("original", "body", "detail"),
    [
        pytest.param(
            {"baz": "qux", "foo": ["a", 2, "c"]},
            '[{"op": "test", "path": "/baz", "value": "bar"}]',
            "testing value /baz failed: test failed",
            id="A.9 testing a value: error",
        ),
        pytest.param(
            {"foo": "bar"},
            '[{"op": "add", "path": "/baz/bat", "value": "qux"}]',
            'add operation does not apply: doc is missing path: "/baz/bat": missing value',
            id="A.12 adding to a nonexistent target",
        ),
        pytest.param(
            # Go's decoder, like Python's, keeps the last "op": the patch removes a member that is not there.
            {"foo": "bar"},
            '[{"op": "add", "path": "/baz", "value": "qux", "op": "remove"}]',
            "error in remove for path: '/baz': Unable to remove nonexistent key: baz: missing value",
            id="A.13 invalid JSON patch document",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            '[{"op": "test", "path": "/~01", "value": "10"}]',
            "testing value /~01 failed: test failed",
            id="A.15 comparing strings and numbers",
        ),
    ],
)
def test_json_patch_rejects_the_rfc6902_error_examples_with_422(original: Any, body: str, detail: str) -> None:
    with pytest.raises(PatchRejected) as raised:
        json_patch(original, json.loads(body))
    assert raised.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": REJECTED,
        "reason": "Invalid",
        "code": 422,
    }
    assert raised.value.detail == detail


def test_json_patch_replace_of_a_missing_member_adds_it() -> None:
    # evanphx/json-patch v4 answers a missing object member with nil, not an error; kube-apiserver inherits that.
    assert json_patch({"metadata": {}}, [{"op": "replace", "path": "/metadata/labels", "value": {"a": "b"}}]) == {
        "metadata": {"labels": {"a": "b"}}
    }


def test_json_patch_accepts_negative_indices_counting_from_the_end() -> None:
    finalizers = {"metadata": {"finalizers": ["foo", "bar", "test"]}}
    assert json_patch(finalizers, [{"op": "replace", "path": "/metadata/finalizers/-1", "value": "foo"}]) == {
        "metadata": {"finalizers": ["foo", "bar", "foo"]}
    }
    with pytest.raises(PatchRejected) as raised:
        json_patch(finalizers, [{"op": "remove", "path": "/metadata/finalizers/-4"}])
    assert raised.value.detail == (
        "error in remove for path: '/metadata/finalizers/-4': "
        "Unable to access invalid index: -4: invalid index referenced"
    )


def test_json_patch_copy_duplicates_the_value_rather_than_aliasing_it() -> None:
    result = json_patch({"a": {"x": [1]}}, [{"op": "copy", "from": "/a", "path": "/b"}])
    result["b"]["x"].append(2)
    assert result == {"a": {"x": [1]}, "b": {"x": [1, 2]}}


def test_json_patch_stops_at_the_first_failing_operation_without_touching_the_target() -> None:
    target = {"spec": {"replicas": 1}}
    with pytest.raises(PatchRejected):
        json_patch(
            target,
            [
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "test", "path": "/spec/replicas", "value": 1},
            ],
        )
    assert target == {"spec": {"replicas": 1}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"op": "add"},
            "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
        ),
        (["add"], "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"),
        (
            [{"op": "add", "path": 5, "value": 1}],
            "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string",
        ),
    ],
)
def test_json_patch_body_of_the_wrong_shape_is_400(body: Any, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        json_patch({"a": 1}, body)
    assert (raised.value.code, raised.value.reason, raised.value.message) == (400, "BadRequest", message)


def test_json_patch_unknown_operation_is_422() -> None:
    with pytest.raises(PatchRejected) as raised:
        json_patch({"a": 1}, [{"op": "frobnicate", "path": "/a"}])
    assert raised.value.detail == "Unexpected kind: frobnicate"


def test_json_patch_null_body_changes_nothing() -> None:
    assert json_patch({"a": 1}, None) == {"a": 1}


def test_json_patch_over_ten_thousand_operations_is_413() -> None:
    with pytest.raises(ApiError) as raised:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1}] * 10001)
    assert (raised.value.code, raised.value.reason, raised.value.message) == (
        413,
        "RequestEntityTooLarge",
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
    )


def test_json_patch_leaves_its_inputs_alone() -> None:
    target = {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}
    operations = [{"op": "add", "path": "/spec/containers/-", "value": {"name": "b"}}]
    before = copy.deepcopy((target, operations))

    result = json_patch(target, operations)
    result["spec"]["containers"][1]["image"] = "redis"

    assert (target, operations) == before


# Strategic merge patch.


def test_smp_changes_a_container_image_by_name_and_keeps_the_other_containers() -> None:
    live = _deployment(
        [{"name": "web", "image": "nginx:1.0", "ports": [{"containerPort": 80}]}, {"name": "cache", "image": "redis"}]
    )

    result = strategic_merge_patch(
        live, _pod_spec_patch(containers=[{"name": "web", "image": "nginx:1.1"}]), "Deployment"
    )

    assert _containers(result) == [
        {"name": "web", "image": "nginx:1.1", "ports": [{"containerPort": 80}]},
        {"name": "cache", "image": "redis"},
    ]
    assert result["spec"]["replicas"] == 2


def test_smp_puts_a_new_container_first_and_replaces_tolerations() -> None:
    # The kubectl patch task in the Kubernetes docs: the redis container lands before nginx, and tolerations,
    # which have no patch strategy, are replaced rather than merged.
    live = _deployment(
        [{"name": "patch-demo-ctr", "image": "nginx"}],
        tolerations=[{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
    )

    with_redis = strategic_merge_patch(
        live, _pod_spec_patch(containers=[{"name": "patch-demo-ctr-2", "image": "redis"}]), "Deployment"
    )
    retolerated = strategic_merge_patch(
        with_redis,
        _pod_spec_patch(tolerations=[{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]),
        "Deployment",
    )

    assert [c["name"] for c in _containers(with_redis)] == ["patch-demo-ctr-2", "patch-demo-ctr"]
    assert retolerated["spec"]["template"]["spec"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
    ]


def test_smp_merges_env_by_name() -> None:
    live = _deployment([{"name": "web", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])
    patch = _pod_spec_patch(
        containers=[{"name": "web", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]
    )

    result = strategic_merge_patch(live, patch, "Deployment")

    assert _containers(result)[0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]


def test_smp_patch_delete_removes_one_container() -> None:
    live = _deployment([{"name": "web", "image": "nginx"}, {"name": "cache", "image": "redis"}])

    result = strategic_merge_patch(
        live, _pod_spec_patch(containers=[{"name": "cache", "$patch": "delete"}]), "Deployment"
    )

    assert _containers(result) == [{"name": "web", "image": "nginx"}]


def test_smp_patch_replace_replaces_a_list() -> None:
    live = _deployment([{"name": "web", "image": "nginx"}, {"name": "cache", "image": "redis"}])
    patch = _pod_spec_patch(containers=[{"name": "only", "image": "busybox"}, {"$patch": "replace"}])

    assert _containers(strategic_merge_patch(live, patch, "Deployment")) == [{"name": "only", "image": "busybox"}]


def test_smp_patch_replace_replaces_a_map() -> None:
    live = _deployment([{"name": "web"}])

    result = strategic_merge_patch(live, {"metadata": {"labels": {"$patch": "replace", "app": "api"}}}, "Deployment")

    assert result["metadata"]["labels"] == {"app": "api"}


def test_smp_patch_delete_of_a_map_empties_it_and_of_an_absent_map_adds_nothing() -> None:
    live = _deployment([{"name": "web"}], nodeSelector={"disk": "ssd"})
    patch = _pod_spec_patch(nodeSelector={"$patch": "delete"}, affinity={"$patch": "delete"})

    pod_spec = strategic_merge_patch(live, patch, "Deployment")["spec"]["template"]["spec"]

    assert pod_spec["nodeSelector"] == {}
    assert "affinity" not in pod_spec


def test_smp_retain_keys_clears_the_fields_it_does_not_list() -> None:
    # The retainKeys example of the kubectl patch task: switching a Deployment to Recreate drops rollingUpdate.
    live = _deployment([{"name": "web"}])
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}

    result = strategic_merge_patch(
        live, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "Deployment"
    )

    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_null_deletes_a_label_and_adds_no_null() -> None:
    live = _deployment([{"name": "web"}])

    result = strategic_merge_patch(
        live, {"metadata": {"labels": {"tier": None}, "annotations": {"note": None}}}, "Deployment"
    )

    assert result["metadata"]["labels"] == {"app": "nginx"}
    assert result["metadata"]["annotations"] == {}


def test_smp_delete_from_primitive_list_removes_finalizers() -> None:
    live = _deployment([{"name": "web"}])
    live["metadata"]["finalizers"] = ["a", "b", "c", "b"]

    result = strategic_merge_patch(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}, "Deployment")

    assert result["metadata"]["finalizers"] == ["a", "c"]


def test_smp_merges_finalizers_as_a_set_with_new_ones_first() -> None:
    live = _deployment([{"name": "web"}])

    result = strategic_merge_patch(live, {"metadata": {"finalizers": ["c", "b"]}}, "Deployment")

    assert result["metadata"]["finalizers"] == ["c", "a", "b"]


def test_smp_merges_service_ports_by_port() -> None:
    live = {
        "kind": "Service",
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443}]},
    }

    result = strategic_merge_patch(live, {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}, "Service")

    assert result["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "https", "port": 443, "targetPort": 8443},
    ]


def test_smp_merges_conditions_by_type() -> None:
    live = {
        "kind": "Pod",
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
            "podIPs": [{"ip": "10.0.0.1"}],
        },
    }

    result = strategic_merge_patch(live, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "Pod")

    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
    ]


def test_smp_merges_owner_references_by_uid() -> None:
    live = {"metadata": {"ownerReferences": [{"uid": "1", "kind": "ReplicaSet", "name": "rs"}]}}
    patch = {
        "metadata": {"ownerReferences": [{"uid": "1", "controller": True}, {"uid": "2", "kind": "Job", "name": "j"}]}
    }

    result = strategic_merge_patch(live, patch, "Pod")

    assert result["metadata"]["ownerReferences"] == [
        {"uid": "1", "kind": "ReplicaSet", "name": "rs", "controller": True},
        {"uid": "2", "kind": "Job", "name": "j"},
    ]


@pytest.mark.parametrize(
    ("live_names", "order", "items", "result_names"),
    [
        # strategicpatch fixtures "add map and delete map from merging list" (with and without conflict).
        (["a", "b", "d"], ["b", "c"], [{"name": "c"}, {"name": "a", "$patch": "delete"}], ["b", "d", "c"]),
        (["a", "d"], ["b", "c"], [{"name": "b"}, {"name": "c"}, {"name": "a", "$patch": "delete"}], ["d", "b", "c"]),
        # "delete and reorder in one list, reorder in another": an order alone reorders the live list.
        (["c", "d"], ["d", "c"], None, ["d", "c"]),
    ],
)
def test_smp_set_element_order_orders_the_merged_list(
    live_names: list[str], order: list[str], items: list[dict[str, Any]] | None, result_names: list[str]
) -> None:
    live = {"spec": {"containers": [{"name": name, "image": f"{name}:1"} for name in live_names]}}
    patch: dict[str, Any] = {"$setElementOrder/containers": [{"name": name} for name in order]}
    if items is not None:
        patch["containers"] = items

    result = strategic_merge_patch(live, {"spec": patch}, "Pod")

    assert [c["name"] for c in result["spec"]["containers"]] == result_names
    assert all(c.get("image") in (None, f"{c['name']}:1") for c in result["spec"]["containers"])


def test_smp_leaves_no_directive_keys_in_the_result() -> None:
    # kubectl apply sends $setElementOrder inside new list items; the server's typed decode drops such keys.
    live = _deployment([{"name": "web"}])
    new_container = {"name": "sidecar", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "A", "value": "1"}]}
    patch = _pod_spec_patch(containers=[new_container], initContainers=[{"name": "gone", "$patch": "delete"}])

    pod_spec = strategic_merge_patch(live, patch, "Deployment")["spec"]["template"]["spec"]

    assert pod_spec["containers"][0] == {"name": "sidecar", "env": [{"name": "A", "value": "1"}]}
    assert pod_spec["initContainers"] == []


def test_smp_on_a_kind_without_tables_merges_only_object_meta_lists() -> None:
    live = {"metadata": {"ownerReferences": [{"uid": "1"}]}, "rules": [{"verbs": ["get"]}]}
    patch = {"metadata": {"ownerReferences": [{"uid": "2"}]}, "rules": [{"verbs": ["list"]}]}

    result = strategic_merge_patch(live, patch, "Role")

    assert result == {"metadata": {"ownerReferences": [{"uid": "2"}, {"uid": "1"}]}, "rules": [{"verbs": ["list"]}]}


def test_smp_null_body_changes_nothing() -> None:
    live = _deployment([{"name": "web"}])
    assert strategic_merge_patch(live, None, "Deployment") == live


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (["spec"], "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ({"spec": {"$retainKeys": ["replicas"], "paused": True}}, "invalid patch format of retainKeys"),
        ({"spec": {"$retainKeys": "replicas"}}, "invalid patch format of retainKeys"),
        ({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}, "invalid patch format of primitive list"),
        ({"metadata": {"$setElementOrder": ["a"]}}, "invalid patch format of setElementOrder list"),
    ],
)
def test_smp_malformed_patch_is_400(patch: Any, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        strategic_merge_patch(_deployment([{"name": "web"}]), patch, "Deployment")
    assert (raised.value.code, raised.value.reason, raised.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize(
    ("containers", "message"),
    [
        ([{"image": "nginx"}], "map: map[image:nginx] does not contain declared merge key: name"),
        (
            [{"name": "web", "$patch": "frobnicate"}],
            "unknown patch type: frobnicate in map: map[$patch:frobnicate name:web]",
        ),
        ([{"name": "web", "$patch": "merge"}], "merging lists cannot yet be specified in the patch"),
    ],
)
def test_smp_errors_upstream_does_not_classify_are_500_with_its_text(containers: list[Any], message: str) -> None:
    with pytest.raises(ApiError) as raised:
        strategic_merge_patch(_deployment([{"name": "web"}]), _pod_spec_patch(containers=containers), "Deployment")
    assert (raised.value.code, raised.value.message) == (500, message)


def test_smp_list_of_lists_in_a_merging_list_is_422() -> None:
    live = _deployment([{"name": "web"}])
    live["metadata"]["finalizers"] = []

    with pytest.raises(PatchRejected) as raised:
        strategic_merge_patch(live, {"metadata": {"finalizers": [["a"]]}}, "Deployment")
    assert raised.value.detail == "lists of lists are not supported"


def test_smp_leaves_its_inputs_alone() -> None:
    live = _deployment([{"name": "web", "env": [{"name": "A", "value": "1"}]}])
    patch = _pod_spec_patch(
        containers=[{"name": "web", "env": [{"name": "B", "value": "2"}]}, {"name": "new", "$setElementOrder/env": []}]
    )
    before = copy.deepcopy((live, patch))

    result = strategic_merge_patch(live, patch, "Deployment")
    for container in _containers(result):
        container["image"] = "changed"

    assert (live, patch) == before


# The merge-key tables.


@pytest.mark.parametrize(
    ("kind", "path", "key"),
    [
        ("Pod", "spec.containers", "name"),
        ("Pod", "spec.initContainers.ports", "containerPort"),
        ("Pod", "spec.containers.volumeMounts", "mountPath"),
        ("Pod", "spec.volumes", "name"),
        ("Pod", "spec.hostAliases", "ip"),
        ("Pod", "status.conditions", "type"),
        ("Deployment", "spec.template.spec.containers.env", "name"),
        ("StatefulSet", "status.conditions", "type"),
        ("Service", "spec.ports", "port"),
        ("ServiceAccount", "secrets", "name"),
        ("ConfigMap", "metadata.ownerReferences", "uid"),
        ("Role", "metadata.ownerReferences", "uid"),
        ("Pod", "spec.tolerations", None),
        ("Pod", "metadata.finalizers", None),
        ("Ingress", "spec.rules", None),
    ],
)
def test_list_merge_key_gives_the_patch_merge_key(kind: str, path: str, key: str | None) -> None:
    assert list_merge_key(kind, path) == key


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"])
def test_pod_templates_share_the_pod_spec_merge_keys(kind: str) -> None:
    template = {
        path.removeprefix("spec.template."): key
        for path, key in MERGE_KEYS[kind].items()
        if path.startswith("spec.template.spec.")
    }
    pod = {path: key for path, key in MERGE_KEYS["Pod"].items() if path.startswith("spec.")}
    assert template == pod
