"""Server-side apply and managedFields, checked against kube-apiserver's documented and coded behaviour."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox.apply import (
    SET_LIST,
    Path,
    fields_v1_from_set,
    managed_field_set,
    server_side_apply,
    track_update,
)

NOW = "2024-05-01T10:00:00Z"
LATER = "2024-05-01T10:05:00Z"
LATEST = "2024-05-01T10:10:00Z"

LIST_KEYS: dict[str, tuple[str, ...]] = {
    "metadata.finalizers": SET_LIST,
    "spec.template.spec.containers": ("name",),
    "spec.template.spec.containers.ports": ("containerPort", "protocol"),
    "status.conditions": ("type",),
}


def list_keys(schema_path: str) -> tuple[str, ...] | None:
    return LIST_KEYS.get(schema_path)


def deployment(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", **metadata},
    }
    if spec is not None:
        body["spec"] = spec
    return body


def containers(*items: dict[str, Any]) -> dict[str, Any]:
    return {"template": {"spec": {"containers": list(items)}}}


def apply(live: dict | None, config: dict, manager: str = "devplat", **options: Any) -> dict:
    options = {"force": False, "now": NOW, **options}
    return server_side_apply(live, config, manager=manager, api_version="apps/v1", list_keys=list_keys, **options)


def update(old: dict | None, new: dict, manager: str = "kubectl", **options: Any) -> dict:
    options = {"now": NOW, **options}
    return track_update(old, new, manager=manager, api_version="apps/v1", list_keys=list_keys, **options)


def entries(obj: dict) -> list[dict]:
    return obj["metadata"].get("managedFields", [])


def owned(obj: dict, manager: str, operation: str = "Apply", subresource: str = "") -> set[Path]:
    for entry in entries(obj):
        if (entry["manager"], entry["operation"], entry.get("subresource", "")) == (manager, operation, subresource):
            return managed_field_set(entry["fieldsV1"])
    return set()


def conflict_of(call: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.code == 409
    assert raised.value.reason == "Conflict"
    return raised.value


REPLICAS = ("f:spec", "f:replicas")


def test_apply_creates_the_object_and_records_the_applier_as_owner_of_every_applied_field() -> None:
    config = deployment({"replicas": 2, "paused": False}, labels={"app": "web"})

    created = apply(None, config)

    assert created["spec"] == {"replicas": 2, "paused": False}
    assert created["metadata"]["labels"] == {"app": "web"}
    assert entries(created) == [
        {
            "manager": "devplat",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": NOW,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:paused": {}, "f:replicas": {}}},
        }
    ]


def test_two_appliers_of_the_same_value_share_the_field_and_neither_may_change_it_alone() -> None:
    live = apply(None, deployment({"replicas": 2}), manager="alpha")

    shared = apply(live, deployment({"replicas": 2}), manager="beta")

    assert REPLICAS in owned(shared, "alpha")
    assert REPLICAS in owned(shared, "beta")
    error = conflict_of(lambda: apply(shared, deployment({"replicas": 3}), manager="alpha"))
    assert error.message == 'Apply failed with 1 conflict: conflict with "beta": .spec.replicas'


def test_conflict_names_the_other_manager_and_the_field_path_as_upstream_does() -> None:
    live = update(None, deployment({"replicas": 1}))

    error = conflict_of(lambda: apply(live, deployment({"replicas": 3})))

    assert error.message == 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
    assert error.status()["details"] == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }


def test_several_conflicts_are_listed_by_manager() -> None:
    live = apply(None, deployment({"replicas": 1, "paused": False}), manager="alpha")
    live = update(live, {**live, "spec": {**live["spec"], "minReadySeconds": 5}})

    error = conflict_of(lambda: apply(live, deployment({"replicas": 2, "paused": True, "minReadySeconds": 9})))

    assert error.message == (
        'Apply failed with 3 conflicts: conflicts with "alpha":\n- .spec.paused\n- .spec.replicas\n'
        'conflicts with "kubectl" using apps/v1:\n- .spec.minReadySeconds'
    )
    assert [cause["field"] for cause in error.status()["details"]["causes"]] == [
        ".spec.paused",
        ".spec.replicas",
        ".spec.minReadySeconds",
    ]


def test_force_takes_ownership_of_conflicting_fields_only() -> None:
    live = update(None, deployment({"replicas": 1, "paused": False}))

    forced = apply(live, deployment({"replicas": 4}), force=True)

    assert forced["spec"] == {"replicas": 4, "paused": False}
    assert owned(forced, "devplat") == {REPLICAS}
    assert owned(forced, "kubectl", "Update") == {("f:spec",), ("f:spec", "f:paused")}


def test_force_drops_a_manager_left_without_fields() -> None:
    live = apply(None, deployment({"replicas": 1}), manager="alpha")

    forced = apply(live, deployment({"replicas": 4}), force=True)

    assert [entry["manager"] for entry in entries(forced)] == ["devplat"]


def test_fields_the_applier_stopped_applying_are_removed() -> None:
    live = apply(
        None, deployment({"replicas": 1, "strategy": {"type": "Recreate"}}, labels={"app": "web", "tier": "a"})
    )

    pruned = apply(live, deployment({"replicas": 1}, labels={"app": "web"}))

    assert pruned["metadata"]["labels"] == {"app": "web"}
    assert pruned["spec"] == {"replicas": 1}
    assert owned(pruned, "devplat") == {("f:metadata", "f:labels", "f:app"), REPLICAS}


def test_a_field_the_applier_stopped_applying_stays_while_another_applier_owns_it() -> None:
    live = apply(None, deployment({"replicas": 1}, labels={"tier": "a"}))
    live = apply(live, deployment(labels={"tier": "a"}), manager="other")

    kept = apply(live, deployment({"replicas": 1}))

    assert kept["metadata"]["labels"] == {"tier": "a"}
    assert owned(kept, "devplat") == {REPLICAS}
    assert owned(kept, "other") == {("f:metadata", "f:labels", "f:tier")}


def test_a_field_the_applier_stopped_applying_stays_while_an_updater_owns_it() -> None:
    untracked = deployment({"replicas": 1}, labels={"tier": "a"}, uid="u-1")
    live = apply(untracked, deployment({"replicas": 1}, labels={"tier": "a"}))
    assert ("f:metadata", "f:labels", "f:tier") in owned(live, "before-first-apply", "Update")

    kept = apply(live, deployment({"replicas": 1}))

    assert kept["metadata"]["labels"] == {"tier": "a"}
    assert ("f:metadata", "f:labels", "f:tier") not in owned(kept, "devplat")


def test_containers_merge_by_name_and_a_disowned_container_is_removed() -> None:
    live = apply(None, deployment(containers({"name": "app", "image": "app:1"})), manager="team")
    live = apply(live, deployment(containers({"name": "proxy", "image": "envoy"})), manager="mesh")
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == ["app", "proxy"]

    live = apply(live, deployment(containers({"name": "app", "image": "app:2"})), manager="team")
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "app:2"},
        {"name": "proxy", "image": "envoy"},
    ]

    live = apply(live, deployment({"replicas": 1}), manager="mesh")
    assert live["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "app:2"}]
    assert owned(live, "mesh") == {REPLICAS}


def test_a_container_field_owned_by_another_manager_conflicts_per_item() -> None:
    live = apply(None, deployment(containers({"name": "app", "image": "app:1"})), manager="team")

    error = conflict_of(lambda: apply(live, deployment(containers({"name": "app", "image": "app:2"}))))

    assert error.message == (
        'Apply failed with 1 conflict: conflict with "team": .spec.template.spec.containers[name="app"].image'
    )


def test_keyed_items_shared_with_the_live_object_follow_the_config_order_others_keep_their_place() -> None:
    names = ("a", "b", "c")
    live = update(None, deployment(containers(*({"name": name} for name in names))))

    merged = apply(live, deployment(containers({"name": "c"}, {"name": "a"})))

    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["b", "c", "a"]


def test_status_conditions_merge_by_type_through_the_status_subresource_only() -> None:
    live = apply(None, deployment({"replicas": 1}), has_status_subresource=True)
    ready = {"type": "Ready", "status": "True"}
    synced = {"type": "Synced", "status": "True"}

    live = apply(
        live, {**deployment({"replicas": 99}), "status": {"conditions": [ready]}}, "ctrl", subresource="status"
    )
    live = apply(live, {**deployment(), "status": {"conditions": [synced]}}, "sync", subresource="status")

    assert live["spec"] == {"replicas": 1}
    assert live["status"]["conditions"] == [ready, synced]
    ready_key = 'k:{"type":"Ready"}'
    assert owned(live, "ctrl", subresource="status") == {
        ("f:status", "f:conditions", ready_key),
        ("f:status", "f:conditions", ready_key, "f:status"),
        ("f:status", "f:conditions", ready_key, "f:type"),
    }
    assert [(e["manager"], e.get("subresource")) for e in entries(live)] == [
        ("ctrl", "status"),
        ("devplat", None),
        ("sync", "status"),
    ]


def test_applying_the_main_resource_leaves_status_alone_when_the_kind_has_a_status_subresource() -> None:
    live = {**apply(None, deployment({"replicas": 1})), "status": {"replicas": 1}}

    applied = apply(live, {**deployment({"replicas": 2}), "status": {"replicas": 7}}, has_status_subresource=True)

    assert applied["status"] == {"replicas": 1}
    assert owned(applied, "devplat") == {REPLICAS}


def test_an_atomic_list_is_one_field_replaced_as_a_whole() -> None:
    live = apply(None, deployment({"hosts": ["a", "b"]}), manager="alpha")
    assert entries(live)[0]["fieldsV1"] == {"f:spec": {"f:hosts": {}}}

    error = conflict_of(lambda: apply(live, deployment({"hosts": ["c"]})))
    assert error.message == 'Apply failed with 1 conflict: conflict with "alpha": .spec.hosts'

    forced = apply(live, deployment({"hosts": ["c"]}), force=True)
    assert forced["spec"]["hosts"] == ["c"]


def test_a_kubectl_scale_update_then_an_apply_of_replicas_conflicts() -> None:
    live = apply(None, deployment({"replicas": 2, "paused": False}))
    scaled = update(live, {**live, "spec": {**live["spec"], "replicas": 5}}, now=LATER, subresource="scale")

    assert owned(scaled, "kubectl", "Update", "scale") == {REPLICAS}
    assert owned(scaled, "devplat") == {("f:spec", "f:paused")}
    error = conflict_of(lambda: apply(scaled, deployment({"replicas": 2, "paused": False}), now=LATEST))
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas'
    )


def test_fields_v1_encodes_keyed_items_sets_and_owned_parents_in_upstream_order() -> None:
    port = 'k:{"containerPort":80,"protocol":"TCP"}'
    app = 'k:{"name":"app"}'
    paths = {
        ("f:metadata", "f:finalizers", 'v:"b"'),
        ("f:metadata", "f:finalizers", 'v:"a"'),
        ("f:spec", "f:containers", app),
        ("f:spec", "f:containers", app, "f:name"),
        ("f:spec", "f:containers", app, "f:ports", port),
        ("f:spec", "f:containers", app, "f:ports", port, "f:containerPort"),
    }

    encoded = fields_v1_from_set(paths)

    assert encoded == {
        "f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}},
        "f:spec": {"f:containers": {app: {".": {}, "f:name": {}, "f:ports": {port: {".": {}, "f:containerPort": {}}}}}},
    }
    assert list(encoded["f:metadata"]["f:finalizers"]) == ['v:"a"', 'v:"b"']
    assert managed_field_set(encoded) == paths


def test_applied_list_items_are_encoded_with_sorted_compact_keys() -> None:
    config = deployment(containers({"name": "app", "ports": [{"protocol": "UDP", "containerPort": 53}]}))

    created = apply(None, {**config, "metadata": {**config["metadata"], "finalizers": ["x"]}})

    fields = entries(created)[0]["fieldsV1"]
    item = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert item["f:ports"] == {
        'k:{"containerPort":53,"protocol":"UDP"}': {".": {}, "f:containerPort": {}, "f:protocol": {}}
    }
    assert fields["f:metadata"] == {"f:finalizers": {'v:"x"': {}}}


def test_managed_field_set_canonicalizes_client_written_keys_and_rejects_unknown_elements() -> None:
    assert managed_field_set({"f:ports": {'k:{"protocol": "TCP", "containerPort": 80}': {".": {}, "f:name": {}}}}) == {
        ("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'),
        ("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}', "f:name"),
    }
    with pytest.raises(ValueError, match="invalid fieldsV1 path element"):
        managed_field_set({"x:spec": {}})


def test_a_list_map_item_missing_a_key_field_is_keyed_by_the_fields_it_has() -> None:
    created = apply(None, deployment(containers({"name": "app", "ports": [{"containerPort": 80}]})))

    item = entries(created)[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert list(item["f:ports"]) == ['k:{"containerPort":80}']


def test_duplicate_keyed_items_in_an_applied_config_fail_as_upstream_does() -> None:
    config = deployment(containers({"name": "app"}, {"name": "app", "image": "x"}))

    with pytest.raises(ApiError) as raised:
        apply(None, config)

    assert raised.value.code == 500
    assert raised.value.message == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
        '.spec.template.spec.containers: duplicate entries for key [name="app"]'
    )


def test_an_applied_config_carrying_managed_fields_is_a_bad_request() -> None:
    config = deployment({"replicas": 1}, managedFields=[])

    with pytest.raises(ApiError) as raised:
        apply(None, config)

    assert (raised.value.code, raised.value.reason) == (400, "BadRequest")
    assert raised.value.message == "metadata.managedFields must be nil"


def test_a_create_by_update_owns_every_field_and_the_maps_it_introduced() -> None:
    created = update(None, deployment({"replicas": 1, "selector": {"app": "web"}}, labels={"app": "web"}))

    assert entries(created) == [
        {
            "manager": "kubectl",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": NOW,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {".": {}, "f:replicas": {}, "f:selector": {".": {}, "f:app": {}}},
            },
        }
    ]


def test_an_update_takes_changed_fields_and_drops_removed_ones_from_every_manager() -> None:
    live = apply(None, deployment({"replicas": 1}, labels={"app": "web", "tier": "a"}))
    metadata = {**live["metadata"], "labels": {"tier": "b"}}

    updated = update(live, {**live, "metadata": metadata}, now=LATER)

    assert owned(updated, "devplat") == {REPLICAS}
    assert owned(updated, "kubectl", "Update") == {("f:metadata", "f:labels", "f:tier")}
    assert entries(updated)[1]["time"] == LATER


def test_an_update_that_changes_nothing_records_no_manager() -> None:
    live = apply(None, deployment({"replicas": 1}))

    assert entries(update(live, copy.deepcopy(live), now=LATER)) == entries(live)


@pytest.mark.parametrize("reset", [[{}], []])
def test_an_update_can_reset_managed_fields_and_the_next_apply_meets_before_first_apply(reset: list) -> None:
    live = apply(None, deployment({"replicas": 1}))

    cleared = update(live, {**live, "metadata": {**live["metadata"], "managedFields": reset}})
    assert "managedFields" not in cleared["metadata"]
    untracked = update(cleared, {**cleared, "spec": {"replicas": 2}})
    assert "managedFields" not in untracked["metadata"]

    error = conflict_of(lambda: apply(untracked, deployment({"replicas": 3})))
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas'
    )


def test_an_update_may_rewrite_managed_fields_except_through_a_subresource() -> None:
    live = apply(None, deployment({"replicas": 1}))
    handed_over = [{**entries(live)[0], "manager": "new-owner"}]
    body = {**live, "metadata": {**live["metadata"], "managedFields": handed_over}}

    assert [e["manager"] for e in entries(update(live, body))] == ["new-owner"]
    assert [e["manager"] for e in entries(update(live, body, subresource="status"))] == ["devplat"]


def test_an_update_whose_list_map_cannot_be_keyed_keeps_the_previous_managed_fields() -> None:
    live = apply(None, deployment({"replicas": 1}))
    broken = {**live, "spec": {"replicas": 2, **containers("not-a-map")}}

    assert entries(update(live, broken)) == entries(live)


def test_a_no_op_apply_keeps_the_entry_time() -> None:
    live = apply(None, deployment({"replicas": 1}))

    again = apply(live, deployment({"replicas": 1}), now=LATER)

    assert again == live


def test_entries_are_ordered_by_operation_then_time_then_manager() -> None:
    live = update(None, deployment({"replicas": 1}), manager="creator")
    live = apply(live, deployment(labels={"a": "1"}), manager="zeta", now=LATER)
    live = apply(live, deployment(labels={"b": "1"}), manager="alpha", now=LATEST)

    assert [(e["operation"], e["manager"]) for e in entries(live)] == [
        ("Apply", "zeta"),
        ("Apply", "alpha"),
        ("Update", "creator"),
    ]


def test_inputs_are_not_mutated() -> None:
    live = apply(None, deployment(containers({"name": "app", "image": "app:1"}), labels={"app": "web"}))
    config = deployment(containers({"name": "app", "image": "app:2"}, {"name": "proxy"}))
    new = {**live, "spec": {"replicas": 3}}
    snapshots = copy.deepcopy((live, config, new))

    apply(live, config, force=True, now=LATER)
    update(live, new, now=LATER)

    assert (live, config, new) == snapshots
