"""CEL rules as the sandbox serves them: refused writes and CRDs over HTTP, through the official client, worded as
kube-apiserver words them. The rules' own tests are control_plane/kubeapi/tests/test_cel.py; its fixtures' builders
are shared from there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client.exceptions import ApiException

from control_plane.kubeapi.tests.test_cel import (
    GROUP,
    IMMUTABLE,
    cause,
    needs_crossplane_crds,
    resource_schema,
    upstream_crds,
    widget,
    widget_crd,
    xrd,
)


@pytest.fixture
def api(api_client: client.ApiClient) -> client.ApiClient:
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": "demo"}})
    return api_client


@pytest.fixture
def widgets(api) -> client.CustomObjectsApi:
    spec_rules = [{"rule": "self.replicas <= 10", "message": "at most 10 replicas", "fieldPath": ".replicas"}]
    crd = widget_crd(root=resource_schema(spec_rules, region=IMMUTABLE))
    client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    return client.CustomObjectsApi(api)


def refused(call: Any, *args: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as error:
        call(*args)
    assert error.value.status == 422
    return json.loads(error.value.body)


def test_the_sandbox_refuses_a_custom_resource_that_breaks_a_rule(widgets):
    status = refused(widgets.create_namespaced_custom_object, GROUP, "v1", "demo", "widgets", widget({"replicas": 11}))

    assert status["reason"] == "Invalid"
    assert status["message"] == (
        f'Widget.{GROUP} "w" is invalid: spec.replicas: Invalid value: "object": at most 10 replicas'
    )
    assert status["details"]["causes"] == [
        cause("spec.replicas", "FieldValueInvalid", 'Invalid value: "object": at most 10 replicas')
    ]


def test_the_sandbox_refuses_changing_an_immutable_field_on_update(widgets):
    widgets.create_namespaced_custom_object(GROUP, "v1", "demo", "widgets", widget({"region": "eu", "replicas": 1}))
    widgets.patch_namespaced_custom_object(GROUP, "v1", "demo", "widgets", "w", {"spec": {"replicas": 2}})
    immutable = cause("spec.region", "FieldValueInvalid", 'Invalid value: "string": Value is immutable')

    patched = refused(
        widgets.patch_namespaced_custom_object, GROUP, "v1", "demo", "widgets", "w", {"spec": {"region": "us"}}
    )
    current = widgets.get_namespaced_custom_object(GROUP, "v1", "demo", "widgets", "w")
    replaced = refused(
        widgets.replace_namespaced_custom_object,
        GROUP,
        "v1",
        "demo",
        "widgets",
        "w",
        {**current, "spec": {**current["spec"], "region": "us"}},
    )

    assert (
        patched["message"] == f'Widget.{GROUP} "w" is invalid: spec.region: Invalid value: "string": Value is immutable'
    )
    assert patched["details"]["causes"] == replaced["details"]["causes"] == [immutable]
    assert widgets.get_namespaced_custom_object(GROUP, "v1", "demo", "widgets", "w")["spec"] == {
        "region": "eu",
        "replicas": 2,
    }


def test_the_sandbox_refuses_a_crd_whose_rule_does_not_compile(api):
    crds = dynamic.DynamicClient(api).resources.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
    )

    with pytest.raises(ApiException) as error:
        crds.create(body=widget_crd([{"rule": "self.replicas.frob()"}]))
    assert error.value.status == 422
    assert "undeclared reference to 'frob'" in json.loads(error.value.body)["message"]


@needs_crossplane_crds
def test_the_sandbox_refuses_changing_an_xrds_group(api):
    crds = dynamic.DynamicClient(api).resources.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition"
    )
    crds.create(
        body=next(crd for crd in upstream_crds() if crd["spec"]["names"]["kind"] == "CompositeResourceDefinition")
    )
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object(
        "apiextensions.crossplane.io", "v1", "compositeresourcedefinitions", xrd("platform.example.com")
    )

    status = refused(
        custom.patch_cluster_custom_object,
        "apiextensions.crossplane.io",
        "v1",
        "compositeresourcedefinitions",
        "xdatabases.platform.example.com",
        {"spec": {"group": "other.example.com"}},
    )
    assert status["details"]["causes"] == [
        cause("spec.group", "FieldValueInvalid", 'Invalid value: "string": Value is immutable')
    ]
