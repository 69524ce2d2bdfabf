"""Crossplane's own upstream CRDs (`../shared/crossplane-crds`) served by the sandbox, through the official client.

Our demo CRDs are our own; these tests prove the sandbox also serves the real ones: every CRD registers, its kinds
appear in discovery with their categories, and objects are defaulted, pruned and validated by the real schemas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

UPSTREAM = Path(__file__).resolve().parents[4] / "shared" / "crossplane-crds"
pytestmark = pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"{UPSTREAM} is not beside the repository")


@pytest.fixture
def loaded(api_client: client.ApiClient) -> tuple[client.ApiClient, list[str]]:
    # The dynamic client sends the documents as they are (the typed one re-validates them client-side).
    crds = dynamic.DynamicClient(api_client).resources.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
    )
    names = []
    for path in sorted(UPSTREAM.glob("*/*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                names.append(crds.create(body=document).metadata.name)
    return api_client, names


def test_every_upstream_crd_registers_and_is_discoverable(loaded):
    api, names = loaded
    assert len(names) >= 25
    dyn = dynamic.DynamicClient(api)
    compositions = dyn.resources.get(api_version="apiextensions.crossplane.io/v1", kind="Composition")
    assert not compositions.namespaced and "crossplane" in compositions.categories
    objects = dyn.resources.get(api_version="kubernetes.m.crossplane.io/v1alpha1", kind="Object")
    assert objects.namespaced and "managed" in objects.categories


def test_a_composition_is_defaulted_pruned_and_validated_by_the_upstream_schema(loaded):
    api, _ = loaded
    custom = client.CustomObjectsApi(api)
    composition = {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {"name": "databases-aws"},
        "spec": {
            "compositeTypeRef": {"apiVersion": "platform.devplat.io/v1alpha1", "kind": "Database"},
            "pipeline": [
                {
                    "step": "patch",
                    "functionRef": {"name": "function-patch-and-transform"},
                    "input": {"apiVersion": "pt.fn.crossplane.io/v1beta1", "kind": "Resources"},
                }
            ],
            "notAField": True,
        },
    }
    made = custom.create_cluster_custom_object("apiextensions.crossplane.io", "v1", "compositions", composition)
    assert made["spec"]["mode"] == "Pipeline"  # the schema's default
    assert "notAField" not in made["spec"]  # pruned
    assert made["spec"]["pipeline"][0]["input"]["kind"] == "Resources"  # embedded resource kept

    broken = {
        **composition,
        "metadata": {"name": "broken"},
        "spec": {"compositeTypeRef": {"kind": "Database"}, "mode": "Sideways"},
    }
    with pytest.raises(ApiException) as error:
        custom.create_cluster_custom_object("apiextensions.crossplane.io", "v1", "compositions", broken)
    assert error.value.status == 422
    assert "spec.compositeTypeRef.apiVersion" in error.value.body and "spec.mode" in error.value.body
