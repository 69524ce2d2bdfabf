"""The XRD controller emulation: XRDs written over HTTP serve their composite (and claim) kinds like Crossplane's."""

from __future__ import annotations

import copy

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from control_plane.sandbox.crossplane_kinds import crossplane_crds
from control_plane.sandbox.package import platform_xrds

XP = "apiextensions.crossplane.io"
PLATFORM = "platform.devplat.io"
MACHINERY = {
    "compositionRef",
    "compositionSelector",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "compositionUpdatePolicy",
    "resourceRefs",
}


@pytest.fixture
def objects(sandbox, api_client) -> client.CustomObjectsApi:
    """The official client's CustomObjectsApi on a sandbox with Crossplane's kinds and a namespace `team-a`."""
    sandbox.api.bulk_load(crossplane_crds())
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": "team-a"}})
    return client.CustomObjectsApi(api_client)


def package_xrd(plural: str) -> dict:
    return copy.deepcopy(next(x for x in platform_xrds() if x["spec"]["names"]["plural"] == plural))


def create_xrd(objects: client.CustomObjectsApi, xrd: dict) -> dict:
    version = xrd["apiVersion"].split("/")[1]
    return objects.create_cluster_custom_object(XP, version, "compositeresourcedefinitions", xrd)


def get_xrd(objects: client.CustomObjectsApi, name: str) -> dict:
    return objects.get_cluster_custom_object(XP, "v2", "compositeresourcedefinitions", name)


def get_crd(objects: client.CustomObjectsApi, name: str) -> dict:
    return objects.get_cluster_custom_object("apiextensions.k8s.io", "v1", "customresourcedefinitions", name)


def conditions(obj: dict) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("message", "")) for c in obj.get("status", {}).get("conditions", [])}


def legacy_xrd(*, claims: bool = True) -> dict:
    spec = {
        "group": "legacy.devplat.io",
        "names": {"kind": "XQueue", "plural": "xqueues"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "referenceable": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer", "default": 1}}}
                        },
                    }
                },
            }
        ],
    }
    if claims:
        spec["claimNames"] = {"kind": "Queue", "plural": "queues"}
    return {
        "apiVersion": f"{XP}/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": "xqueues.legacy.devplat.io"},
        "spec": spec,
    }


