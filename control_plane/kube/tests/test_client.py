"""The Kubernetes client against the sandbox API server, over real HTTP: reads, watches, writes and every failure
mode the sync operator and the services act on."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from control_plane.kube.client import WATCH_READ_GRACE, KubeClient, connect, from_kubeconfig, list_head
from control_plane.kube.credentials import ClusterCredentials
from control_plane.kube.discovery import ResourceType
from control_plane.kube.errors import (
    KubeConflict,
    KubeExpired,
    KubeInvalid,
    KubeNotFound,
    KubeServerError,
    KubeTimeout,
    KubeTooManyRequests,
    KubeUnreachable,
)
from control_plane.sandbox.runner import Sandbox

CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", namespaced=True)
NAMESPACES = ResourceType("", "v1", "Namespace", "namespaces", namespaced=False)


def configmap(name: str, namespace: str = "team-a", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def crd(
    group: str,
    kind: str,
    plural: str,
    *,
    scope: str = "Cluster",
    categories: tuple[str, ...] = (),
    versions: tuple[str, ...] = ("v1",),
) -> dict[str, Any]:
    """A CustomResourceDefinition with an open schema; the first version is the storage (and preferred) one."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
                "categories": list(categories),
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
                for index, version in enumerate(versions)
            ],
        },
    }


@pytest.fixture
def kube(sandbox: Sandbox) -> KubeClient:
    return connect(f"sandbox-{sandbox.port}", ClusterCredentials(server=sandbox.url, token="sandbox"), read_timeout=10)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["name"] for item in items]


def collect(events: Iterator[dict[str, Any]], until: Any) -> list[dict[str, Any]]:
    """Events until `until(seen)` is true; the stream is then abandoned, as the sync does at a window's end."""
    seen: list[dict[str, Any]] = []
    for event in events:
        seen.append(event)
        if until(seen):
            break
    return seen


# Probe.


def test_probe_reads_the_kubernetes_version_and_finds_no_crossplane_on_an_empty_cluster(kube: KubeClient) -> None:
    probe = kube.probe()

    assert probe.kubernetes_version == "v1.32.0-devplat-sandbox"
    assert probe.crossplane_version is None


def test_probe_detects_crossplane_by_its_api_group_and_reads_its_version_from_the_image_tag(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    sandbox.api.bulk_load(
        [
            crd("apiextensions.crossplane.io", "CompositeResourceDefinition", "compositeresourcedefinitions"),
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": "crossplane",
                    "namespace": "crossplane-system",
                    "labels": {"app.kubernetes.io/version": "1.16.0"},
                },
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "crossplane", "image": "xpkg.upbound.io/crossplane/crossplane:v1.17.1"}
                            ]
                        }
                    }
                },
            },
        ]
    )

    assert kube.probe().crossplane_version == "v1.17.1"


def test_probe_says_unknown_when_crossplane_is_served_but_its_deployment_is_not_found(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    sandbox.api.bulk_load([crd("apiextensions.crossplane.io", "Composition", "compositions")])

    assert kube.probe().crossplane_version == "unknown"


# Lists.


def test_paging_through_2500_objects_500_at_a_time_sees_each_once(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.bulk_load(configmap(f"cm-{i:04d}", namespace=f"team-{i % 3}") for i in range(2500))

    pages = list(kube.iter_list(CONFIGMAPS, limit=500))

    assert [len(page["items"]) for page in pages] == [500] * 5
    seen = [name for page in pages for name in names(page["items"])]
    assert sorted(seen) == [f"cm-{i:04d}" for i in range(2500)]
    assert len({page["metadata"]["resourceVersion"] for page in pages}) == 1, "pages of one consistent snapshot"
    assert not pages[-1]["metadata"].get("continue")


def test_the_next_page_is_requested_while_the_current_one_is_still_being_read(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    sandbox.api.bulk_load(configmap(f"cm-{i:04d}") for i in range(1500))
    sandbox.api.faults.forget_requests()

    pages = kube.iter_list(CONFIGMAPS, limit=500)
    first = next(pages)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sum(r.is_list for r in sandbox.api.faults.requests) < 2:
        time.sleep(0.01)
    asked_early = sum(r.is_list for r in sandbox.api.faults.requests)
    rest = list(pages)

    assert asked_early >= 2, "the second page is fetched before the first is handed over and consumed"
    assert len(first["items"]) == 500
    assert [len(page["items"]) for page in rest] == [500, 500]
    assert sum(r.is_list for r in sandbox.api.faults.requests) == 3, "no page fetched twice or past the last"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"abc","resourceVersion":"7"},"items":[{}]}',
            {"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "abc", "resourceVersion": "7"}},
        ),
        (  # spaced as a pretty-printer writes it
            b'{"kind": "PodList", "metadata": {"resourceVersion": "7"}, "items": []}',
            {"kind": "PodList", "metadata": {"resourceVersion": "7"}},
        ),
        (b'{"items":[],"metadata":{"continue":"abc"}}', None),  # items first
        (b'{"kind":"PodList","metadata":{"a\\"items":1},"items":[]}', None),  # found inside a key: head cut mid-string
        (b'{"kind":"PodList","metadata":{}}', None),  # no items at all
        (b'{"kind":"Status","items":[]}', None),  # no metadata
    ],
)
def test_the_list_head_is_read_only_when_it_is_exactly_the_prefix_expected(body: bytes, expected: Any) -> None:
    assert list_head(body) == expected


