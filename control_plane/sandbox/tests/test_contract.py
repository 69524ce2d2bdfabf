"""The sandbox against the official `kubernetes` client: what the Kubernetes API concepts documentation promises.

Each test drives the sandbox over real HTTP with the client's typed APIs, `CustomObjectsApi`, `DynamicClient` or
`watch.Watch`, the way devplat's own code and third-party tools will.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from control_plane.sandbox.runner import Sandbox

GROUP = "example.devplat.io"


@pytest.fixture
def core(api_client) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def namespace(core) -> str:
    core.create_namespace({"metadata": {"name": "demo"}})
    return "demo"


def widget_crd(*, required: bool = True) -> dict:
    spec_schema = {
        "type": "object",
        "properties": {
            "size": {"type": "string", "enum": ["small", "large"], "default": "small"},
            "replicas": {"type": "integer", "minimum": 1},
            "owner": {"type": "string"},
        },
    }
    if required:
        spec_schema["required"] = ["owner"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "categories": ["composite"]},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": spec_schema,
                                "status": {
                                    "type": "object",
                                    "properties": {
                                        "conditions": {
                                            "type": "array",
                                            "x-kubernetes-list-type": "map",
                                            "x-kubernetes-list-map-keys": ["type"],
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "type": {"type": "string"},
                                                    "status": {"type": "string"},
                                                },
                                            },
                                        }
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture
def widgets(api_client, namespace):
    client.ApiextensionsV1Api(api_client).create_custom_resource_definition(widget_crd())
    return client.CustomObjectsApi(api_client)


def widget(name: str, **spec) -> dict:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"owner": "payments", **spec},
    }


def cm(name: str, labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "v"}}


# Discovery.


def test_discovery_lists_builtin_kinds_and_crd_kinds_appear_and_vanish(api_client, widgets):
    dyn = dynamic.DynamicClient(api_client)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.name == "deployments" and deployments.namespaced
    assert dyn.resources.get(api_version=f"{GROUP}/v1", kind="Widget").name == "widgets"
    resources = client.CoreV1Api(api_client).get_api_resources().resources
    assert {"pods", "pods/status", "namespaces", "secrets"} <= {r.name for r in resources}
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")

    client.ApiextensionsV1Api(api_client).delete_custom_resource_definition(f"widgets.{GROUP}")
    groups = {g.name for g in client.ApisApi(api_client).get_api_versions().groups}
    assert GROUP not in groups


# Reads.


def test_label_selectors_support_every_operator(core, namespace):
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})):
        core.create_namespaced_config_map(namespace, cm(name, labels))

    def names(selector: str) -> set[str]:
        return {i.metadata.name for i in core.list_namespaced_config_map(namespace, label_selector=selector).items}

    assert names("tier=web") == {"a"}
    assert names("tier==web") == {"a"}
    assert names("tier!=web") == {"b", "c"}
    assert names("tier in (web,db)") == {"a", "b"}
    assert names("tier notin (web)") == {"b", "c"}
    assert names("tier") == {"a", "b"}
    assert names("!tier") == {"c"}
    assert names("tier,env=prod") == {"a"}
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(namespace, label_selector="tier in (web")
    assert error.value.status == 400


def test_field_selectors_on_name_and_namespace(core, namespace):
    core.create_namespace({"metadata": {"name": "other"}})
    core.create_namespaced_config_map(namespace, cm("x"))
    core.create_namespaced_config_map("other", cm("x"))
    core.create_namespaced_config_map(namespace, cm("y"))
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.name=x").items
    assert sorted(i.metadata.namespace for i in everywhere) == ["demo", "other"]
    assert [
        i.metadata.name
        for i in core.list_config_map_for_all_namespaces(
            field_selector="metadata.namespace=demo,metadata.name!=x"
        ).items
    ] == ["y"]


def test_list_kind_and_api_version_are_set_as_a_real_server_sets_them(api_client, core, widgets, namespace):
    core.create_namespaced_config_map(namespace, cm("a"))
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w"))
    raw = core.list_namespaced_config_map(namespace, _preload_content=False)
    body = json.loads(raw.data)
    assert (body["kind"], body["apiVersion"]) == ("ConfigMapList", "v1")
    assert "kind" not in body["items"][0]  # built-in list items carry no type; the list does
    listed = widgets.list_namespaced_custom_object(GROUP, "v1", namespace, "widgets")
    assert (listed["kind"], listed["apiVersion"]) == ("WidgetList", f"{GROUP}/v1")
    assert listed["items"][0]["kind"] == "Widget"


def test_pagination_is_one_consistent_snapshot_under_concurrent_writes(sandbox, core, namespace):
    sandbox.api.bulk_load(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:04d}", "namespace": namespace}}
        for i in range(1200)
    )
    first = core.list_namespaced_config_map(namespace, limit=500)
    assert first.metadata.remaining_item_count == 700
    snapshot_rv = first.metadata.resource_version
    core.delete_namespaced_config_map("cm-0900", namespace)  # changes after the first page ...
    core.create_namespaced_config_map(namespace, cm("cm-9999"))
    core.patch_namespaced_config_map("cm-1100", namespace, {"data": {"changed": "yes"}})
    names = [i.metadata.name for i in first.items]
    page = first
    while page.metadata._continue:
        page = core.list_namespaced_config_map(namespace, limit=500, _continue=page.metadata._continue)
        assert page.metadata.resource_version == snapshot_rv
        names += [i.metadata.name for i in page.items]
        changed = [i for i in page.items if i.metadata.name == "cm-1100"]
        assert not changed or changed[0].data is None  # ... are not seen by later pages
    assert names == [f"cm-{i:04d}" for i in range(1200)]
    assert page.metadata.remaining_item_count is None


def test_stale_continue_token_is_410_expired_with_an_inconsistent_continue(sandbox, core, namespace):
    for i in range(5):
        core.create_namespaced_config_map(namespace, cm(f"c{i}"))
    first = core.list_namespaced_config_map(namespace, limit=2)
    core.create_namespaced_config_map(namespace, cm("later"))
    sandbox.api.store.compact()
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
    assert error.value.status == 410
    status = json.loads(error.value.body)
    assert status["reason"] == "Expired"
    fresh = core.list_namespaced_config_map(namespace, limit=10, _continue=status["metadata"]["continue"])
    assert [i.metadata.name for i in fresh.items] == ["c2", "c3", "c4", "later"]


# Watch.


def test_watch_from_a_list_resource_version_sees_only_later_events(core, namespace):
    core.create_namespaced_config_map(namespace, cm("before"))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version

    def writes() -> None:
        time.sleep(0.2)
        core.create_namespaced_config_map(namespace, cm("after"))
        core.patch_namespaced_config_map("after", namespace, {"data": {"k": "v2"}})
        core.delete_namespaced_config_map("after", namespace)

    threading.Thread(target=writes).start()
    seen = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=2, _request_timeout=5
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            break
    assert seen == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]


def test_bookmarks_carry_the_newest_resource_version(sandbox, core, namespace):
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespace({"metadata": {"name": "elsewhere"}})  # moves the global resourceVersion on
    newest = core.read_namespace("elsewhere").metadata.resource_version
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=2,
        _request_timeout=5,
    )
    bookmark = next(e for e in stream if e["type"] == "BOOKMARK")
    assert bookmark["raw_object"]["metadata"]["resourceVersion"] == newest


def test_watch_timeout_seconds_ends_the_stream(core, namespace):
    started = time.monotonic()
    events = list(
        watch.Watch().stream(core.list_namespaced_config_map, namespace, timeout_seconds=1, _request_timeout=5)
    )
    assert events == []
    assert 0.9 <= time.monotonic() - started < 4


def test_send_initial_events_ends_with_the_initial_events_end_bookmark(core, namespace):
    core.create_namespaced_config_map(namespace, cm("one"))
    core.create_namespaced_config_map(namespace, cm("two"))
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        send_initial_events=True,
        allow_watch_bookmarks=True,
        resource_version_match="NotOlderThan",
        resource_version="",
        timeout_seconds=2,
        _request_timeout=5,
    )
    events = []
    for event in stream:
        events.append(event)
        if event["type"] == "BOOKMARK":
            break
    assert [(e["type"], e["raw_object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "one"),
        ("ADDED", "two"),
    ]
    assert events[-1]["raw_object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_from_a_compacted_resource_version_gets_410(sandbox, core, namespace):
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("a"))
    sandbox.api.store.compact()
    with pytest.raises(ApiException) as error:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=2, _request_timeout=5
        ):
            pass
    assert error.value.status == 410


def test_watch_with_a_label_selector_sees_objects_leave_and_enter_it(core, namespace):
    core.create_namespaced_config_map(namespace, cm("m", {"team": "a"}))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"team": "a"}}})
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        label_selector="team=a",
        resource_version=rv,
        timeout_seconds=1,
        _request_timeout=5,
    )
    assert [e["type"] for e in stream] == ["DELETED", "ADDED"]


# Writes.


def test_create_generate_name_and_already_exists(core, namespace):
    made = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "job-"}})
    assert made.metadata.name.startswith("job-") and len(made.metadata.name) == 9
    assert made.metadata.uid and made.metadata.creation_timestamp and made.metadata.resource_version
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": made.metadata.name}})
    assert error.value.status == 409 and '"reason":"AlreadyExists"' in error.value.body.replace(" ", "")


def test_namespaced_objects_need_their_namespace(core):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("missing", cm("a"))
    assert error.value.status == 404
    assert (
        'namespaces \\"missing\\" not found' in error.value.body or 'namespaces "missing" not found' in error.value.body
    )


def test_replace_with_a_stale_resource_version_is_a_conflict(core, namespace):
    made = core.create_namespaced_config_map(namespace, cm("a"))
    core.patch_namespaced_config_map("a", namespace, {"data": {"k": "new"}})
    made.data = {"k": "mine"}
    with pytest.raises(ApiException) as error:
        core.replace_namespaced_config_map("a", namespace, made)
    assert error.value.status == 409 and "the object has been modified" in error.value.body


def test_merge_json_and_strategic_merge_patches(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    containers = [{"name": "web", "image": "web:1"}, {"name": "sidecar", "image": "proxy:1"}]
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": containers}},
            },
        },
    )
    # The typed client sends a strategic merge patch for a dict body: containers merge by name.
    patched = apps.patch_namespaced_deployment(
        "d", namespace, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}
    )
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [
        ("web", "web:2"),
        ("sidecar", "proxy:1"),
    ]
    json_patched = apps.patch_namespaced_deployment(
        "d", namespace, [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    )
    assert json_patched.spec.replicas == 3
    assert json_patched.metadata.generation == 3


def test_strategic_merge_patch_of_a_custom_resource_is_415(sandbox, widgets, namespace):
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w"))
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    connection.request(
        "PATCH",
        f"/apis/{GROUP}/v1/namespaces/{namespace}/widgets/w",
        body=b'{"spec":{"size":"large"}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    response = connection.getresponse()
    assert response.status == 415
    assert json.loads(response.read())["reason"] == "UnsupportedMediaType"
    connection.close()


def test_server_side_apply_creates_tracks_owners_and_reports_conflicts(api_client, widgets, namespace):
    dyn = dynamic.DynamicClient(api_client)
    resource = dyn.resources.get(api_version=f"{GROUP}/v1", kind="Widget")
    body = widget("w", replicas=2)
    created = resource.server_side_apply(body=body, namespace=namespace, field_manager="devplat")
    assert created.spec.replicas == 2
    managers = {entry["manager"] for entry in created.to_dict()["metadata"]["managedFields"]}
    assert managers == {"devplat"}

    with pytest.raises(ApiException) as error:
        resource.server_side_apply(body=widget("w", replicas=5), namespace=namespace, field_manager="other")
    assert error.value.status == 409
    assert 'conflict with \\"devplat\\"' in error.value.body or 'conflict with "devplat"' in error.value.body

    forced = resource.server_side_apply(
        body=widget("w", replicas=5), namespace=namespace, field_manager="other", force_conflicts=True
    )
    assert forced.spec.replicas == 5


def test_dry_run_writes_nothing(core, namespace):
    core.create_namespaced_config_map(namespace, cm("dry"), dry_run="All")
    assert core.list_namespaced_config_map(namespace).items == []
    core.create_namespaced_config_map(namespace, cm("kept"))
    core.delete_namespaced_config_map("kept", namespace, dry_run="All")
    core.patch_namespaced_config_map("kept", namespace, {"data": {"k": "dry"}}, dry_run="All")
    assert core.read_namespaced_config_map("kept", namespace).data == {"k": "v"}


def test_status_subresource_and_generation(widgets, namespace):
    made = widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w"))
    assert made["metadata"]["generation"] == 1 and "status" not in made
    status = {"conditions": [{"type": "Ready", "status": "True"}]}
    with_status = widgets.patch_namespaced_custom_object_status(
        GROUP, "v1", namespace, "widgets", "w", {"status": status, "spec": {"size": "large"}}
    )
    assert with_status["status"] == status
    assert with_status["spec"]["size"] == "small"  # the status subresource ignores spec
    assert with_status["metadata"]["generation"] == 1
    spec_changed = widgets.patch_namespaced_custom_object(
        GROUP, "v1", namespace, "widgets", "w", {"spec": {"size": "large"}, "status": {"conditions": []}}
    )
    assert spec_changed["metadata"]["generation"] == 2
    assert spec_changed["status"] == status  # the main resource ignores status


def test_finalizers_hold_deletion_until_removed(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "f", "finalizers": ["devplat.io/hold"]}})
    response = core.delete_namespaced_config_map("f", namespace, _preload_content=False)
    assert response.status == 200  # not 202: upstream keeps 200 for deletions waiting on finalizers
    assert json.loads(response.data)["metadata"]["deletionTimestamp"]
    held = core.read_namespaced_config_map("f", namespace)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("f", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as error:
        core.read_namespaced_config_map("f", namespace)
    assert error.value.status == 404


def test_deletecollection_with_a_label_selector(core, namespace):
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(namespace, cm(name, {"team": team}))
    core.delete_collection_namespaced_config_map(namespace, label_selector="team=x")
    assert [i.metadata.name for i in core.list_namespaced_config_map(namespace).items] == ["c"]


def test_garbage_collection_deletes_dependents_of_a_deleted_owner(core, namespace):
    owner = core.create_namespaced_config_map(namespace, cm("owner"))
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "child", "ownerReferences": [reference]}})
    core.delete_namespaced_config_map("owner", namespace)
    assert core.list_namespaced_config_map(namespace).items == []


def owned(core, namespace: str, name: str, *owners, finalizers: tuple[str, ...] = ()) -> None:
    """A ConfigMap owned by the given ConfigMaps."""
    references = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid} for o in owners
    ]
    metadata = {"name": name, "ownerReferences": references, "finalizers": list(finalizers)}
    core.create_namespaced_config_map(namespace, {"metadata": metadata})


def names(core, namespace: str) -> list[str]:
    return sorted(i.metadata.name for i in core.list_namespaced_config_map(namespace).items)


def test_background_garbage_collection_follows_the_ownership_chain_and_spares_co_owned_dependents(core, namespace):
    owner = core.create_namespaced_config_map(namespace, cm("owner"))
    other = core.create_namespaced_config_map(namespace, cm("other"))
    owned(core, namespace, "child", owner)
    owned(core, namespace, "grandchild", core.read_namespaced_config_map("child", namespace))
    owned(core, namespace, "shared", owner, other)
    core.delete_namespaced_config_map("owner", namespace, body=client.V1DeleteOptions(propagation_policy="Background"))
    assert names(core, namespace) == ["other", "shared"]


def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(core, namespace):
    owner = core.create_namespaced_config_map(namespace, cm("owner"))
    owned(core, namespace, "held", owner, finalizers=("example.devplat.io/cleanup",))
    owned(core, namespace, "free", owner)
    core.delete_namespaced_config_map("owner", namespace, body=client.V1DeleteOptions(propagation_policy="Foreground"))
    waiting = core.read_namespaced_config_map("owner", namespace)
    assert waiting.metadata.deletion_timestamp is not None and waiting.metadata.finalizers == ["foregroundDeletion"]
    assert names(core, namespace) == ["held", "owner"]
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    assert names(core, namespace) == []


def test_orphan_deletion_keeps_the_dependents_and_drops_their_reference(core, namespace):
    owner = core.create_namespaced_config_map(namespace, cm("owner"))
    owned(core, namespace, "child", owner)
    core.delete_namespaced_config_map("owner", namespace, body=client.V1DeleteOptions(propagation_policy="Orphan"))
    assert names(core, namespace) == ["child"]
    assert core.read_namespaced_config_map("child", namespace).metadata.owner_references is None


def test_deleting_a_namespace_deletes_its_contents(core, namespace):
    core.create_namespaced_config_map(namespace, cm("a"))
    core.delete_namespace(namespace)
    with pytest.raises(ApiException) as error:
        core.read_namespace(namespace)
    assert error.value.status == 404
    assert core.list_config_map_for_all_namespaces().items == []


# CRD schemas.


def test_crd_schema_is_enforced_with_defaults_and_pruning(widgets, namespace):
    with pytest.raises(ApiException) as error:
        widgets.create_namespaced_custom_object(
            GROUP,
            "v1",
            namespace,
            "widgets",
            {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"size": "huge"}},
        )
    assert error.value.status == 422
    assert "spec.owner" in error.value.body and "spec.size" in error.value.body
    made = widgets.create_namespaced_custom_object(
        GROUP, "v1", namespace, "widgets", {**widget("ok"), "spec": {"owner": "p", "colour": "red"}}
    )
    assert made["spec"] == {"owner": "p", "size": "small"}


def test_strict_field_validation_refuses_unknown_fields(api_client, widgets, namespace):
    with pytest.raises(ApiException) as error:
        widgets.create_namespaced_custom_object(
            GROUP,
            "v1",
            namespace,
            "widgets",
            {**widget("s"), "spec": {"owner": "p", "colour": "red"}},
            field_validation="Strict",
        )
    assert error.value.status == 400 and "colour" in error.value.body


def test_deleting_a_crd_removes_its_objects_and_resources(api_client, widgets, namespace):
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w"))
    client.ApiextensionsV1Api(api_client).delete_custom_resource_definition(f"widgets.{GROUP}")
    with pytest.raises(ApiException) as error:
        widgets.list_namespaced_custom_object(GROUP, "v1", namespace, "widgets")
    assert error.value.status == 404


# Faults and HTTP.


def test_injected_429_carries_retry_after(sandbox, core, namespace):
    sandbox.api.faults.fail_next(1, 429, retry_after=3)
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(namespace)
    assert error.value.status == 429 and error.value.headers["Retry-After"] == "3"
    assert core.list_namespaced_config_map(namespace).items == []  # only the next request failed


def test_dropped_watch_ends_the_client_stream(sandbox, core, namespace):
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    stream = watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=30, _request_timeout=10
    )
    threading.Timer(0.3, sandbox.api.faults.drop_watches).start()
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - urllib3 reports a cut stream with several exception types
        list(stream)
    assert time.monotonic() - started < 5


def test_keep_alive_connection_survives_error_responses_with_bodies(sandbox, namespace):
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    connection.request(
        "POST",
        "/api/v1/namespaces/demo/nothings",
        body=b'{"metadata": {"name": "x"}}',
        headers={"Content-Type": "application/json"},
    )
    first = connection.getresponse()
    assert first.status == 404
    first.read()
    connection.request("GET", f"/api/v1/namespaces/{namespace}")
    second = connection.getresponse()
    assert second.status == 200 and b'"name":"demo"' in second.read()
    connection.close()


def test_scale_subresource_reads_and_writes_replicas(api_client, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "s"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "s"}},
                "template": {
                    "metadata": {"labels": {"app": "s"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        },
    )
    scale = apps.read_namespaced_deployment_scale("s", namespace)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=s"
    apps.patch_namespaced_deployment_scale("s", namespace, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("s", namespace).spec.replicas == 4


def _length_delimited(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def _protobuf_post(sandbox: Sandbox, path: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    connection.request("POST", path, body=body, headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def test_protobuf_bodies_of_undecodable_kinds_get_415_and_garbage_gets_400(sandbox, namespace):
    type_meta = _length_delimited(1, b"apps/v1") + _length_delimited(2, b"Deployment")
    deployment = b"k8s\x00" + _length_delimited(1, type_meta) + _length_delimited(2, b"")
    status, body = _protobuf_post(sandbox, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment)
    assert status == 415 and "application/json" in body["message"]
    status, body = _protobuf_post(sandbox, f"/api/v1/namespaces/{namespace}/configmaps", b"k8s\x00\x0a\x7f")
    assert status == 400 and body["reason"] == "BadRequest"


def test_protobuf_configmap_is_decoded(sandbox, core, namespace):
    type_meta = _length_delimited(1, b"v1") + _length_delimited(2, b"ConfigMap")
    meta = _length_delimited(1, b"from-proto") + _length_delimited(
        11, _length_delimited(1, b"app") + _length_delimited(2, b"x")
    )
    data = _length_delimited(2, _length_delimited(1, b"k") + _length_delimited(2, b"v"))
    raw = _length_delimited(1, meta) + data
    body = b"k8s\x00" + _length_delimited(1, type_meta) + _length_delimited(2, raw)
    status, created = _protobuf_post(sandbox, f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert status == 201 and created["metadata"]["name"] == "from-proto"
    stored = core.read_namespaced_config_map("from-proto", namespace)
    assert stored.data == {"k": "v"} and stored.metadata.labels == {"app": "x"}


def test_status_writes_are_validated_against_the_schema(widgets, namespace):
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", widget("w"))
    with pytest.raises(ApiException) as error:
        widgets.patch_namespaced_custom_object_status(
            GROUP, "v1", namespace, "widgets", "w", {"status": {"conditions": [{"type": 5}]}}
        )
    assert error.value.status == 422 and "status.conditions[0].type" in error.value.body


def test_watch_delivers_every_concurrent_write_once_and_in_order(core, namespace):
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    names = [f"c{i:03d}" for i in range(300)]

    def writer() -> None:
        for name in names:
            core.create_namespaced_config_map(namespace, cm(name))

    thread = threading.Thread(target=writer)
    thread.start()
    seen, versions = [], []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=20, _request_timeout=30
    ):
        seen.append(event["object"].metadata.name)
        versions.append(int(event["object"].metadata.resource_version))
        if len(seen) == len(names):
            break
    thread.join()
    assert seen == names
    assert versions == sorted(set(versions))


def test_pages_stay_on_their_snapshot_while_a_writer_runs(sandbox, core, namespace):
    sandbox.api.bulk_load(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"base-{i:04d}", "namespace": namespace}}
        for i in range(1000)
    )
    stop = threading.Event()

    def writer() -> None:
        index = 0
        while not stop.is_set():
            core.create_namespaced_config_map(namespace, cm(f"new-{index:05d}"))
            core.delete_namespaced_config_map(f"base-{index:04d}", namespace)
            index += 1

    thread = threading.Thread(target=writer)
    first = core.list_namespaced_config_map(namespace, limit=100)
    thread.start()
    names = [i.metadata.name for i in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map(namespace, limit=100, _continue=token)
        names += [i.metadata.name for i in page.items]
        token = page.metadata._continue
    stop.set()
    thread.join()
    assert names == [f"base-{i:04d}" for i in range(1000)]
    assert (
        core.list_namespaced_config_map(namespace, label_selector="").metadata.resource_version
        != first.metadata.resource_version
    )


def test_resource_version_semantics_of_lists(core, namespace):
    core.create_namespaced_config_map(namespace, cm("old"))
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, cm("new"))
    names = lambda listed: [i.metadata.name for i in listed.items]  # noqa: E731
    # Without limit a version means "not older than": the newest state.
    assert names(core.list_namespaced_config_map(namespace, resource_version=rv)) == ["new", "old"]
    # With limit (and no continue) it means Exact: the state at that version.
    assert names(core.list_namespaced_config_map(namespace, resource_version=rv, limit=10)) == ["old"]
    assert names(core.list_namespaced_config_map(namespace, resource_version=rv, resource_version_match="Exact")) == [
        "old"
    ]
    first = core.list_namespaced_config_map(namespace, limit=1)
    # A continue token with resourceVersion "0" is tolerated; any other version is a 400.
    assert names(
        core.list_namespaced_config_map(namespace, limit=1, _continue=first.metadata._continue, resource_version="0")
    ) == ["old"]
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(namespace, limit=1, _continue=first.metadata._continue, resource_version=rv)
    assert error.value.status == 400


def test_a_resource_version_from_the_future_is_504_with_retry_after(core, namespace):
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(namespace, resource_version="999999999")
    assert error.value.status == 504 and "Too large resource version" in error.value.body
    assert error.value.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "v1"),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
    ],
)
def test_tables_in_the_version_asked_for(sandbox, namespace, accept, version):
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    connection.request("GET", "/api/v1/namespaces", headers={"Accept": accept})
    table = json.loads(connection.getresponse().read())
    connection.close()
    assert table["kind"] == "Table" and table["apiVersion"] == f"meta.k8s.io/{version}"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert ["demo", "Active"] in [row["cells"][:2] for row in table["rows"]]


def test_a_partial_apply_is_judged_on_the_merged_object(sandbox, api_client, widgets, namespace):
    resource = dynamic.DynamicClient(api_client).resources.get(api_version=f"{GROUP}/v1", kind="Widget")
    resource.server_side_apply(body=widget("w"), namespace=namespace, field_manager="owner")
    labels_only = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}}}
    applied = resource.server_side_apply(body=labels_only, namespace=namespace, field_manager="labeller")
    assert applied.to_dict()["metadata"]["labels"] == {"a": "b"} and applied.spec.owner == "payments"
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    body = json.dumps({**labels_only, "spec": {"colour": "red"}}).encode()
    path = f"/apis/{GROUP}/v1/namespaces/{namespace}/widgets/w?fieldManager=labeller&fieldValidation=Strict"
    connection.request("PATCH", path, body=body, headers={"Content-Type": "application/apply-patch+yaml"})
    response = connection.getresponse()
    assert response.status == 400 and b"colour" in response.read()
    connection.close()


def test_a_namespace_waits_for_finalizers_of_its_contents_then_goes(core, namespace):
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "held", "finalizers": ["devplat.io/hold"]}})
    core.delete_namespace(namespace)
    assert core.read_namespace(namespace).status.phase == "Terminating"
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(namespace, cm("late"))
    assert refused.value.status == 403
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespace(namespace)
    assert gone.value.status == 404


def test_a_crd_waits_for_finalizers_of_its_objects_then_goes(api_client, widgets, namespace):
    held = {**widget("held"), "metadata": {"name": "held", "finalizers": ["devplat.io/hold"]}}
    widgets.create_namespaced_custom_object(GROUP, "v1", namespace, "widgets", held)
    extensions = client.ApiextensionsV1Api(api_client)
    extensions.delete_custom_resource_definition(f"widgets.{GROUP}")
    assert extensions.read_custom_resource_definition(f"widgets.{GROUP}").metadata.deletion_timestamp
    widgets.patch_namespaced_custom_object(
        GROUP, "v1", namespace, "widgets", "held", {"metadata": {"finalizers": None}}
    )
    with pytest.raises(ApiException) as gone:
        extensions.read_custom_resource_definition(f"widgets.{GROUP}")
    assert gone.value.status == 404