def test_a_v2_xrd_defines_its_composite_crd_owned_by_it_and_is_established(objects):
    xrd = create_xrd(objects, package_xrd("databases"))
    crd = get_crd(objects, f"databases.{PLATFORM}")
    assert crd["metadata"]["ownerReferences"] == [
        {
            "apiVersion": f"{XP}/v2",
            "kind": "CompositeResourceDefinition",
            "name": f"databases.{PLATFORM}",
            "uid": xrd["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert crd["metadata"]["labels"] == {"devplat.io/capability": "database"}
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["categories"] == ["devplat", "database", "composite"]
    [version] = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["required"] == ["spec"]
    spec = schema["properties"]["spec"]["properties"]
    assert set(spec["crossplane"]["properties"]) == MACHINERY
    assert "namespace" not in spec["crossplane"]["properties"]["resourceRefs"]["items"]["properties"]
    assert spec["engineVersion"]["enum"] == ["14", "15", "16", "17"]  # the XRD's own parameters, unchanged
    status = schema["properties"]["status"]["properties"]
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    assert {"address", "port", "connectionSecret", "crossplane"} <= set(status)
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        *("ENGINE", "VERSION", "SIZE", "STORAGE"),
        *("SYNCED", "READY", "COMPOSITION", "COMPOSITIONREVISION", "AGE"),
    ]
    assert conditions(get_xrd(objects, f"databases.{PLATFORM}"))["Established"] == ("True", "")
    assert conditions(crd)["Established"][0] == "True"


def test_composites_are_admitted_against_the_xrd_schema_with_defaults_and_cel_rules(objects):
    for plural in ("databases", "apps"):
        create_xrd(objects, package_xrd(plural))
    database = {"apiVersion": f"{PLATFORM}/v1alpha1", "kind": "Database", "metadata": {"name": "orders"}, "spec": {}}
    made = objects.create_namespaced_custom_object(PLATFORM, "v1alpha1", "team-a", "databases", database)
    assert made["spec"] == {
        "engine": "postgres",
        "engineVersion": "16",
        "size": "small",
        "storageGB": 20,
        "backups": {"enabled": True, "retentionDays": 7},
    }
    with pytest.raises(ApiException) as downgrade:  # a transition rule: engineVersion only goes up
        objects.patch_namespaced_custom_object(
            PLATFORM, "v1alpha1", "team-a", "databases", "orders", {"spec": {"engineVersion": "15"}}
        )
    assert downgrade.value.status == 422 and "engineVersion can only be upgraded" in downgrade.value.body
    app = {
        "apiVersion": f"{PLATFORM}/v1alpha1",
        "kind": "App",
        "metadata": {"name": "web"},
        "spec": {"image": "a:latest"},
    }
    with pytest.raises(ApiException) as latest:
        objects.create_namespaced_custom_object(PLATFORM, "v1alpha1", "team-a", "apps", app)
    assert latest.value.status == 422 and "must not use the mutable :latest tag" in latest.value.body
    with pytest.raises(ApiException) as no_spec:  # Crossplane's base schema requires a spec
        objects.create_namespaced_custom_object(
            PLATFORM, "v1alpha1", "team-a", "databases", {**database, "metadata": {"name": "bare"}, "spec": None}
        )
    assert no_spec.value.status == 422 and "spec: Required value" in no_spec.value.body


def test_a_v1_xrd_with_claim_names_serves_a_cluster_scoped_composite_and_a_namespaced_claim(objects):
    create_xrd(objects, legacy_xrd())
    xrd = get_xrd(objects, "xqueues.legacy.devplat.io")
    assert xrd["spec"]["scope"] == "LegacyCluster"  # v1's default
    assert conditions(xrd)["Established"][0] == "True" and conditions(xrd)["Offered"][0] == "True"
    composite = get_crd(objects, "xqueues.legacy.devplat.io")
    assert composite["spec"]["scope"] == "Cluster"
    [version] = composite["spec"]["versions"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert MACHINERY | {"claimRef", "writeConnectionSecretToRef", "size"} == set(spec)
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["COMPOSITION"] == ".spec.compositionRef.name"
    claim = get_crd(objects, "queues.legacy.devplat.io")
    assert claim["spec"]["scope"] == "Namespaced" and claim["spec"]["names"]["categories"] == ["claim"]
    [claim_version] = claim["spec"]["versions"]
    assert [c["name"] for c in claim_version["additionalPrinterColumns"]] == [
        "SYNCED",
        "READY",
        "CONNECTION-SECRET",
        "AGE",
    ]
    made = objects.create_namespaced_custom_object(
        "legacy.devplat.io",
        "v1alpha1",
        "team-a",
        "queues",
        {"apiVersion": "legacy.devplat.io/v1alpha1", "kind": "Queue", "metadata": {"name": "jobs"}, "spec": {}},
    )
    assert made["spec"] == {"size": 1, "compositeDeletePolicy": "Background"}


def test_a_v2_xrd_cannot_offer_claims(objects):
    offering = package_xrd("caches")
    offering["spec"]["claimNames"] = {"kind": "CacheClaim", "plural": "cacheclaims"}
    with pytest.raises(ApiException) as error:
        create_xrd(objects, offering)
    assert error.value.status == 422 and "Claims aren't supported in apiextensions.crossplane.io/v2" in error.value.body


def test_changing_an_xrd_changes_its_crd(objects):
    create_xrd(objects, package_xrd("caches"))
    created = get_xrd(objects, f"caches.{PLATFORM}")  # the controller's status write moved it past the create
    properties = created["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    properties["tier"] = {"type": "string", "default": "standard"}
    objects.replace_cluster_custom_object(XP, "v2", "compositeresourcedefinitions", f"caches.{PLATFORM}", created)
    cache = {"apiVersion": f"{PLATFORM}/v1alpha1", "kind": "Cache", "metadata": {"name": "sessions"}, "spec": {}}
    made = objects.create_namespaced_custom_object(PLATFORM, "v1alpha1", "team-a", "caches", cache)
    assert made["spec"]["tier"] == "standard"


def test_an_xrd_whose_crd_cannot_be_made_says_why_and_serves_nothing(objects):
    broken = package_xrd("buckets")
    del broken["spec"]["versions"][0]["schema"]
    create_xrd(objects, broken)
    synced = conditions(get_xrd(objects, f"buckets.{PLATFORM}"))["Synced"]
    assert synced == (
        "False",
        "cannot apply rendered Composite Resource CustomResourceDefinition: custom resource validation cannot be nil",
    )
    with pytest.raises(ApiException) as error:
        get_crd(objects, f"buckets.{PLATFORM}")
    assert error.value.status == 404


def test_deleting_an_xrd_deletes_its_crds_and_every_composite(objects):
    create_xrd(objects, legacy_xrd())
    objects.create_cluster_custom_object(
        "legacy.devplat.io",
        "v1alpha1",
        "xqueues",
        {"apiVersion": "legacy.devplat.io/v1alpha1", "kind": "XQueue", "metadata": {"name": "q"}, "spec": {}},
    )
    objects.delete_cluster_custom_object(XP, "v1", "compositeresourcedefinitions", "xqueues.legacy.devplat.io")
    for name in ("xqueues.legacy.devplat.io", "queues.legacy.devplat.io"):
        with pytest.raises(ApiException) as gone:
            get_crd(objects, name)
        assert gone.value.status == 404
    with pytest.raises(ApiException) as unserved:
        objects.list_cluster_custom_object("legacy.devplat.io", "v1alpha1", "xqueues")
    assert unserved.value.status == 404