def test_a_list_page_is_the_raw_list_json_and_honours_namespace_and_selectors(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    tagged = configmap("tagged")
    tagged["metadata"]["labels"] = {"tier": "db"}
    sandbox.api.bulk_load([tagged, configmap("plain"), configmap("elsewhere", namespace="team-b")])

    page = kube.list_page(CONFIGMAPS, namespace="team-a", label_selector="tier=db")
    by_field = kube.list_page(CONFIGMAPS, field_selector="metadata.namespace=team-b")

    assert page["kind"] == "ConfigMapList"
    assert names(page["items"]) == ["tagged"]
    assert names(by_field["items"]) == ["elsewhere"]


def test_a_continue_token_from_before_a_compaction_raises_expired(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.bulk_load(configmap(f"cm-{i}") for i in range(10))
    first = kube.list_page(CONFIGMAPS, limit=4)
    sandbox.api.bulk_load([configmap("later")])
    sandbox.api.store.compact()

    with pytest.raises(KubeExpired) as expired:
        kube.list_page(CONFIGMAPS, limit=4, continue_token=first["metadata"]["continue"])

    assert expired.value.status == 410
    assert expired.value.reason == "Expired"
    assert "too old" in expired.value.message


# Watches.


def test_a_watch_from_a_lists_resource_version_sees_later_changes_and_bookmarks(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    sandbox.api.bulk_load([configmap("existing")])
    start = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]

    def change() -> None:
        time.sleep(0.3)
        kube.apply(CONFIGMAPS, configmap("new", key="1"), field_manager="test")
        kube.apply(CONFIGMAPS, configmap("new", key="2"), field_manager="test")
        kube.delete(CONFIGMAPS, "new", "team-a")

    writer = threading.Thread(target=change)
    writer.start()
    events = collect(
        kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=20),
        until=lambda seen: "DELETED" in {e["type"] for e in seen} and seen[-1]["type"] == "BOOKMARK",
    )
    writer.join()

    changes = [e for e in events if e["type"] != "BOOKMARK"]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in changes] == [
        ("ADDED", "new"),
        ("MODIFIED", "new"),
        ("DELETED", "new"),
    ]
    assert changes[1]["object"]["data"] == {"key": "2"}
    bookmark = events[-1]["object"]
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(changes[2]["object"]["metadata"]["resourceVersion"])


def test_a_watch_ends_when_the_server_ends_it_at_timeout_seconds(kube: KubeClient) -> None:
    start = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]
    began = time.monotonic()

    events = list(kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=1, allow_bookmarks=False))

    assert events == []
    assert 0.9 <= time.monotonic() - began < 1 + WATCH_READ_GRACE


def test_a_watch_with_initial_events_sends_the_current_state_then_the_end_bookmark(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    sandbox.api.bulk_load([configmap("one"), configmap("two")])

    events = collect(
        kube.watch(CONFIGMAPS, resource_version="", timeout_seconds=10, send_initial_events=True),
        until=lambda seen: seen[-1]["type"] == "BOOKMARK",
    )

    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "one"),
        ("ADDED", "two"),
    ]
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watching_from_a_compacted_resource_version_raises_expired(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.bulk_load([configmap("a")])
    old = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]
    sandbox.api.bulk_load([configmap("b"), configmap("c")])
    sandbox.api.store.compact()

    with pytest.raises(KubeExpired) as expired:
        list(kube.watch(CONFIGMAPS, resource_version=old, timeout_seconds=10))

    assert expired.value.status == 410


def test_a_stalled_watch_raises_timeout_once_the_read_timeout_passes(sandbox: Sandbox, kube: KubeClient) -> None:
    start = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]
    sandbox.api.faults.stall_watches()
    began = time.monotonic()

    with pytest.raises(KubeTimeout) as timed_out:
        list(kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=1))

    waited = time.monotonic() - began
    assert 1 + WATCH_READ_GRACE - 0.5 <= waited < 1 + WATCH_READ_GRACE + 3
    assert "read timeout" in timed_out.value.message
    sandbox.api.faults.resume_watches()


