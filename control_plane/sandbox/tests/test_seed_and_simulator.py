"""The demo seed, the simulated reconciler and state files."""

from __future__ import annotations

import pytest
from kubernetes import client

from control_plane.kubeapi import schema
from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox.apiserver import APPLY, MERGE, ApiServer, WriteOptions
from control_plane.sandbox.package import platform_xrds
from control_plane.sandbox.reads import ReadParams, list_objects, watch_events
from control_plane.sandbox.seed import CROSSPLANE_VERSION, RDS_ERROR, load_demo
from control_plane.sandbox.simulator import Simulator
from control_plane.sandbox.statefile import StateFile

PLATFORM = "platform.devplat.io"
STAGING = {"devplat.io/environment": "staging"}


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


def test_demo_installs_the_platform_package_and_its_composites_are_stored_as_the_server_would_store_them(demo):
    xrds = demo.kind("apiextensions.crossplane.io", "v2", "compositeresourcedefinitions")
    for xrd in platform_xrds():
        installed = demo.get(xrds, None, xrd["metadata"]["name"])
        assert conditions(installed)["Established"] == "True"
        assert installed["spec"]["versions"] == xrd["spec"]["versions"]
    checked = 0
    for kind in demo.catalog.all():
        if kind.group != PLATFORM:
            continue
        for obj in demo.store.snapshot(kind.storage).objects:
            admitted = schema.admit(obj, kind.schema, kind=kind.kind, group=kind.group, name=obj["metadata"]["name"])
            assert admitted.unknown_fields == [], obj["metadata"]["name"]
            assert (admitted.object["spec"], admitted.object["status"]) == (obj["spec"], obj["status"])
            checked += 1
    assert checked == 7  # two Databases, two Apps, a Cache, the v1 claim and its composite
    orders = demo.get(demo.kind(PLATFORM, "v1alpha1", "databases"), "team-payments", "orders-db")
    assert orders["spec"]["crossplane"]["compositionRef"] == {"name": "database-aws"}


def test_demo_has_what_provisioning_needs(demo):
    namespaces = {n["metadata"]["name"] for n in demo.store.snapshot(("", "namespaces")).objects}
    assert {"team-payments", "team-checkout", "team-search"} <= namespaces
    compositions = demo.store.snapshot(("apiextensions.crossplane.io", "compositions")).objects
    composed = {c["spec"]["compositeTypeRef"]["kind"] for c in compositions}
    assert {"Database", "App", "Cache", "Bucket", "TeamEnvironment"} <= composed
    configs = demo.store.snapshot(("apiextensions.crossplane.io", "environmentconfigs")).objects
    assert {(c["metadata"]["name"], c["metadata"]["labels"]["devplat.io/environment"]) for c in configs} == {
        ("environment-dev", "dev"),
        ("environment-staging", "staging"),
        ("environment-prod", "prod"),
    }


def request(demo: ApiServer, plural: str, name: str, spec: dict, **labels: str) -> dict:
    """A composite applied the way devplat applies one: server-side apply into the team's namespace."""
    kind = demo.kind(PLATFORM, "v1alpha1", plural)
    body = {
        "apiVersion": f"{PLATFORM}/v1alpha1",
        "kind": kind.kind,
        "metadata": {"name": name, "labels": {"devplat.io/team": "payments", **labels}},
        "spec": spec,
    }
    return demo.patch(kind, "team-payments", name, body, APPLY, WriteOptions(field_manager="devplat")).object


def composite(demo: ApiServer, plural: str, name: str, namespace: str = "team-payments") -> dict:
    return demo.get(demo.kind(PLATFORM, "v1alpha1", plural), namespace, name)


def composed(demo: ApiServer, xr: dict) -> dict[str, dict]:
    """What the composite references, by kind/name, read from the store."""
    found = {}
    for ref in xr["spec"]["crossplane"]["resourceRefs"]:
        kind = demo.kind_for(ref["apiVersion"], ref["kind"])
        found[f"{ref['kind']}/{ref['name']}"] = demo.get(kind, xr["metadata"]["namespace"], ref["name"])
    return found


def pods_of(demo: ApiServer, app: str) -> list[dict]:
    pods = list_objects(demo, demo.kind("", "v1", "pods"), "team-payments", ReadParams(label_selector=f"app={app}"))
    return pods["items"]


