"""`--seed demo`: a small platform that looks like a real one, for `make run`, demos and end-to-end tests.

Three team namespaces; Crossplane with the platform package installed from `crossplane/` (its providers, functions,
XRDs, from which the sandbox derives the composite CRDs, compositions and EnvironmentConfigs) and a legacy v1 XRD with
a claim; v2 namespaced composites (Database, App, Cache) and a v1 claim with its cluster-scoped composite, each with
composed resources wired by ownerReferences and resource references; Deployments with ReplicaSets and Pods;
connection Secrets. Most things are Ready, a cache is still being created, and the checkout team's App is not Ready:
its database's RDS instance fails deep in the tree with a provider error, so the connection secret its pods need
never appears. uids are derived from names, so the same seed always produces the same objects; the composites are
stored as the API server would store them (valid against their XRD, defaults applied).

The composite builders (`database`, `app`, `cache`, `bucket`, `team_environment`) are also what the simulated
reconciler composes.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from control_plane.sandbox.apiserver import ApiServer
from control_plane.sandbox.crossplane_kinds import PLATFORM_GROUP, crossplane_crds
from control_plane.sandbox.package import package_objects, platform_xrds

Obj = dict[str, Any]
_SEED_NAMESPACE = uuid.UUID("6f1c1f2e-6a8e-4a57-9d0c-0d1b5a7e2c11")
TEAMS = ("payments", "checkout", "search")
CROSSPLANE_VERSION = "v2.0.2"
RDS_ERROR = (
    "create failed: async create failed: failed to create the resource: [{0 creating RDS DB Instance "
    "(checkout-db-5xq8n): operation error RDS: CreateDBInstance, https response error StatusCode: 400, "
    "RequestID: 3f9d2c1e-8b7a-4e55-a1c2-6d1f0e9b7a31, api error InvalidParameterCombination: RDS does not support "
    "creating a DB instance with the following combination: DBInstanceClass=db.t3.micro, Engine=postgres, "
    "EngineVersion=17.2, LicenseModel=postgresql-license.  []}]"
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


def installed(document: Obj, *, age: int = 2000) -> Obj:
    """A document of the platform package as the cluster holds it: a seed uid, an age, packages healthy."""
    metadata = document["metadata"]
    found = obj(
        document["apiVersion"],
        document["kind"],
        metadata["name"],
        metadata.get("namespace", ""),
        age=age,
        **{key: value for key, value in metadata.items() if key in ("labels", "annotations")},
        **{key: value for key, value in document.items() if key not in ("apiVersion", "kind", "metadata")},
    )
    if document["kind"] in ("Provider", "Function"):
        found["status"] = {
            "conditions": [
                condition("Installed", "True", "ActivePackageRevision"),
                condition("Healthy", "True", "HealthyPackageRevision"),
            ]
        }
    return found


LEGACY_DATABASE_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "engine": {"type": "string", "enum": ["postgres"], "default": "postgres"},
                "engineVersion": {"type": "string", "default": "15"},
                "size": {"type": "string", "enum": ["small", "medium", "large"], "default": "small"},
                "storageGB": {"type": "integer", "minimum": 10, "maximum": 1000, "default": 20},
            },
        }
    },
}


def legacy_definition() -> list[Obj]:
    """A v1 XRD from before Crossplane v2 (cluster-scoped XRs, offered through namespaced claims), which clusters
    upgraded to v2 still serve, and its composition."""
    xrd = obj(
        "apiextensions.crossplane.io/v1",
        "CompositeResourceDefinition",
        f"xpostgresqlinstances.{PLATFORM_GROUP}",
        age=2000,
        spec={
            "group": PLATFORM_GROUP,
            "names": {"kind": "XPostgreSQLInstance", "plural": "xpostgresqlinstances"},
            "claimNames": {"kind": "PostgreSQLInstance", "plural": "postgresqlinstances"},
            "scope": "LegacyCluster",
            "defaultCompositionUpdatePolicy": "Automatic",
            "defaultCompositeDeletePolicy": "Background",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "referenceable": True,
                    "schema": {"openAPIV3Schema": LEGACY_DATABASE_SCHEMA},
                }
            ],
        },
    )
    composition = obj(
        "apiextensions.crossplane.io/v1",
        "Composition",
        "xpostgresqlinstances-aws",
        age=2000,
        spec={
            "compositeTypeRef": {"apiVersion": f"{PLATFORM_GROUP}/v1alpha1", "kind": "XPostgreSQLInstance"},
            "mode": "Pipeline",
            "pipeline": [
                {"step": "patch-and-transform", "functionRef": {"name": "function-patch-and-transform"}},
                {"step": "auto-ready", "functionRef": {"name": "function-auto-ready"}},
            ],
        },
    )
    return [xrd, composition]


def crossplane_install() -> list[Obj]:
    """What Crossplane and the platform package leave in a cluster: Crossplane's Deployment, the package's providers,
    functions, XRDs, compositions and EnvironmentConfigs, and a legacy v1 XRD with a claim."""
    deployment_labels = {"app": "crossplane", "app.kubernetes.io/version": CROSSPLANE_VERSION}
    return [
        obj("v1", "Namespace", "crossplane-system", age=2100),
        *workload(
            "crossplane-system",
            "crossplane",
            f"xpkg.crossplane.io/crossplane/crossplane:{CROSSPLANE_VERSION}",
            labels=deployment_labels,
            replicas=1,
        ),
        *(installed(document) for document in package_objects()),
        *legacy_definition(),
    ]


RUNNING, STARTING, MISSING_SECRET = "running", "starting", "missing-secret"
CONTAINER_RESOURCES: Obj = {"limits": {"cpu": "500m", "memory": "256Mi"}}
_POD_SUFFIXES = ("x2k9p", "m4v7q", "b8n3d")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet


def suffix(*parts: str, length: int = 5) -> str:
    """A generated-looking name suffix, stable for the same inputs."""
    digest = uuid.uuid5(_SEED_NAMESPACE, "/".join(parts)).bytes
    return "".join(_NAME_ALPHABET[byte % len(_NAME_ALPHABET)] for byte in digest[:length])


def _pods_status(state: str, container: Obj, secret: str | None) -> Obj:
    """A pod's status as the kubelet reports it: running and ready, running but not ready yet, or unable to start
    its container because the Secret its environment comes from does not exist."""
    name, image = container["name"], container["image"]
    unready = condition("Ready", "False", "ContainersNotReady", f"containers with unready status: [{name}]")
    found: Obj = {"name": name, "image": image, "restartCount": 0}
    if state == MISSING_SECRET:
        waiting = {"reason": "CreateContainerConfigError", "message": f'secret "{secret}" not found'}
        found.update(ready=False, started=False, imageID="", state={"waiting": waiting})
        return {"phase": "Pending", "conditions": [unready], "containerStatuses": [found]}
    found.update(ready=state == RUNNING, started=True, imageID=f"{image}@sha256:{'0' * 64}")
    found["state"] = {"running": {"startedAt": _ago(30)}}
    if state == RUNNING:
        return {"phase": "Running", "conditions": [condition("Ready", "True", "")], "containerStatuses": [found]}
    return {"phase": "Running", "conditions": [unready], "containerStatuses": [found]}


def workload(
    namespace: str,
    name: str,
    image: str,
    *,
    labels: Obj | None = None,
    replicas: int = 2,
    owner: Obj | None = None,
    state: str = RUNNING,
    port: int = 8080,
    resources: Obj | None = None,
    secret: str | None = None,
) -> list[Obj]:
    """A Deployment with its ReplicaSet and Pods, and a Service, as the controllers would leave them.

    `state` is how far the pods got (RUNNING, STARTING, or MISSING_SECRET when `secret`, which the container takes
    its environment from, does not exist). The ReplicaSet keeps its name when the template changes (a real
    Deployment would roll out a new one), which keeps the seed's names stable."""
    labels = {"app": name, **(labels or {})}
    container: Obj = {
        "name": name,
        "image": image,
        "ports": [{"containerPort": port}],
        "resources": CONTAINER_RESOURCES if resources is None else resources,
    }
    if secret:
        container["envFrom"] = [{"secretRef": {"name": secret}}]
    extra: dict[str, Any] = {"owner": owner} if owner is not None else {}
    available = replicas if state == RUNNING else 0
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
                condition("Available", "True", "MinimumReplicasAvailable")
                if available
                else condition(
                    "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
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
        status={
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
        },
    )
    suffixes = [*_POD_SUFFIXES, *(suffix(namespace, name, str(index)) for index in range(3, replicas))]
    pods = [
        obj(
            "v1",
            "Pod",
            f"{replicaset['metadata']['name']}-{pod_suffix}",
            namespace,
            labels={"app": name},
            owner=replicaset,
            spec={"containers": [container], "nodeName": "sandbox-node-1"},
            status=_pods_status(state, container, secret),
        )
        for pod_suffix in suffixes[:replicas]
    ]
    service = obj(
        "v1",
        "Service",
        name,
        namespace,
        labels={"app": name},
        **extra,
        spec={"selector": {"app": name}, "ports": [{"port": 80, "targetPort": port}]},
    )
    return [deployment, replicaset, *pods, service]