def test_a_watch_cut_before_the_server_ended_it_raises_unreachable(sandbox: Sandbox, kube: KubeClient) -> None:
    start = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]
    events = kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=20)
    assert next(events)["type"] == "BOOKMARK"

    sandbox.api.faults.drop_watches()

    with pytest.raises(KubeUnreachable, match="broke"):
        list(events)


def test_an_abandoned_watch_does_not_spoil_the_pooled_connection_for_the_next_request(
    sandbox: Sandbox, kube: KubeClient
) -> None:
    start = kube.list_page(CONFIGMAPS)["metadata"]["resourceVersion"]
    events = kube.watch(CONFIGMAPS, resource_version=start, timeout_seconds=20)
    assert next(events)["type"] == "BOOKMARK"
    events.close()

    sandbox.api.bulk_load([configmap("after")])

    assert names(kube.list_page(CONFIGMAPS)["items"]) == ["after"]


# Writes.


def test_apply_creates_then_updates_and_returns_the_stored_object(kube: KubeClient) -> None:
    kube.apply(NAMESPACES, {"metadata": {"name": "team-a"}}, field_manager="devplat")

    created, was_created = kube.apply(CONFIGMAPS, configmap("settings", level="1"), field_manager="devplat")
    updated, was_created_again = kube.apply(CONFIGMAPS, configmap("settings", level="2"), field_manager="devplat")

    assert was_created is True
    assert created["data"] == {"level": "1"}
    assert created["metadata"]["uid"]
    assert was_created_again is False
    assert updated["data"] == {"level": "2"}
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert kube.get(CONFIGMAPS, "settings", "team-a")["data"] == {"level": "2"}


def test_a_dry_run_apply_answers_the_object_without_storing_it(kube: KubeClient) -> None:
    kube.apply(NAMESPACES, {"metadata": {"name": "team-a"}}, field_manager="devplat")

    obj, created = kube.apply(CONFIGMAPS, configmap("draft", a="b"), field_manager="devplat", dry_run=True)

    assert created is True
    assert obj["data"] == {"a": "b"}
    with pytest.raises(KubeNotFound):
        kube.get(CONFIGMAPS, "draft", "team-a")


def test_an_apply_conflict_names_the_other_field_manager_and_force_takes_the_field_over(kube: KubeClient) -> None:
    kube.apply(NAMESPACES, {"metadata": {"name": "team-a"}}, field_manager="devplat")
    kube.apply(CONFIGMAPS, configmap("shared", owner="platform"), field_manager="platform-team")

    with pytest.raises(KubeConflict) as conflict:
        kube.apply(CONFIGMAPS, configmap("shared", owner="devplat"), field_manager="devplat")
    taken, _ = kube.apply(CONFIGMAPS, configmap("shared", owner="devplat"), field_manager="devplat", force=True)

    assert conflict.value.status == 409
    assert "platform-team" in conflict.value.message
    assert taken["data"] == {"owner": "devplat"}


def test_an_invalid_object_raises_invalid_with_the_servers_causes(kube: KubeClient) -> None:
    kube.apply(NAMESPACES, {"metadata": {"name": "team-a"}}, field_manager="devplat")

    with pytest.raises(KubeInvalid) as invalid:
        kube.apply(CONFIGMAPS, configmap("Not_A_Name"), field_manager="devplat")

    assert invalid.value.status == 422
    assert "Not_A_Name" in invalid.value.message
    assert [cause["field"] for cause in invalid.value.causes] == ["metadata.name"]


def test_get_and_delete_of_a_missing_object_raise_not_found_with_the_servers_message(kube: KubeClient) -> None:
    with pytest.raises(KubeNotFound, match='configmaps "ghost" not found'):
        kube.get(CONFIGMAPS, "ghost", "default")
    with pytest.raises(KubeNotFound):
        kube.delete(CONFIGMAPS, "ghost", "default")


# Failures.


