"""References read from built-in objects and from Crossplane v1 and v2 claims, composites and managed resources."""

from __future__ import annotations

from typing import Any

from control_plane.sync.refs import NamespacedLookup, Ref, references

# What a cluster with Crossplane v1 and v2 providers installed serves.
SERVED: dict[tuple[str, str], bool] = {
    ("apps", "Deployment"): True,
    ("apps", "ReplicaSet"): True,
    ("", "Namespace"): False,
    ("platform.example.org", "PostgreSQLInstance"): True,
    ("platform.example.org", "XPostgreSQLInstance"): False,
    ("platform.example.org", "App"): True,
    ("rds.aws.upbound.io", "Instance"): False,
    ("rds.aws.m.upbound.io", "Instance"): True,
    ("ec2.aws.m.upbound.io", "SecurityGroup"): True,
    ("aws.upbound.io", "ProviderConfig"): False,
    ("aws.m.upbound.io", "ProviderConfig"): True,
    ("aws.m.upbound.io", "ClusterProviderConfig"): False,
}


def served(group: str, kind: str) -> bool | None:
    return SERVED.get((group, kind))


def unknown(group: str, kind: str) -> bool | None:
    return None


def refs_of(obj: dict[str, Any], lookup: NamespacedLookup = served) -> list[tuple[str, ...]]:
    """References as (relation, uid, group, kind, namespace, name) tuples, for readable expectations."""
    return [
        (ref.relation, ref.target_uid, ref.target_group, ref.target_kind, ref.target_namespace, ref.target_name)
        for ref in references(obj, lookup)
    ]


def owner(api_version: str, kind: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}


def test_replicaset_owned_by_its_deployment_in_the_same_namespace() -> None:
    replicaset = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-5d8f",
            "namespace": "team-a",
            "ownerReferences": [owner("apps/v1", "Deployment", "web", "d-1")],
        },
        "spec": {"replicas": 2},
    }

    assert refs_of(replicaset) == [("owned-by", "d-1", "apps", "Deployment", "team-a", "web")]


def test_cluster_scoped_owner_has_no_namespace_and_unknown_owner_kinds_share_the_objects() -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "settings",
            "namespace": "team-a",
            "ownerReferences": [
                owner("v1", "Namespace", "team-a", "ns-1"),
                owner("example.com/v1", "Widget", "w", "w-1"),
            ],
        },
    }

    assert refs_of(configmap) == [
        ("owned-by", "ns-1", "", "Namespace", "", "team-a"),
        ("owned-by", "w-1", "example.com", "Widget", "team-a", "w"),
    ]


def test_v1_claim_references_its_composite_composition_and_secret() -> None:
    claim = {
        "apiVersion": "platform.example.org/v1alpha1",
        "kind": "PostgreSQLInstance",
        "metadata": {"name": "orders-db", "namespace": "team-a"},
        "spec": {
            "parameters": {"storageGB": 20},
            "compositionRef": {"name": "xpostgresqlinstances-aws"},
            "resourceRef": {
                "apiVersion": "platform.example.org/v1alpha1",
                "kind": "XPostgreSQLInstance",
                "name": "orders-db-x7k2p",
            },
            "writeConnectionSecretToRef": {"name": "orders-db-conn"},
        },
    }

    assert refs_of(claim) == [
        ("claims", "", "platform.example.org", "XPostgreSQLInstance", "", "orders-db-x7k2p"),
        ("uses-composition", "", "apiextensions.crossplane.io", "Composition", "", "xpostgresqlinstances-aws"),
        ("uses-secret", "", "", "Secret", "team-a", "orders-db-conn"),
    ]


def test_v1_composite_references_claim_composed_resources_composition_revision_and_secret() -> None:
    xr = {
        "apiVersion": "platform.example.org/v1alpha1",
        "kind": "XPostgreSQLInstance",
        "metadata": {"name": "orders-db-x7k2p"},
        "spec": {
            "claimRef": {
                "apiVersion": "platform.example.org/v1alpha1",
                "kind": "PostgreSQLInstance",
                "name": "orders-db",
                "namespace": "team-a",
            },
            "compositionRef": {"name": "xpostgresqlinstances-aws"},
            "compositionRevisionRef": {"name": "xpostgresqlinstances-aws-8f2c1"},
            "resourceRefs": [
                {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Instance", "name": "orders-db-x7k2p-r9t4z"},
                {"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Instance"},  # not created yet: no name
            ],
            "writeConnectionSecretToRef": {"name": "orders-db-x7k2p-conn", "namespace": "crossplane-system"},
        },
    }

    assert refs_of(xr) == [
        ("composes", "", "rds.aws.upbound.io", "Instance", "", "orders-db-x7k2p-r9t4z"),
        ("claimed-by", "", "platform.example.org", "PostgreSQLInstance", "team-a", "orders-db"),
        ("uses-composition", "", "apiextensions.crossplane.io", "Composition", "", "xpostgresqlinstances-aws"),
        (
            "uses-composition",
            "",
            "apiextensions.crossplane.io",
            "CompositionRevision",
            "",
            "xpostgresqlinstances-aws-8f2c1",
        ),
        ("uses-secret", "", "", "Secret", "crossplane-system", "orders-db-x7k2p-conn"),
    ]


def test_v1_managed_resource_owner_and_cluster_scoped_provider_config() -> None:
    instance = {
        "apiVersion": "rds.aws.upbound.io/v1beta1",
        "kind": "Instance",
        "metadata": {
            "name": "orders-db-x7k2p-r9t4z",
            "ownerReferences": [
                owner("platform.example.org/v1alpha1", "XPostgreSQLInstance", "orders-db-x7k2p", "xr-1")
            ],
        },
        "spec": {
            "forProvider": {"engine": "postgres", "region": "eu-west-1"},
            "providerConfigRef": {"name": "default"},
            "writeConnectionSecretToRef": {"name": "orders-db-x7k2p-r9t4z", "namespace": "crossplane-system"},
        },
    }

    assert refs_of(instance) == [
        ("owned-by", "xr-1", "platform.example.org", "XPostgreSQLInstance", "", "orders-db-x7k2p"),
        ("uses-provider-config", "", "aws.upbound.io", "ProviderConfig", "", "default"),
        ("uses-secret", "", "", "Secret", "crossplane-system", "orders-db-x7k2p-r9t4z"),
    ]


def v2_composite() -> dict[str, Any]:
    return {
        "apiVersion": "platform.example.org/v1alpha1",
        "kind": "App",
        "metadata": {"name": "shop", "namespace": "team-a"},
        "spec": {
            "image": "nginx:1.27",
            "crossplane": {
                "compositionRef": {"name": "apps-aws"},
                "compositionRevisionRef": {"name": "apps-aws-1a2b3"},
                "resourceRefs": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
                    {"apiVersion": "rds.aws.m.upbound.io/v1beta1", "kind": "Instance", "name": "shop-db"},
                    {"apiVersion": "rds.aws.m.upbound.io/v1beta1", "kind": "Instance", "name": "shop-db"},
                    {"apiVersion": "v1", "kind": "Namespace", "name": "shop-extra"},
                ],
                "writeConnectionSecretToRef": {"name": "shop-conn"},
            },
        },
    }