def _composite(
    kind: str, name: str, namespace: str, spec: Obj, conditions: list[Obj], *, age: int = 90, status: Obj | None = None
) -> Obj:
    """A v2 composite with its status fields; its conditions were set for its first generation (which the simulator
    compares with the current one)."""
    return obj(
        f"{PLATFORM_GROUP}/v1alpha1",
        kind,
        name,
        namespace,
        age=age,
        labels={"devplat.io/team": namespace.removeprefix("team-")},
        spec={**spec, "crossplane": {"compositionUpdatePolicy": "Automatic"}},
        status={**(status or {}), "conditions": [{**c, "observedGeneration": 1} for c in conditions]},
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
    resource: str = "",
    at_provider: Obj | None = None,
) -> Obj:
    """A managed resource a composite composed; `resource` is its name in the composition."""
    spec: Obj = {"forProvider": for_provider, "providerConfigRef": {"kind": "ProviderConfig", "name": "default"}}
    if secret:
        spec["writeConnectionSecretToRef"] = {"name": secret}
    annotations = {
        "crossplane.io/external-name": name,
        "crossplane.io/composition-resource-name": resource or kind.lower(),
    }
    status: Obj = {"conditions": conditions}
    if at_provider:
        status["atProvider"] = at_provider
    return obj(
        api_version,
        kind,
        name,
        namespace,
        owner=owner,
        annotations=annotations,
        spec=spec,
        labels={"crossplane.io/composite": owner["metadata"]["name"]},
        status=status,
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


def _composing(xr: Obj, children: list[Obj]) -> list[Obj]:
    """The composite with references to what it composes directly (without a namespace: a namespaced composite
    composes in its own), then everything composed."""
    xr["spec"]["crossplane"]["resourceRefs"] = [
        {key: value for key, value in ref(child).items() if key != "namespace"}
        for child in children
        if _owner_uid(child) == xr["metadata"]["uid"]
    ]
    return [xr, *children]


def _owner_uid(child: Obj) -> str:
    return next((o["uid"] for o in child["metadata"].get("ownerReferences") or () if o.get("controller")), "")


def _unready(resources: str, minutes: int, why: str = "") -> list[Obj]:
    """A composite's conditions while function-auto-ready waits for some of its resources."""
    message = f"Unready resources: {resources}" + (f" ({why})" if why else "")
    return [
        condition("Synced", "True", "ReconcileSuccess", minutes=minutes),
        condition("Ready", "False", "Creating", message, minutes=minutes),
    ]


DB_INSTANCE_CLASSES = {"small": "db.t3.micro", "medium": "db.t3.large", "large": "db.r6g.xlarge"}
CACHE_NODE_TYPES = {"small": "cache.t4g.micro", "medium": "cache.t4g.medium", "large": "cache.r7g.large"}


def database(namespace: str, name: str, spec: Obj, *, failing: bool = False) -> list[Obj]:
    """A Database composite with its RDS instance, security group and, once the instance is up, connection secret."""
    if failing:
        xr_conditions = _unready("rdsinstance", 12)
        mr_conditions = [
            condition("Synced", "False", "ReconcileError", RDS_ERROR, minutes=3),
            condition("Ready", "False", "Creating", minutes=12),
        ]
        status: Obj = {}
    else:
        xr_conditions, mr_conditions = READY, READY
        address = f"{name}.c9akciq32.eu-west-1.rds.amazonaws.com"
        status = {"address": address, "port": 5432, "connectionSecret": f"{name}-conn"}
    xr = _composite("Database", name, namespace, spec, xr_conditions, status=status)
    backups = spec.get("backups") or {}
    instance = _managed(
        "rds.aws.m.upbound.io/v1beta1",
        "Instance",
        f"{name}-5xq8n",
        namespace,
        xr,
        {
            "engine": spec.get("engine", "postgres"),
            "engineVersion": str(spec.get("engineVersion", "16")),
            "instanceClass": DB_INSTANCE_CLASSES.get(spec.get("size", "small"), "db.t3.micro"),
            "allocatedStorage": spec.get("storageGB", 20),
            "backupRetentionPeriod": backups.get("retentionDays", 7) if backups.get("enabled", True) else 0,
            "region": "eu-west-1",
        },
        mr_conditions,
        secret=f"{name}-conn",
        resource="instance",
        at_provider=None if failing else {"address": status["address"], "port": 5432},
    )
    group = _managed(
        "ec2.aws.m.upbound.io/v1beta1",
        "SecurityGroup",
        f"{name}-sg-2kq9r",
        namespace,
        xr,
        {"region": "eu-west-1", "description": f"{name} database"},
        READY,
        resource="security-group",
    )
    children = [instance, group]
    if not failing:
        children.append(_connection_secret(f"{name}-conn", namespace, xr))
    return _composing(xr, children)


def app(namespace: str, name: str, spec: Obj, *, waiting: str = "", secret_missing: bool = False) -> list[Obj]:
    """An App composite composing a Deployment (with ReplicaSet and Pods) and a Service directly, an Ingress for a
    host and an autoscaler when enabled.

    `waiting` says why its database is not usable yet: its pods then do not become ready (they cannot even start
    when the connection secret is missing) and neither does the App."""
    database_name = (spec.get("databaseRef") or {}).get("name")
    secret = f"{database_name}-conn" if database_name else None
    autoscaling = spec.get("autoscaling") or {}
    replicas = autoscaling.get("minReplicas", 2) if autoscaling.get("enabled") else spec.get("replicas", 2)
    state = RUNNING if not waiting else MISSING_SECRET if secret_missing else STARTING
    conditions = READY if not waiting else _unready("deployment", 10, waiting)
    status: Obj = {"availableReplicas": replicas if not waiting else 0}
    if spec.get("host"):
        status["url"] = f"https://{spec['host']}"
    xr = _composite("App", name, namespace, spec, conditions, age=80, status=status)
    children = workload(
        namespace,
        name,
        spec["image"],
        owner=xr,
        replicas=replicas,
        state=state,
        port=spec.get("port", 8080),
        resources=spec.get("resources") or {},
        secret=secret,
    )
    if spec.get("host"):
        rule = {
            "host": spec["host"],
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": name, "port": {"number": 80}}},
                    }
                ]
            },
        }
        children.append(obj("networking.k8s.io/v1", "Ingress", name, namespace, owner=xr, spec={"rules": [rule]}))
    if autoscaling.get("enabled"):
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        children.append(
            obj(
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                name,
                namespace,
                owner=xr,
                spec={
                    "scaleTargetRef": target,
                    "minReplicas": autoscaling.get("minReplicas", 2),
                    "maxReplicas": autoscaling.get("maxReplicas", 5),
                },
                status={"currentReplicas": replicas, "desiredReplicas": replicas},
            )
        )
    return _composing(xr, children)