def test_simulator_makes_a_new_composite_ready_with_children(demo):
    created = request(demo, "databases", "fresh", {"engineVersion": "16"})
    assert created["spec"]["size"] == "small"  # the XRD's default
    simulator = Simulator(demo, delay=0)
    assert simulator.reconcile_once() == 1
    ready = composite(demo, "databases", "fresh")
    assert conditions(ready) == {"Synced": "True", "Ready": "True"}
    assert ready["metadata"]["annotations"]["devplat.io/simulated"] == "true"
    assert ready["spec"]["crossplane"]["compositionRef"] == {"name": "database-aws"}  # the XRD's default
    assert ready["status"]["connectionSecret"] == "fresh-conn"
    children = composed(demo, ready)
    assert set(children) == {"Instance/fresh-5xq8n", "SecurityGroup/fresh-sg-2kq9r", "Secret/fresh-conn"}
    for child in children.values():
        assert child["metadata"]["ownerReferences"][0]["uid"] == ready["metadata"]["uid"]
        assert child["metadata"]["annotations"]["devplat.io/simulated"] == "true"
    before = demo.store.rv
    assert simulator.reconcile_once() == 0  # already Ready: nothing more to do, nothing written
    assert demo.store.rv == before


def test_simulator_waits_for_its_delay(demo):
    request(demo, "databases", "young", {})
    assert Simulator(demo, delay=60).reconcile_once() == 0
    assert "Ready" not in conditions(composite(demo, "databases", "young"))


def test_simulator_composes_buckets_and_team_environments(demo):
    request(demo, "buckets", "assets", {"expireAfterDays": 30})
    members = [{"name": "alice@example.com", "role": "admin"}]
    request(demo, "teamenvironments", "payments-staging", {"team": "payments", "members": members}, **STAGING)
    assert Simulator(demo, delay=0).reconcile_once() == 2
    bucket = composite(demo, "buckets", "assets")
    assert conditions(bucket)["Ready"] == "True" and bucket["status"]["bucketName"] == "devplat-team-payments-assets"
    kinds = sorted(child["kind"] for child in composed(demo, bucket).values())
    assert kinds == ["Bucket", "BucketLifecycleConfiguration", "BucketPublicAccessBlock", "BucketVersioning"]
    environment = composite(demo, "teamenvironments", "payments-staging")
    assert conditions(environment)["Ready"] == "True" and environment["status"]["namespace"] == "payments-staging"
    manifests = [child["spec"]["forProvider"]["manifest"] for child in composed(demo, environment).values()]
    assert [(m["kind"], m["metadata"].get("namespace")) for m in manifests] == [
        ("Namespace", None),
        ("ResourceQuota", "payments-staging"),
        ("LimitRange", "payments-staging"),
        ("RoleBinding", "payments-staging"),
        ("NetworkPolicy", "payments-staging"),
    ]


