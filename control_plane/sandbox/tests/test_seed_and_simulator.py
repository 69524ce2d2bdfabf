"""The demo seed, the simulated reconciler and state files."""

from __future__ import annotations

import pytest

from control_plane.sandbox.apiserver import ApiServer, WriteOptions
from control_plane.sandbox.errors import ApiError
from control_plane.sandbox.reads import ReadParams, list_objects, watch_events
from control_plane.sandbox.seed import CROSSPLANE_VERSION, RDS_ERROR, load_demo
from control_plane.sandbox.simulator import Simulator
from control_plane.sandbox.statefile import StateFile

PLATFORM = "platform.devplat.io"


@pytest.fixture
def demo() -> ApiServer:
    api = ApiServer()
    load_demo(api)
    return api


def conditions(obj: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}


def test_demo_has_v2_composites_a_v1_claim_and_one_deep_failure(demo):
    databases = demo.kind(PLATFORM, "v1alpha1", "databases")
    checkout = demo.get(databases, "team-checkout", "checkout-db")
    assert conditions(checkout) == {"Synced": "True", "Ready": "False"}
    [instance_ref] = [r for r in checkout["spec"]["crossplane"]["resourceRefs"] if r["kind"] == "Instance"]
    instances = demo.kind("rds.aws.m.upbound.io", "v1beta1", "instances")
    instance = demo.get(instances, "team-checkout", instance_ref["name"])
    synced = next(c for c in instance["status"]["conditions"] if c["type"] == "Synced")
    assert synced["status"] == "False" and synced["message"] == RDS_ERROR
    assert instance["metadata"]["ownerReferences"][0]["uid"] == checkout["metadata"]["uid"]

    claim = demo.get(demo.kind(PLATFORM, "v1alpha1", "postgresqlinstances"), "team-search", "search-db")
    xr = demo.get(demo.kind(PLATFORM, "v1alpha1", "xpostgresqlinstances"), None, claim["spec"]["resourceRef"]["name"])
    assert xr["spec"]["claimRef"]["name"] == "search-db"
    assert conditions(xr)["Ready"] == "True"


def test_demo_workloads_chain_deployment_replicaset_pods(demo):
    deployment = demo.get(demo.kind("apps", "v1", "deployments"), "team-payments", "orders-api")
    pods = list_objects(demo, demo.kind("", "v1", "pods"), "team-payments", ReadParams(label_selector="app=orders-api"))
    replicaset_uids = {p["metadata"]["ownerReferences"][0]["uid"] for p in pods["items"]}
    [replicaset_uid] = replicaset_uids
    replicasets = list_objects(demo, demo.kind("apps", "v1", "replicasets"), "team-payments", ReadParams())
    [replicaset] = [r for r in replicasets["items"] if r["metadata"]["uid"] == replicaset_uid]
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    crossplane = demo.get(demo.kind("apps", "v1", "deployments"), "crossplane-system", "crossplane")
    assert crossplane["spec"]["template"]["spec"]["containers"][0]["image"].endswith(CROSSPLANE_VERSION)


def test_simulator_makes_a_new_composite_ready_with_children(demo):
    databases = demo.kind(PLATFORM, "v1alpha1", "databases")
    created = demo.create(
        databases,
        "team-payments",
        {
            "apiVersion": f"{PLATFORM}/v1alpha1",
            "kind": "Database",
            "metadata": {"name": "fresh"},
            "spec": {"engineVersion": "16"},
        },
        WriteOptions(field_manager="test"),
    ).object
    assert created["spec"]["size"] == "small"  # the CRD's default
    simulator = Simulator(demo, delay=0)
    assert simulator.reconcile_once() == 1
    ready = demo.get(databases, "team-payments", "fresh")
    assert conditions(ready) == {"Synced": "True", "Ready": "True"}
    assert ready["metadata"]["annotations"]["devplat.io/simulated"] == "true"
    refs = ready["spec"]["crossplane"]["resourceRefs"]
    assert {r["kind"] for r in refs} == {"Instance", "SecurityGroup", "Secret"}
    instance = demo.get(demo.kind("rds.aws.m.upbound.io", "v1beta1", "instances"), "team-payments", refs[0]["name"])
    assert instance["metadata"]["ownerReferences"][0]["uid"] == ready["metadata"]["uid"]
    assert simulator.reconcile_once() == 0  # already Ready: nothing more to do


def test_simulator_waits_for_its_delay(demo):
    databases = demo.kind(PLATFORM, "v1alpha1", "databases")
    demo.create(databases, "team-payments", {"metadata": {"name": "young"}}, WriteOptions(field_manager="test"))
    assert Simulator(demo, delay=60).reconcile_once() == 0
    assert "Ready" not in conditions(demo.get(databases, "team-payments", "young"))


def test_state_file_round_trip_keeps_uids_and_versions_and_expires_old_watches(demo, tmp_path):
    path = tmp_path / "state.json"
    StateFile(demo, path).save()
    restored = ApiServer()
    count = StateFile(restored, path).load()
    assert count == len(demo.dump()["objects"])
    kind = demo.kind(PLATFORM, "v1alpha1", "databases")
    before, after = demo.get(kind, "team-payments", "orders-db"), restored.get(kind, "team-payments", "orders-db")
    assert after == before
    assert restored.store.rv == demo.store.rv
    stream = watch_events(restored, kind, None, ReadParams(resource_version="5"), bookmark_interval=1)
    [[event]] = list(stream)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410


def test_a_corrupt_state_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="move it away"):
        StateFile(ApiServer(), path).load()


def test_namespaced_kinds_of_deleted_crds_are_gone_from_the_catalog(demo):
    crds = demo.kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    demo.delete(crds, None, f"caches.{PLATFORM}", WriteOptions())
    with pytest.raises(ApiError) as error:
        demo.kind(PLATFORM, "v1alpha1", "caches")
    assert error.value.code == 404