def cache(namespace: str, name: str, spec: Obj, *, ready: bool = False) -> list[Obj]:
    """A Cache with its replication group; unless `ready`, still being created."""
    if ready:
        xr_conditions, mr_conditions = READY, READY
        status: Obj = {"address": f"{name}.h7d2wq.ng.0001.euw1.cache.amazonaws.com", "port": 6379}
    else:
        xr_conditions = _unready("replicationgroup", 4)
        mr_conditions = [
            condition("Synced", "True", "ReconcileSuccess", minutes=4),
            condition("Ready", "False", "Creating", minutes=4),
        ]
        status = {}
    xr = _composite("Cache", name, namespace, spec, xr_conditions, age=5, status=status)
    replicas = spec.get("replicas", 1)
    group = _managed(
        "elasticache.aws.m.upbound.io/v1beta1",
        "ReplicationGroup",
        f"{name}-h7d2w",
        namespace,
        xr,
        {
            "region": "eu-west-1",
            "engine": spec.get("engine", "redis"),
            "engineVersion": spec.get("engineVersion", "7.1"),
            "nodeType": CACHE_NODE_TYPES.get(spec.get("size", "small"), "cache.t4g.micro"),
            "numCacheClusters": replicas,
            "automaticFailoverEnabled": replicas > 1,
        },
        mr_conditions,
        resource="replication-group",
    )
    return _composing(xr, [group])