def test_429_is_too_many_requests_with_the_servers_retry_after(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.faults.fail_next(1, 429, retry_after=7)

    with pytest.raises(KubeTooManyRequests) as throttled:
        kube.list_page(CONFIGMAPS)

    assert throttled.value.status == 429
    assert throttled.value.retry_after == 7
    assert kube.list_page(CONFIGMAPS)["items"] == [], "not retried inside the client; the next call succeeds"


def test_500_is_a_server_error_with_the_servers_message(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.faults.fail_next(1, 500)

    with pytest.raises(KubeServerError, match="injected by the sandbox") as failed:
        kube.get(NAMESPACES, "default")

    assert failed.value.status == 500


def test_a_refused_connection_is_unreachable(sandbox: Sandbox, kube: KubeClient) -> None:
    kube.probe()
    sandbox.refuse_connections()

    with pytest.raises(KubeUnreachable, match="Connection refused"):
        kube.probe()

    sandbox.accept_connections()
    assert kube.probe().kubernetes_version


def test_a_slow_answer_raises_timeout_after_the_read_timeout(sandbox: Sandbox) -> None:
    impatient = connect(
        f"impatient-{sandbox.port}", ClusterCredentials(server=sandbox.url, token="sandbox"), read_timeout=0.3
    )
    sandbox.api.faults.add_latency(2)
    began = time.monotonic()

    with pytest.raises(KubeTimeout):
        impatient.probe()

    assert time.monotonic() - began < 1.5
    sandbox.api.faults.add_latency(0)


# Connections.


def test_one_api_client_and_one_pooled_connection_serve_a_cluster(sandbox: Sandbox) -> None:
    credentials = ClusterCredentials(server=sandbox.url, token="sandbox")
    first = connect("reused", credentials)
    second = connect("reused", credentials, read_timeout=5)
    for _ in range(5):
        first.probe()
        second.list_page(CONFIGMAPS)

    assert second.api_client is first.api_client
    pool = first.api_client.rest_client.pool_manager.connection_from_url(sandbox.url)
    assert pool.num_connections == 1
    [connection] = [c for c in pool.pool.queue if c is not None and c.sock is not None]
    assert connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30


def test_a_forked_process_builds_its_own_api_client(sandbox: Sandbox) -> None:
    credentials = ClusterCredentials(server=sandbox.url, token="sandbox")
    parents = connect("forked", credentials).api_client

    child = os.fork()
    if child == 0:  # the child reports through its exit status only
        os._exit(0 if connect("forked", credentials).api_client is not parents else 1)
    _, exit_status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(exit_status) == 0
    assert connect("forked", credentials).api_client is parents


def test_new_credentials_for_a_cluster_get_a_new_api_client(sandbox: Sandbox) -> None:
    before = connect("rotated", ClusterCredentials(server=sandbox.url, token="old-token"))
    after = connect("rotated", ClusterCredentials(server=sandbox.url, token="new-token"))

    assert after.api_client is not before.api_client
    assert connect("rotated", ClusterCredentials(server=sandbox.url, token="new-token")).api_client is after.api_client
    assert after.probe().kubernetes_version


def test_a_client_from_a_kubeconfig_reaches_its_current_context(sandbox: Sandbox) -> None:
    client = from_kubeconfig("from-kubeconfig", yaml.safe_dump(sandbox.kubeconfig()))

    assert client.server == sandbox.url
    assert client.probe().kubernetes_version == "v1.32.0-devplat-sandbox"


# Discovery.


def test_discover_finds_the_allow_list_and_crossplane_types_by_category(sandbox: Sandbox, kube: KubeClient) -> None:
    sandbox.api.bulk_load(
        [
            crd(
                "platform.example.org",
                "XDatabase",
                "xdatabases",
                categories=("composite",),
                versions=("v1", "v1alpha1"),
            ),
            crd("platform.example.org", "Database", "databases", scope="Namespaced", categories=("claim",)),
            crd(
                "rds.aws.m.upbound.io",
                "Instance",
                "instances",
                scope="Namespaced",
                categories=("crossplane", "managed", "aws"),
            ),
            crd("aws.upbound.io", "ProviderConfig", "providerconfigs"),
            crd("apiextensions.crossplane.io", "Composition", "compositions", categories=("crossplane",)),
            crd("example.com", "Widget", "widgets", scope="Namespaced"),
        ]
    )

    found = {rt.key: rt for rt in kube.discover()}

    assert {key: rt.category for key, rt in found.items() if rt.category != "core"} == {
        "customresourcedefinitions.apiextensions.k8s.io": "crossplane",
        "compositions.apiextensions.crossplane.io": "crossplane",
        "providerconfigs.aws.upbound.io": "crossplane",
        "xdatabases.platform.example.org": "composite",
        "databases.platform.example.org": "claim",
        "instances.rds.aws.m.upbound.io": "managed",
    }
    assert {key for key, rt in found.items() if rt.category == "core"} == {
        "namespaces",
        "configmaps",
        "secrets",
        "services",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "replicasets.apps",
        "ingresses.networking.k8s.io",
        "horizontalpodautoscalers.autoscaling",
    }
    composite = found["xdatabases.platform.example.org"]
    assert (composite.version, composite.namespaced, composite.kind) == ("v1", False, "XDatabase")
    assert found["instances.rds.aws.m.upbound.io"].namespaced is True
    assert "watch" in found["configmaps"].verbs
