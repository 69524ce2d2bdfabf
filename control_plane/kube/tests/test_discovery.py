"""Choosing what to sync from discovery documents, without a server: the documents are what kube-apiserver serves."""

from __future__ import annotations

from typing import Any

from control_plane.kube.discovery import ResourceType, select_resource_types

WATCHABLE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def resource(
    name: str, kind: str, *, namespaced: bool = True, categories: tuple[str, ...] = (), verbs: list[str] = WATCHABLE
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "kind": kind, "namespaced": namespaced, "verbs": verbs}
    if categories:
        entry["categories"] = list(categories)
    return entry


def document(group_version: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "APIResourceList", "groupVersion": group_version, "resources": list(resources)}


def selected(*documents: dict[str, Any]) -> dict[str, str]:
    return {rt.key: rt.category for rt in select_resource_types(documents)}


def test_built_in_kinds_come_from_the_allow_list_only() -> None:
    found = selected(
        document(
            "v1",
            resource("namespaces", "Namespace", namespaced=False),
            resource("pods", "Pod"),
            resource("configmaps", "ConfigMap"),
            resource("secrets", "Secret"),
            resource("events", "Event"),
        ),
        document(
            "apps/v1",
            resource("deployments", "Deployment"),
            resource("deployments/status", "Deployment"),
            resource("controllerrevisions", "ControllerRevision"),
        ),
    )

    assert found == {"namespaces": "core", "configmaps": "core", "secrets": "core", "deployments.apps": "core"}


def test_a_crd_reusing_a_built_in_kind_name_is_not_taken_for_it() -> None:
    assert selected(document("example.com/v1", resource("services", "Service"))) == {}


def test_crossplane_kinds_and_provider_configs_of_any_provider_group() -> None:
    found = selected(
        document(
            "apiextensions.k8s.io/v1",
            resource("customresourcedefinitions", "CustomResourceDefinition", namespaced=False),
        ),
        document(
            "apiextensions.crossplane.io/v1",
            resource(
                "compositeresourcedefinitions",
                "CompositeResourceDefinition",
                namespaced=False,
                categories=("crossplane",),
            ),
            resource("compositions", "Composition", namespaced=False),
            resource("compositionrevisions", "CompositionRevision", namespaced=False),
        ),
        document(
            "apiextensions.crossplane.io/v1beta1", resource("environmentconfigs", "EnvironmentConfig", namespaced=False)
        ),
        document(
            "pkg.crossplane.io/v1",
            resource("providers", "Provider", namespaced=False),
            resource("functions", "Function", namespaced=False),
            resource("configurations", "Configuration", namespaced=False),
        ),
        document(
            "aws.upbound.io/v1beta1",
            resource("providerconfigs", "ProviderConfig", namespaced=False),
            resource("providerconfigusages", "ProviderConfigUsage", namespaced=False),
        ),
        document(
            "aws.m.upbound.io/v1beta1", resource("clusterproviderconfigs", "ClusterProviderConfig", namespaced=False)
        ),
    )

    assert found == {
        "customresourcedefinitions.apiextensions.k8s.io": "crossplane",
        "compositeresourcedefinitions.apiextensions.crossplane.io": "crossplane",
        "compositions.apiextensions.crossplane.io": "crossplane",
        "compositionrevisions.apiextensions.crossplane.io": "crossplane",
        "environmentconfigs.apiextensions.crossplane.io": "crossplane",
        "providers.pkg.crossplane.io": "crossplane",
        "functions.pkg.crossplane.io": "crossplane",
        "providerconfigs.aws.upbound.io": "crossplane",
        "clusterproviderconfigs.aws.m.upbound.io": "crossplane",
    }


def test_composites_claims_and_managed_resources_by_category_in_crossplane_v1_and_v2() -> None:
    found = selected(
        document(
            "platform.example.org/v1alpha1",
            resource("xdatabases", "XDatabase", namespaced=False, categories=("composite",)),
            resource("databases", "Database", categories=("claim",)),
        ),
        document("platform.example.org/v2", resource("apps", "App", categories=("composite",))),
        document(
            "rds.aws.upbound.io/v1beta1",
            resource("instances", "Instance", namespaced=False, categories=("crossplane", "managed", "aws")),
        ),
        document(
            "rds.aws.m.upbound.io/v1beta1",
            resource("instances", "Instance", categories=("crossplane", "managed", "aws")),
        ),
        document("example.com/v1", resource("widgets", "Widget", categories=("all",))),
    )

    assert found == {
        "xdatabases.platform.example.org": "composite",
        "databases.platform.example.org": "claim",
        "apps.platform.example.org": "composite",
        "instances.rds.aws.upbound.io": "managed",
        "instances.rds.aws.m.upbound.io": "managed",
    }


def test_a_resource_served_in_several_versions_is_taken_once_from_the_first_document() -> None:
    types = select_resource_types(
        [
            document(
                "platform.example.org/v1", resource("xcaches", "XCache", namespaced=False, categories=("composite",))
            ),
            document(
                "platform.example.org/v1alpha1",
                resource("xcaches", "XCache", namespaced=False, categories=("composite",)),
            ),
        ]
    )

    assert types == [
        ResourceType(
            group="platform.example.org",
            version="v1",
            kind="XCache",
            plural="xcaches",
            namespaced=False,
            categories=("composite",),
            verbs=tuple(WATCHABLE),
            category="composite",
        )
    ]
    assert types[0].api_version == "platform.example.org/v1"


def test_types_that_cannot_be_listed_and_watched_are_skipped() -> None:
    found = selected(
        document(
            "platform.example.org/v1", resource("xqueues", "XQueue", categories=("composite",), verbs=["get", "list"])
        )
    )

    assert found == {}


def test_core_types_have_a_version_only_api_version_and_a_plural_key() -> None:
    [namespaces] = select_resource_types([document("v1", resource("namespaces", "Namespace", namespaced=False))])

    assert (namespaces.group, namespaces.api_version, namespaces.key) == ("", "v1", "namespaces")
