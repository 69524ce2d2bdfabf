"""`--seed demo`: a small platform that looks like a real one, for `make run`, demos and end-to-end tests.

Three team namespaces; Crossplane's kinds and a few providers and functions; v2 namespaced composites (Database, App,
Cache) and a v1 claim with its cluster-scoped composite, each with composed resources wired by ownerReferences and
resource references; Deployments with ReplicaSets and Pods; connection Secrets. Most things are Ready, a cache is
still being created, and the checkout team's App is not Ready because its database's RDS instance fails deep in the
tree with a provider error. uids are derived from names, so the same seed always produces the same objects.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from control_plane.sandbox.apiserver import ApiServer
from control_plane.sandbox.crossplane_kinds import PLATFORM_GROUP, crossplane_crds

Obj = dict[str, Any]
_SEED_NAMESPACE = uuid.UUID("6f1c1f2e-6a8e-4a57-9d0c-0d1b5a7e2c11")
TEAMS = ("payments", "checkout", "search")
CROSSPLANE_VERSION = "v2.0.2"
RDS_ERROR = (
    "create failed: async create failed: failed to create the resource: [{0 creating RDS DB Instance "
    "(checkout-db-5xq8n): operation error RDS: CreateDBInstance, https response error StatusCode: 400, "
    "RequestID: 3f9d2c1e-8b7a-4e55-a1c2-6d1f0e9b7a31, api error InvalidParameterCombination: Cannot find version "
    "13.2 for postgres  []}]"
)


def uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(_SEED_NAMESPACE, f"{kind}/{namespace}/{name}"))


def _ago(minutes: int) -> str:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, status: str, reason: str, message: str = "", minutes: int = 30) -> Obj:
    found = {"type": kind, "status": status, "reason": reason, "lastTransitionTime": _ago(minutes)}
    if message:
        found["message"] = message
    return found


READY = [condition("Synced", "True", "ReconcileSuccess"), condition("Ready", "True", "Available")]


def obj(api_version: str, kind: str, name: str, namespace: str = "", *, age: int = 60, **parts: Any) -> Obj:
    """An object with a deterministic uid; `labels`, `owner`, `annotations` go to metadata, the rest to the body."""
    metadata: Obj = {"name": name, "uid": uid(kind, namespace, name), "creationTimestamp": _ago(age)}
    if namespace:
        metadata["namespace"] = namespace
    for key in ("labels", "annotations", "finalizers"):
        if key in parts:
            metadata[key] = parts.pop(key)
    owner = parts.pop("owner", None)
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **parts}


def ref(target: Obj) -> Obj:
    found = {"apiVersion": target["apiVersion"], "kind": target["kind"], "name": target["metadata"]["name"]}
    if target["metadata"].get("namespace"):
        found["namespace"] = target["metadata"]["namespace"]
    return found


def _package(kind: str, name: str, package: str) -> Obj:
    healthy = [
        condition("Installed", "True", "ActivePackageRevision"),
        condition("Healthy", "True", "HealthyPackageRevision"),
    ]
    return obj("pkg.crossplane.io/v1", kind, name, age=2000, spec={"package": package}, status={"conditions": healthy})


def crossplane_install() -> list[Obj]:
    """What a Crossplane installation leaves in a cluster: its Deployment, packages, XRDs and compositions."""
    deployment_labels = {"app": "crossplane", "app.kubernetes.io/version": CROSSPLANE_VERSION}
    objects = [
        obj("v1", "Namespace", "crossplane-system", age=2100),
        *workload(
            "crossplane-system",
            "crossplane",
            f"xpkg.crossplane.io/crossplane/crossplane:{CROSSPLANE_VERSION}",
            labels=deployment_labels,
            replicas=1,
        ),
        _package("Provider", "provider-aws-rds", "xpkg.upbound.io/upbound/provider-aws-rds:v2.1.0"),
        _package("Provider", "provider-aws-elasticache", "xpkg.upbound.io/upbound/provider-aws-elasticache:v2.1.0"),
        _package(
            "Function",
            "function-patch-and-transform",
            "xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.10.8",
        ),
        _package("Function", "function-auto-ready", "xpkg.crossplane.io/crossplane-contrib/function-auto-ready:v0.5.1"),
    ]
    for kind, plural, namespaced in (
        ("Database", "databases", True),
        ("App", "apps", True),
        ("Cache", "caches", True),
        ("XPostgreSQLInstance", "xpostgresqlinstances", False),
    ):
        xrd_spec: Obj = {
            "group": PLATFORM_GROUP,
            "names": {"kind": kind, "plural": plural},
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "referenceable": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        }
        if not namespaced:
            xrd_spec["claimNames"] = {"kind": "PostgreSQLInstance", "plural": "postgresqlinstances"}
        established = [
            condition("Established", "True", "WatchingCompositeResource"),
            condition("Offered", "True", "WatchingCompositeResourceClaim"),
        ]
        objects.append(
            obj(
                "apiextensions.crossplane.io/v2",
                "CompositeResourceDefinition",
                f"{plural}.{PLATFORM_GROUP}",
                age=2000,
                spec=xrd_spec,
                status={"conditions": established},
            )
        )
        objects.append(
            obj(
                "apiextensions.crossplane.io/v1",
                "Composition",
                f"{plural}-aws",
                age=2000,
                spec={
                    "compositeTypeRef": {"apiVersion": f"{PLATFORM_GROUP}/v1alpha1", "kind": kind},
                    "mode": "Pipeline",
                    "pipeline": [
                        {"step": "patch-and-transform", "functionRef": {"name": "function-patch-and-transform"}},
                        {"step": "auto-ready", "functionRef": {"name": "function-auto-ready"}},
                    ],
                },
            )
        )
    return objects


def workload(
    namespace: str,
    name: str,
    image: str,
    *,
    labels: Obj | None = None,
    replicas: int = 2,
    owner: Obj | None = None,
    ready: bool = True,
) -> list[Obj]:
    """A Deployment with its ReplicaSet and Pods, and a Service, as the controllers would leave them."""
    labels = {"app": name, **(labels or {})}
    container = {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8080}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    }
    extra: dict[str, Any] = {"owner": owner} if owner is not None else {}
    available = replicas if ready else 0
    deployment = obj(
        "apps/v1",
        "Deployment",
        name,
        namespace,
        labels=labels,
        **extra,
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
        status={
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "updatedReplicas": replicas,
            "conditions": [
                condition(
                    "Available",
                    "True" if ready else "False",
                    "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                ),
                condition("Progressing", "True", "NewReplicaSetAvailable"),
            ],
        },
    )
    replicaset = obj(
        "apps/v1",
        "ReplicaSet",
        f"{name}-7d9f8c6b5",
        namespace,
        labels={"app": name},
        owner=deployment,
        spec={"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
        status={"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
    )
    pods = [
        obj(
            "v1",
            "Pod",
            f"{name}-7d9f8c6b5-{suffix}",
            namespace,
            labels={"app": name},
            owner=replicaset,
            spec={"containers": [container], "nodeName": "sandbox-node-1"},
            status={
                "phase": "Running" if ready else "Pending",
                "conditions": [condition("Ready", "True" if ready else "False", "" if ready else "ContainersNotReady")],
            },
        )
        for suffix in ("x2k9p", "m4v7q", "b8n3d")[:replicas]
    ]
    service = obj(
        "v1",
        "Service",
        name,
        namespace,
        labels={"app": name},
        **extra,
        spec={"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    )
    return [deployment, replicaset, *pods, service]


def _composite(kind: str, name: str, namespace: str, parameters: Obj, conditions: list[Obj], age: int = 90) -> Obj:
    return obj(
        f"{PLATFORM_GROUP}/v1alpha1",
        kind,
        name,
        namespace,
        age=age,
        labels={"devplat.io/team": namespace.removeprefix("team-")},
        spec={**parameters, "crossplane": {"compositionRef": {"name": f"{kind.lower()}s-aws"}}},
        status={"conditions": conditions},
    )


def _managed(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    owner: Obj,
    for_provider: Obj,
    conditions: list[Obj],
    secret: str | None = None,
) -> Obj:
    spec: Obj = {"forProvider": for_provider, "providerConfigRef": {"kind": "ProviderConfig", "name": "default"}}
    if secret:
        spec["writeConnectionSecretToRef"] = {"name": secret}
    annotations = {"crossplane.io/external-name": name, "crossplane.io/composition-resource-name": kind.lower()}
    return obj(
        api_version,
        kind,
        name,
        namespace,
        owner=owner,
        annotations=annotations,
        spec=spec,
        labels={"crossplane.io/composite": owner["metadata"]["name"]},
        status={"conditions": conditions},
    )


def _connection_secret(name: str, namespace: str, owner: Obj) -> Obj:
    return obj(
        "v1",
        "Secret",
        name,
        namespace,
        owner=owner,
        type="connection.crossplane.io/v1alpha1",
        data={"username": "YXBw", "password": "c2FuZGJveC1ub3QtYS1yZWFsLXNlY3JldA==", "endpoint": "ZGIuaW50ZXJuYWw="},
    )


def database(namespace: str, name: str, *, failing: bool = False, engine_version: str = "16") -> list[Obj]:
    """A Database composite with its RDS instance, security group and connection secret."""
    if failing:
        xr_conditions = [
            condition("Synced", "True", "ReconcileSuccess", minutes=12),
            condition("Ready", "False", "Creating", "Unready resources: rdsinstance", minutes=12),
        ]
        mr_conditions = [
            condition("Synced", "False", "ReconcileError", RDS_ERROR, minutes=3),
            condition("Ready", "False", "Creating", minutes=12),
        ]
    else:
        xr_conditions, mr_conditions = READY, READY
    xr = _composite(
        "Database",
        name,
        namespace,
        {"engine": "postgres", "engineVersion": engine_version, "size": "small", "storageGB": 20},
        xr_conditions,
    )
    instance = _managed(
        "rds.aws.m.upbound.io/v1beta1",
        "Instance",
        f"{name}-5xq8n",
        namespace,
        xr,
        {
            "engine": "postgres",
            "engineVersion": engine_version,
            "instanceClass": "db.t3.micro",
            "allocatedStorage": 20,
            "region": "eu-west-1",
        },
        mr_conditions,
        secret=f"{name}-conn",
    )
    group = _managed(
        "ec2.aws.m.upbound.io/v1beta1",
        "SecurityGroup",
        f"{name}-sg-2kq9r",
        namespace,
        xr,
        {"region": "eu-west-1", "description": f"{name} database"},
        READY,
    )
    xr["spec"]["crossplane"]["resourceRefs"] = [ref(instance), ref(group)]
    objects = [xr, instance, group]
    if not failing:
        objects.append(_connection_secret(f"{name}-conn", namespace, xr))
    return objects


def app(namespace: str, name: str, image: str, *, database_name: str, ready: bool = True) -> list[Obj]:
    """An App composite composing a Deployment (with ReplicaSet and Pods) and a Service directly."""
    conditions = (
        READY
        if ready
        else [
            condition("Synced", "True", "ReconcileSuccess", minutes=10),
            condition("Ready", "False", "Creating", "Unready resources: deployment", minutes=10),
        ]
    )
    xr = _composite(
        "App",
        name,
        namespace,
        {"image": image, "port": 8080, "replicas": 2, "databaseRef": {"name": database_name}},
        conditions,
        age=80,
    )
    composed = workload(namespace, name, image, owner=xr, ready=ready)
    xr["spec"]["crossplane"]["resourceRefs"] = [ref(o) for o in composed if o["kind"] in ("Deployment", "Service")]
    return [xr, *composed]


def cache(namespace: str, name: str) -> list[Obj]:
    """A Cache still being created: its replication group exists but is not Ready yet."""
    progressing = [
        condition("Synced", "True", "ReconcileSuccess", minutes=4),
        condition("Ready", "False", "Creating", "Unready resources: replicationgroup", minutes=4),
    ]
    xr = _composite("Cache", name, namespace, {"size": "small"}, progressing, age=5)
    group = _managed(
        "elasticache.aws.m.upbound.io/v1beta1",
        "ReplicationGroup",
        f"{name}-h7d2w",
        namespace,
        xr,
        {"region": "eu-west-1", "nodeType": "cache.t3.micro"},
        [
            condition("Synced", "True", "ReconcileSuccess", minutes=4),
            condition("Ready", "False", "Creating", minutes=4),
        ],
    )
    xr["spec"]["crossplane"]["resourceRefs"] = [ref(group)]
    return [xr, group]


def claim(namespace: str, name: str) -> list[Obj]:
    """A Crossplane v1 claim, its cluster-scoped composite and a cluster-scoped (legacy) managed resource."""
    xr_name = f"{name}-x7k2p"
    # A claim and its composite carry the same parameters and composition.
    parameters = {
        "engine": "postgres",
        "engineVersion": "15",
        "size": "medium",
        "storageGB": 50,
        "compositionRef": {"name": "xpostgresqlinstances-aws"},
    }
    claim_obj = obj(
        f"{PLATFORM_GROUP}/v1alpha1",
        "PostgreSQLInstance",
        name,
        namespace,
        age=300,
        spec={**parameters, "writeConnectionSecretToRef": {"name": f"{name}-conn"}},
        status={"conditions": READY},
    )
    xr = obj(
        f"{PLATFORM_GROUP}/v1alpha1",
        "XPostgreSQLInstance",
        xr_name,
        age=300,
        labels={"crossplane.io/claim-name": name, "crossplane.io/claim-namespace": namespace},
        spec={**parameters, "claimRef": ref(claim_obj)},
        status={"conditions": READY},
    )
    claim_obj["spec"]["resourceRef"] = ref(xr)
    instance = obj(
        "rds.aws.upbound.io/v1beta1",
        "Instance",
        f"{xr_name}-r9t4z",
        owner=xr,
        age=300,
        spec={
            "forProvider": {"engine": "postgres", "engineVersion": "15", "region": "eu-west-1"},
            "providerConfigRef": {"name": "default"},
            "writeConnectionSecretToRef": {"name": f"{xr_name}-conn", "namespace": "crossplane-system"},
        },
        status={"conditions": READY},
    )
    xr["spec"]["resourceRefs"] = [ref(instance)]
    return [claim_obj, xr, instance, _connection_secret(f"{name}-conn", namespace, claim_obj)]


def team_namespace(team: str) -> list[Obj]:
    namespace = f"team-{team}"
    return [
        obj("v1", "Namespace", namespace, labels={"devplat.io/team": team}, age=1500),
        obj(
            "aws.m.upbound.io/v1beta1",
            "ProviderConfig",
            "default",
            namespace,
            age=1500,
            spec={"credentials": {"source": "IRSA"}},
        ),
        obj(
            "v1",
            "ConfigMap",
            "app-settings",
            namespace,
            data={"LOG_LEVEL": "info"},
            annotations={"kubectl.kubernetes.io/last-applied-configuration": '{"data":{"LOG_LEVEL":"info"}}'},
        ),
    ]


def demo_objects() -> list[Obj]:
    """Everything `--seed demo` loads, CRDs first."""
    objects: list[Obj] = list(crossplane_crds())
    objects += crossplane_install()
    for team in TEAMS:
        objects += team_namespace(team)
    objects += database("team-payments", "orders-db")
    objects += app("team-payments", "orders-api", "ghcr.io/acme/orders-api:1.14.2", database_name="orders-db")
    objects += cache("team-payments", "sessions")
    objects += database("team-checkout", "checkout-db", failing=True, engine_version="13.2")
    objects += app(
        "team-checkout", "checkout-web", "ghcr.io/acme/checkout-web:3.2.0", database_name="checkout-db", ready=False
    )
    objects += claim("team-search", "search-db")
    objects += workload("team-search", "search-indexer", "ghcr.io/acme/search-indexer:0.9.1", replicas=1)
    return objects


def load_demo(api: ApiServer) -> int:
    return api.bulk_load(demo_objects())