def test_v2_namespaced_composite_fills_in_namespaces_and_drops_duplicates() -> None:
    assert refs_of(v2_composite()) == [
        ("composes", "", "apps", "Deployment", "team-a", "shop"),
        ("composes", "", "rds.aws.m.upbound.io", "Instance", "team-a", "shop-db"),
        ("composes", "", "", "Namespace", "", "shop-extra"),
        ("uses-composition", "", "apiextensions.crossplane.io", "Composition", "", "apps-aws"),
        ("uses-composition", "", "apiextensions.crossplane.io", "CompositionRevision", "", "apps-aws-1a2b3"),
        ("uses-secret", "", "", "Secret", "team-a", "shop-conn"),
    ]


def test_unknown_target_kinds_of_a_namespaced_object_share_its_namespace() -> None:
    composes = [ref for ref in references(v2_composite(), unknown) if ref.relation == "composes"]

    assert [ref.target_namespace for ref in composes] == ["team-a", "team-a", "team-a"]


def v2_managed(provider_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "ec2.aws.m.upbound.io/v1beta1",
        "kind": "SecurityGroup",
        "metadata": {"name": "shop-sg", "namespace": "team-a"},
        "spec": {"forProvider": {"region": "eu-west-1"}, "providerConfigRef": provider_config},
    }


def test_v2_managed_resource_namespaced_provider_config() -> None:
    assert refs_of(v2_managed({"kind": "ProviderConfig", "name": "default"})) == [
        ("uses-provider-config", "", "aws.m.upbound.io", "ProviderConfig", "team-a", "default"),
    ]


def test_v2_managed_resource_cluster_provider_config() -> None:
    assert refs_of(v2_managed({"kind": "ClusterProviderConfig", "name": "shared"})) == [
        ("uses-provider-config", "", "aws.m.upbound.io", "ClusterProviderConfig", "", "shared"),
    ]


def test_provider_config_scope_falls_back_to_the_naming_rule_when_the_cluster_does_not_say() -> None:
    v1 = {
        "apiVersion": "rds.aws.upbound.io/v1beta1",
        "kind": "Instance",
        "metadata": {"name": "db"},
        "spec": {"providerConfigRef": {"name": "default"}},
    }

    assert refs_of(v2_managed({"kind": "ProviderConfig", "name": "p"}), unknown) == [
        ("uses-provider-config", "", "aws.m.upbound.io", "ProviderConfig", "team-a", "p"),
    ]
    assert refs_of(v2_managed({"kind": "ClusterProviderConfig", "name": "c"}), unknown) == [
        ("uses-provider-config", "", "aws.m.upbound.io", "ClusterProviderConfig", "", "c"),
    ]
    assert refs_of(v1, unknown) == [("uses-provider-config", "", "aws.upbound.io", "ProviderConfig", "", "default")]


def test_the_clusters_discovery_wins_over_the_naming_rule() -> None:
    def provider_config_cluster_scoped(group: str, kind: str) -> bool | None:
        return False if kind == "ProviderConfig" else None

    assert refs_of(v2_managed({"name": "default"}), provider_config_cluster_scoped) == [
        ("uses-provider-config", "", "aws.m.upbound.io", "ProviderConfig", "", "default"),
    ]


def test_refs_without_a_name_and_malformed_fields_are_skipped() -> None:
    obj = {
        "apiVersion": "platform.example.org/v1alpha1",
        "kind": "App",
        "metadata": {"name": "shop", "namespace": "team-a", "ownerReferences": [{"kind": "X"}, "junk"]},
        "spec": {
            "crossplane": {"resourceRefs": "junk", "compositionRef": {}},
            "resourceRef": {"apiVersion": "v1", "name": "no-kind"},
            "claimRef": None,
            "providerConfigRef": {"name": ""},
            "writeConnectionSecretToRef": {"namespace": "team-a"},
        },
    }

    assert references(obj, served) == []


def test_objects_without_references() -> None:
    assert references({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, served) == []
    assert references({}, served) == []


def test_refs_are_hashable_values() -> None:
    ref = Ref("owned-by", "u", "apps", "Deployment", "team-a", "web")

    assert {ref, Ref("owned-by", "u", "apps", "Deployment", "team-a", "web")} == {ref}