def bucket(namespace: str, name: str, spec: Obj) -> list[Obj]:
    """A Bucket with its S3 bucket, public access block (unless public), versioning and lifecycle rule."""
    bucket_name = f"devplat-{namespace}-{name}"
    status = {"bucketName": bucket_name, "arn": f"arn:aws:s3:::{bucket_name}"}
    xr = _composite("Bucket", name, namespace, spec, READY, status=status)
    region = spec.get("region", "eu-west-1")

    def managed(kind: str, resource: str, for_provider: Obj) -> Obj:
        return _managed(
            "s3.aws.m.upbound.io/v1beta1",
            kind,
            f"{name}-{suffix(namespace, name, resource)}",
            namespace,
            xr,
            {"region": region, **for_provider},
            READY,
            resource=resource,
        )

    children = [managed("Bucket", "bucket", {"tags": {"devplat.io/bucket": name}})]
    children[0]["metadata"]["annotations"]["crossplane.io/external-name"] = bucket_name
    reference = {"bucket": bucket_name}
    if not spec.get("public", False):
        block = dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
        )
        children.append(managed("BucketPublicAccessBlock", "public-access-block", {**reference, **block}))
    if spec.get("versioning", True):
        versioning = {"versioningConfiguration": [{"status": "Enabled"}]}
        children.append(managed("BucketVersioning", "versioning", {**reference, **versioning}))
    if spec.get("expireAfterDays"):
        rule = {"id": "expire", "status": "Enabled", "expiration": [{"days": spec["expireAfterDays"]}]}
        children.append(managed("BucketLifecycleConfiguration", "lifecycle", {**reference, "rule": [rule]}))
    return _composing(xr, children)