def test_a_changed_parameter_updates_the_composed_children_on_the_next_pass(demo):
    request(demo, "apps", "shop", {"image": "ghcr.io/acme/shop:1.0", "replicas": 3, "host": "shop.example.com"})
    simulator = Simulator(demo, delay=0)
    simulator.reconcile_once()
    assert len(pods_of(demo, "shop")) == 3
    assert "Ingress/shop" in composed(demo, composite(demo, "apps", "shop"))
    request(demo, "apps", "shop", {"image": "ghcr.io/acme/shop:1.1", "replicas": 1})
    changed = composite(demo, "apps", "shop")
    assert conditions(changed)["Ready"] == "True"  # until the simulator sees the new generation
    assert simulator.reconcile_once() == 1
    deployment = demo.get(demo.kind("apps", "v1", "deployments"), "team-payments", "shop")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop:1.1"
    [pod] = pods_of(demo, "shop")
    assert pod["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop:1.1"
    updated = composite(demo, "apps", "shop")
    assert set(composed(demo, updated)) == {"Deployment/shop", "Service/shop"}  # no host, no Ingress
    with pytest.raises(ApiError):
        demo.get(demo.kind("networking.k8s.io", "v1", "ingresses"), "team-payments", "shop")
    ready = next(c for c in updated["status"]["conditions"] if c["type"] == "Ready")
    assert ready["observedGeneration"] == updated["metadata"]["generation"]


def test_an_app_waits_for_its_database_and_its_connection_secret(demo):
    request(demo, "apps", "shop", {"image": "ghcr.io/acme/shop:1.0", "databaseRef": {"name": "shop-db"}})
    simulator = Simulator(demo, delay=0)
    simulator.reconcile_once()
    waiting = composite(demo, "apps", "shop")
    ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Creating")
    assert ready["message"] == (
        "Unready resources: deployment (waiting for Database shop-db, which does not exist in team-payments)"
    )
    [state] = {pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] for pod in pods_of(demo, "shop")}
    assert state == 'secret "shop-db-conn" not found'
    before = demo.store.rv
    assert simulator.reconcile_once() == 0  # still waiting: nothing new to say, nothing written
    assert demo.store.rv == before

    request(demo, "databases", "shop-db", {})
    simulator.reconcile_once()  # the Database becomes Ready and its secret appears
    assert conditions(composite(demo, "databases", "shop-db"))["Ready"] == "True"
    simulator.reconcile_once()
    assert conditions(composite(demo, "apps", "shop"))["Ready"] == "True"
    assert {pod["status"]["phase"] for pod in pods_of(demo, "shop")} == {"Running"}


def test_the_failing_seed_database_stays_failing_until_someone_changes_it(demo):
    simulator = Simulator(demo, delay=0)
    assert simulator.reconcile_once() == 0
    assert conditions(composite(demo, "databases", "checkout-db", "team-checkout"))["Ready"] == "False"
    kind = demo.kind(PLATFORM, "v1alpha1", "databases")
    demo.patch(kind, "team-checkout", "checkout-db", {"spec": {"size": "medium"}}, MERGE, WriteOptions())
    assert simulator.reconcile_once() == 1
    fixed = composite(demo, "databases", "checkout-db", "team-checkout")
    assert conditions(fixed) == {"Synced": "True", "Ready": "True"}
    instance = composed(demo, fixed)["Instance/checkout-db-5xq8n"]
    assert instance["spec"]["forProvider"]["instanceClass"] == "db.t3.large"
    assert "Secret/checkout-db-conn" in composed(demo, fixed)


def test_deleting_a_composite_deletes_what_it_composed(demo):
    request(demo, "apps", "shop", {"image": "ghcr.io/acme/shop:1.0"})
    Simulator(demo, delay=0).reconcile_once()
    assert pods_of(demo, "shop")
    demo.delete(demo.kind(PLATFORM, "v1alpha1", "apps"), "team-payments", "shop", WriteOptions())
    assert pods_of(demo, "shop") == []
    with pytest.raises(ApiError):
        demo.get(demo.kind("apps", "v1", "deployments"), "team-payments", "shop")


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


def test_the_typed_client_reads_every_built_in_object_the_seed_and_the_simulator_write(sandbox, api_client):
    load_demo(sandbox.api)
    waiting = {"image": "ghcr.io/acme/shop:1.0", "databaseRef": {"name": "missing-db"}}
    request(sandbox.api, "apps", "shop", waiting)
    scaled = {"image": "ghcr.io/acme/web:2.0", "host": "web.example.com", "autoscaling": {"enabled": True}}
    request(sandbox.api, "apps", "web", scaled)
    Simulator(sandbox.api, delay=0).reconcile_once()
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    pods = core.list_pod_for_all_namespaces().items
    assert {p.status.container_statuses[0].state.waiting.reason for p in pods if p.status.phase == "Pending"} == {
        "CreateContainerConfigError"
    }
    assert len(apps.list_deployment_for_all_namespaces().items) == 6
    assert apps.list_replica_set_for_all_namespaces().items and core.list_service_for_all_namespaces().items
    [ingress] = client.NetworkingV1Api(api_client).list_ingress_for_all_namespaces().items
    assert ingress.spec.rules[0].host == "web.example.com"
    [autoscaler] = client.AutoscalingV2Api(api_client).list_horizontal_pod_autoscaler_for_all_namespaces().items
    assert (autoscaler.spec.min_replicas, autoscaler.spec.max_replicas) == (2, 5)