ROLES = {"viewer": "view", "developer": "edit", "admin": "admin"}


def team_environment(namespace: str, name: str, spec: Obj, *, environment: str) -> list[Obj]:
    """A TeamEnvironment: provider-kubernetes Objects for its namespace `<team>-<environment>`, quota, default
    limits, a role binding per member and, unless isolation is `none`, a network policy."""
    target = f"{spec['team']}-{environment}"
    xr = _composite("TeamEnvironment", name, namespace, spec, READY, status={"namespace": target})
    quota, limits = spec.get("quota") or {}, spec.get("limits") or {}
    defaults = {"cpu": limits.get("defaultCpu", "500m"), "memory": limits.get("defaultMemory", "512Mi")}
    manifests: list[tuple[str, Obj]] = [
        (
            "namespace",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": target,
                    "labels": {"devplat.io/team": spec["team"], "devplat.io/environment": environment},
                },
            },
        ),
        (
            "quota",
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "devplat-quota", "namespace": target},
                "spec": {
                    "hard": {
                        "requests.cpu": quota.get("cpu", "8"),
                        "requests.memory": quota.get("memory", "16Gi"),
                        "pods": str(quota.get("pods", 50)),
                    }
                },
            },
        ),
        (
            "limit-range",
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": {"name": "devplat-defaults", "namespace": target},
                "spec": {"limits": [{"type": "Container", "default": defaults, "defaultRequest": defaults}]},
            },
        ),
    ]
    for index, member in enumerate(spec.get("members") or ()):
        role = ROLES.get(member.get("role", "viewer"), "view")
        manifests.append(
            (
                f"access-{index}",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": f"devplat-{role}-{index}", "namespace": target},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": member["name"]}],
                },
            )
        )
    if spec.get("networkIsolation", "namespace") != "none":
        policy_types = ["Ingress", "Egress"] if spec.get("networkIsolation") == "strict" else ["Ingress"]
        manifests.append(
            (
                "network-policy",
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": "devplat-isolation", "namespace": target},
                    "spec": {
                        "podSelector": {},
                        "policyTypes": policy_types,
                        "ingress": [{"from": [{"podSelector": {}}]}],
                    },
                },
            )
        )
    children = [
        _managed(
            "kubernetes.m.crossplane.io/v1alpha1",
            "Object",
            f"{name}-{resource}",
            namespace,
            xr,
            {"manifest": manifest},
            READY,
            resource=resource,
            at_provider={"manifest": manifest},
        )
        for resource, manifest in manifests
    ]
    return _composing(xr, children)


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
        spec={
            **parameters,
            "compositeDeletePolicy": "Background",
            "writeConnectionSecretToRef": {"name": f"{name}-conn"},
        },
        status={"conditions": READY},
    )
    xr = obj(
        f"{PLATFORM_GROUP}/v1alpha1",
        "XPostgreSQLInstance",
        xr_name,
        age=300,
        labels={"crossplane.io/claim-name": name, "crossplane.io/claim-namespace": namespace},
        spec={**parameters, "compositionUpdatePolicy": "Automatic", "claimRef": ref(claim_obj)},
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


ORDERS_DB: Obj = {
    "engine": "postgres",
    "engineVersion": "16",
    "size": "small",
    "storageGB": 20,
    "backups": {"enabled": True, "retentionDays": 7},
}
APP_RESOURCES: Obj = {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": CONTAINER_RESOURCES["limits"]}
APP_DEFAULTS: Obj = {"port": 8080, "replicas": 2, "autoscaling": {"enabled": False, "minReplicas": 2, "maxReplicas": 5}}


def _with_compositions(objects: list[Obj]) -> list[Obj]:
    """Set each platform composite's composition to its XRD's default, as Crossplane's composition selection does."""
    defaults = {
        xrd["spec"]["names"]["kind"]: (xrd["spec"].get("defaultCompositionRef") or {}).get("name")
        for xrd in platform_xrds()
    }
    for found in objects:
        if found["apiVersion"] == f"{PLATFORM_GROUP}/v1alpha1" and defaults.get(found["kind"]):
            found["spec"]["crossplane"]["compositionRef"] = {"name": defaults[found["kind"]]}
    return objects


def demo_objects() -> list[Obj]:
    """Everything `--seed demo` loads, CRDs first, then the package (whose XRDs define the composite kinds)."""
    objects: list[Obj] = list(crossplane_crds())
    objects += crossplane_install()
    for team in TEAMS:
        objects += team_namespace(team)
    composites = [
        *database("team-payments", "orders-db", ORDERS_DB),
        *app(
            "team-payments",
            "orders-api",
            {
                "image": "ghcr.io/acme/orders-api:1.14.2",
                **APP_DEFAULTS,
                "resources": APP_RESOURCES,
                "databaseRef": {"name": "orders-db"},
            },
        ),
        *cache(
            "team-payments", "sessions", {"engine": "redis", "engineVersion": "7.1", "size": "small", "replicas": 1}
        ),
        *database("team-checkout", "checkout-db", {**ORDERS_DB, "engineVersion": "17"}, failing=True),
        *app(
            "team-checkout",
            "checkout-web",
            {
                "image": "ghcr.io/acme/checkout-web:3.2.0",
                **APP_DEFAULTS,
                "resources": APP_RESOURCES,
                "databaseRef": {"name": "checkout-db"},
            },
            waiting="Database checkout-db is not Ready yet",
            secret_missing=True,
        ),
    ]
    objects += _with_compositions(composites)
    objects += claim("team-search", "search-db")
    objects += workload("team-search", "search-indexer", "ghcr.io/acme/search-indexer:0.9.1", replicas=1)
    return objects


def load_demo(api: ApiServer) -> int:
    return api.bulk_load(demo_objects())
