"""Health of real-looking objects, one or more rows per rule (shapes from the Kubernetes and Crossplane docs)."""

from __future__ import annotations

from typing import Any

import pytest

from control_plane.choices import HealthChoices
from control_plane.sync.health import MAX_REASON, Health, conditions_of, derive_health

HEALTHY, PROGRESSING, DEGRADED, UNKNOWN = (
    HealthChoices.HEALTHY.value,
    HealthChoices.PROGRESSING.value,
    HealthChoices.DEGRADED.value,
    HealthChoices.UNKNOWN.value,
)
RDS_ERROR = "cannot create DB instance: InvalidParameterCombination: Cannot find version 11.2 for postgres"


def cond(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    found = {"type": kind, "status": status, "lastTransitionTime": "2025-05-01T10:00:00Z"}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


def obj(
    api_version: str,
    kind: str,
    *,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int | None = None,
    **metadata: Any,
) -> dict[str, Any]:
    found: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", **metadata}}
    if generation is not None:
        found["metadata"]["generation"] = generation
    if spec is not None:
        found["spec"] = spec
    if status is not None:
        found["status"] = status
    return found


def deployment(spec_replicas: int = 3, **status: Any) -> dict[str, Any]:
    return obj("apps/v1", "Deployment", generation=2, spec={"replicas": spec_replicas}, status=status)


def statefulset(strategy: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    spec = {"replicas": 3, "updateStrategy": strategy or {"type": "RollingUpdate"}}
    return obj("apps/v1", "StatefulSet", generation=1, spec=spec, status={"observedGeneration": 1, **status})


def daemonset(**status: Any) -> dict[str, Any]:
    return obj("apps/v1", "DaemonSet", generation=1, spec={}, status={"observedGeneration": 1, **status})


def crossplane(*conditions: dict[str, Any], api_version: str = "rds.aws.upbound.io/v1beta1") -> dict[str, Any]:
    return obj(api_version, "Instance", spec={"forProvider": {}}, status={"conditions": list(conditions)})


def package(kind: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return obj(
        "pkg.crossplane.io/v1", kind, spec={"package": "xpkg.upbound.io/x:v1"}, status={"conditions": [*conditions]}
    )


def pod(phase: str, *conditions: dict[str, Any], **status: Any) -> dict[str, Any]:
    return obj("v1", "Pod", spec={}, status={"phase": phase, "conditions": list(conditions), **status})


def waiting(name: str, reason: str, message: str) -> list[dict[str, Any]]:
    return [{"name": name, "ready": False, "state": {"waiting": {"reason": reason, "message": message}}}]


ROLLED_OUT = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # Deployment
    ("deployment-rolled-out", deployment(**ROLLED_OUT), HEALTHY, ""),
    (
        "deployment-unobserved-generation",
        deployment(**{**ROLLED_OUT, "observedGeneration": 1}),
        PROGRESSING,
        "Waiting for the controller to observe generation 2",
    ),
    (
        "deployment-no-status-yet",
        deployment(),
        PROGRESSING,
        "Waiting for the controller to observe generation 2",
    ),
    (
        "deployment-deadline-exceeded",
        deployment(
            **ROLLED_OUT,
            conditions=[
                cond("Available", "True", "MinimumReplicasAvailable"),
                cond("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "web-7d9c" has timed out.'),
            ],
        ),
        DEGRADED,
        'Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-7d9c" has timed out.',
    ),
    (
        "deployment-updating",
        deployment(**{**ROLLED_OUT, "replicas": 4, "updatedReplicas": 1}),
        PROGRESSING,
        "1/3 replicas updated",
    ),
    (
        "deployment-old-replicas-terminating",
        deployment(**{**ROLLED_OUT, "replicas": 4}),
        PROGRESSING,
        "3/4 running replicas updated",
    ),
    (
        "deployment-not-available",
        deployment(**{**ROLLED_OUT, "availableReplicas": 2}),
        PROGRESSING,
        "2/3 replicas available",
    ),
    (
        "deployment-default-one-replica",
        obj(
            "apps/v1",
            "Deployment",
            generation=1,
            spec={},
            status={"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
        ),
        HEALTHY,
        "",
    ),
    (
        "deployment-scaled-to-zero",
        deployment(spec_replicas=0, observedGeneration=2),
        HEALTHY,
        "",
    ),
    # StatefulSet
    (
        "statefulset-rolled-out",
        statefulset(readyReplicas=3, updatedReplicas=3, currentRevision="db-6c8b", updateRevision="db-6c8b"),
        HEALTHY,
        "",
    ),
    (
        "statefulset-pods-not-ready",
        statefulset(readyReplicas=1, updatedReplicas=3, currentRevision="db-6c8b", updateRevision="db-6c8b"),
        PROGRESSING,
        "1/3 replicas ready",
    ),
    (
        "statefulset-updating",
        statefulset(readyReplicas=3, updatedReplicas=1, currentRevision="db-6c8b", updateRevision="db-7f4d"),
        PROGRESSING,
        "1/3 replicas updated",
    ),
    (
        "statefulset-revision-not-switched",
        statefulset(readyReplicas=3, updatedReplicas=3, currentRevision="db-6c8b", updateRevision="db-7f4d"),
        PROGRESSING,
        "Rolling update in progress",
    ),
    (
        "statefulset-partitioned-rollout-done",
        statefulset(
            strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            readyReplicas=3,
            updatedReplicas=1,
            currentRevision="db-6c8b",
            updateRevision="db-7f4d",
        ),
        HEALTHY,
        "",
    ),
    (
        "statefulset-on-delete-ignores-revisions",
        statefulset(
            strategy={"type": "OnDelete"},
            readyReplicas=3,
            updatedReplicas=0,
            currentRevision="db-6c8b",
            updateRevision="db-7f4d",
        ),
        HEALTHY,
        "",
    ),
    # DaemonSet
    (
        "daemonset-rolled-out",
        daemonset(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=3, numberReady=3),
        HEALTHY,
        "",
    ),
    (
        "daemonset-updating",
        daemonset(desiredNumberScheduled=3, updatedNumberScheduled=2, numberAvailable=3, numberReady=3),
        PROGRESSING,
        "2/3 pods updated",
    ),
    (
        "daemonset-not-available",
        daemonset(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=1, numberReady=3),
        PROGRESSING,
        "1/3 pods available",
    ),
    ("daemonset-no-status", daemonset(), PROGRESSING, "Waiting for the controller to report status"),
    # ReplicaSet
    (
        "replicaset-ready",
        obj(
            "apps/v1",
            "ReplicaSet",
            generation=1,
            spec={"replicas": 2},
            status={"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2},
        ),
        HEALTHY,
        "",
    ),
    (
        "replicaset-not-ready",
        obj(
            "apps/v1",
            "ReplicaSet",
            generation=1,
            spec={"replicas": 2},
            status={"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "availableReplicas": 1},
        ),
        PROGRESSING,
        "1/2 replicas ready",
    ),
    (
        "replicaset-quota-failure",
        obj(
            "apps/v1",
            "ReplicaSet",
            generation=1,
            spec={"replicas": 2},
            status={
                "observedGeneration": 1,
                "conditions": [cond("ReplicaFailure", "True", "FailedCreate", 'pods "web-1" is forbidden: quota')],
            },
        ),
        DEGRADED,
        'ReplicaFailure=True FailedCreate: pods "web-1" is forbidden: quota',
    ),
    # Pod
    ("pod-running-ready", pod("Running", cond("Ready", "True")), HEALTHY, ""),
    ("pod-completed", pod("Succeeded", cond("Ready", "False", "PodCompleted")), HEALTHY, ""),
    (
        "pod-starting",
        pod("Running", cond("Ready", "False", "ContainersNotReady", "containers with unready status: [app]")),
        PROGRESSING,
        "Ready=False ContainersNotReady: containers with unready status: [app]",
    ),
    ("pod-pending", obj("v1", "Pod", spec={}), PROGRESSING, "Phase Pending"),
    (
        "pod-crashlooping",
        pod(
            "Running",
            cond("Ready", "False", "ContainersNotReady"),
            containerStatuses=waiting("app", "CrashLoopBackOff", "back-off 5m0s restarting failed container"),
        ),
        DEGRADED,
        "app CrashLoopBackOff: back-off 5m0s restarting failed container",
    ),
    (
        "pod-failed",
        pod("Failed", reason="Evicted", message="The node was low on resource: memory."),
        DEGRADED,
        "Failed Evicted: The node was low on resource: memory.",
    ),
    # Service
    ("service-cluster-ip", obj("v1", "Service", spec={"type": "ClusterIP", "ports": [{"port": 80}]}), HEALTHY, ""),
    (
        "service-load-balancer-pending",
        obj("v1", "Service", spec={"type": "LoadBalancer"}, status={"loadBalancer": {}}),
        PROGRESSING,
        "Waiting for a load balancer address",
    ),
    (
        "service-load-balancer-ready",
        obj("v1", "Service", spec={"type": "LoadBalancer"}, status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
        HEALTHY,
        "",
    ),
    # HorizontalPodAutoscaler
    (
        "hpa-scaling",
        obj(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            spec={"minReplicas": 1, "maxReplicas": 5},
            status={
                "conditions": [
                    cond("AbleToScale", "True", "ReadyForNewScale"),
                    cond("ScalingActive", "True", "ValidMetricFound"),
                ]
            },
        ),
        HEALTHY,
        "",
    ),
    (
        "hpa-metrics-missing",
        obj(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            spec={},
            status={
                "conditions": [
                    cond("AbleToScale", "True", "SucceededGetScale"),
                    cond("ScalingActive", "False", "FailedGetResourceMetric", "missing request for cpu"),
                ]
            },
        ),
        DEGRADED,
        "ScalingActive=False FailedGetResourceMetric: missing request for cpu",
    ),
    (
        "hpa-cannot-get-scale",
        obj(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            spec={},
            status={"conditions": [cond("AbleToScale", "False", "FailedGetScale", 'deployments "web" not found')]},
        ),
        DEGRADED,
        'AbleToScale=False FailedGetScale: deployments "web" not found',
    ),
    (
        "hpa-scaled-to-zero-on-purpose",
        obj(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            spec={},
            status={"conditions": [cond("ScalingActive", "False", "ScalingDisabled", "scaling is disabled")]},
        ),
        HEALTHY,
        "",
    ),
    # Namespace, Ingress, ConfigMap, Secret
    ("namespace-active", obj("v1", "Namespace", status={"phase": "Active"}), HEALTHY, ""),
    ("namespace-terminating", obj("v1", "Namespace", status={"phase": "Terminating"}), PROGRESSING, "Terminating"),
    ("ingress", obj("networking.k8s.io/v1", "Ingress", spec={"rules": []}), HEALTHY, ""),
    ("configmap", obj("v1", "ConfigMap"), HEALTHY, ""),
    ("secret", obj("v1", "Secret"), HEALTHY, ""),
    # CustomResourceDefinition
    (
        "crd-established",
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            status={"conditions": [cond("NamesAccepted", "True", "NoConflicts"), cond("Established", "True")]},
        ),
        HEALTHY,
        "",
    ),
    (
        "crd-name-conflict",
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            status={
                "conditions": [
                    cond("NamesAccepted", "False", "ListKindConflict", '"WidgetList" is already in use'),
                    cond("Established", "False", "NotAccepted", "not all names are accepted"),
                ]
            },
        ),
        DEGRADED,
        'NamesAccepted=False ListKindConflict: "WidgetList" is already in use',
    ),
    (
        "crd-installing",
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            status={
                "conditions": [cond("Established", "False", "Installing", "the initial names have not been accepted")]
            },
        ),
        PROGRESSING,
        "Established=False Installing: the initial names have not been accepted",
    ),
    (
        "crd-no-status",
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        PROGRESSING,
        "Waiting for the Established condition",
    ),
    # CompositeResourceDefinition
    (
        "xrd-established-and-offered",
        obj(
            "apiextensions.crossplane.io/v1",
            "CompositeResourceDefinition",
            status={
                "conditions": [
                    cond("Established", "True", "WatchingCompositeResource"),
                    cond("Offered", "True", "WatchingCompositeResourceClaim"),
                ]
            },
        ),
        HEALTHY,
        "",
    ),
    (
        "xrd-not-established",
        obj(
            "apiextensions.crossplane.io/v1",
            "CompositeResourceDefinition",
            status={"conditions": [cond("Established", "False", "TerminatingCompositeResource", "cannot start")]},
        ),
        DEGRADED,
        "Established=False TerminatingCompositeResource: cannot start",
    ),
    (
        "xrd-claims-not-offered",
        obj(
            "apiextensions.crossplane.io/v1",
            "CompositeResourceDefinition",
            status={
                "conditions": [
                    cond("Established", "True", "WatchingCompositeResource"),
                    cond("Offered", "False", "TerminatingCompositeResourceClaim", "cannot render claim CRD"),
                ]
            },
        ),
        DEGRADED,
        "Offered=False TerminatingCompositeResourceClaim: cannot render claim CRD",
    ),
    # Packages
    (
        "provider-healthy",
        package(
            "Provider",
            cond("Installed", "True", "ActivePackageRevision"),
            cond("Healthy", "True", "HealthyPackageRevision"),
        ),
        HEALTHY,
        "",
    ),
    (
        "function-unhealthy",
        package(
            "Function",
            cond("Installed", "True", "ActivePackageRevision"),
            cond("Healthy", "False", "UnhealthyPackageRevision", "post establish runtime hook failed"),
        ),
        DEGRADED,
        "Healthy=False UnhealthyPackageRevision: post establish runtime hook failed",
    ),
    (
        "configuration-installing",
        package("Configuration", cond("Installed", "True", "ActivePackageRevision")),
        PROGRESSING,
        "Waiting for the Healthy condition",
    ),
    (
        "provider-health-unknown",
        package(
            "Provider",
            cond("Installed", "True", "ActivePackageRevision"),
            cond("Healthy", "Unknown", "UnknownPackageRevisionHealth"),
        ),
        PROGRESSING,
        "Healthy=Unknown UnknownPackageRevisionHealth",
    ),
    # Crossplane managed resources, composites and claims
    (
        "mr-available",
        crossplane(cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "True", "Available")),
        HEALTHY,
        "",
    ),
    (
        "mr-reconcile-error",
        crossplane(cond("Synced", "False", "ReconcileError", RDS_ERROR), cond("Ready", "False", "Creating")),
        DEGRADED,
        f"Synced=False ReconcileError: {RDS_ERROR}",
    ),
    (
        "mr-creating",
        crossplane(cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "False", "Creating")),
        PROGRESSING,
        "Ready=False Creating",
    ),
    (
        "xr-waiting-for-composed",
        crossplane(
            cond("Synced", "True", "ReconcileSuccess"),
            cond("Ready", "False", "Creating", "Unready resources: rdsinstance"),
            api_version="platform.example.org/v1alpha1",
        ),
        PROGRESSING,
        "Ready=False Creating: Unready resources: rdsinstance",
    ),
    (
        "mr-unavailable",
        crossplane(
            cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "False", "Unavailable", "instance is stopped")
        ),
        DEGRADED,
        "Ready=False Unavailable: instance is stopped",
    ),
    (
        "mr-ready-unknown",
        crossplane(cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "Unknown", "")),
        PROGRESSING,
        "Ready=Unknown",
    ),
    (
        "mr-synced-only",
        crossplane(cond("Synced", "True", "ReconcileSuccess")),
        PROGRESSING,
        "Waiting for the Ready condition",
    ),
    # Terminating wins over everything
    (
        "deployment-terminating",
        {**deployment(**ROLLED_OUT), "metadata": {"name": "x", "deletionTimestamp": "2025-05-01T10:00:00Z"}},
        PROGRESSING,
        "Terminating",
    ),
    # No rule and no evidence
    ("composition", obj("apiextensions.crossplane.io/v1", "Composition", spec={"mode": "Pipeline"}), UNKNOWN, ""),
    ("provider-config", obj("aws.upbound.io/v1beta1", "ProviderConfig", spec={}, status={"users": 3}), UNKNOWN, ""),
    # kstatus standard conditions on an unknown kind
    (
        "kstatus-stalled",
        obj(
            "example.com/v1", "Widget", status={"conditions": [cond("Stalled", "True", "BadSpec", "size must be > 0")]}
        ),
        DEGRADED,
        "Stalled=True BadSpec: size must be > 0",
    ),
    (
        "kstatus-reconciling",
        obj("example.com/v1", "Widget", status={"conditions": [cond("Reconciling", "True", "Scaling")]}),
        PROGRESSING,
        "Reconciling=True Scaling",
    ),
    (
        "kstatus-unobserved-generation",
        obj("example.com/v1", "Widget", generation=3, status={"observedGeneration": 2}),
        PROGRESSING,
        "Waiting for the controller to observe generation 3",
    ),
    # A CRD that reuses a built-in kind name in its own group is not judged as the built-in.
    (
        "foreign-deployment-kind",
        obj("example.com/v1", "Deployment", spec={"replicas": 3}, status={"availableReplicas": 0}),
        UNKNOWN,
        "",
    ),
]


@pytest.mark.parametrize(("found", "health", "reason"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_health_rules(found: dict[str, Any], health: str, reason: str) -> None:
    result = derive_health(found, conditions_of(found))

    assert (result.health, result.reason) == (health, reason)


@pytest.mark.parametrize(
    ("conditions", "ready", "synced"),
    [
        ([cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "True", "Available")], True, True),
        ([cond("Synced", "False", "ReconcileError"), cond("Ready", "False", "Creating")], False, False),
        ([cond("Synced", "Unknown"), cond("Ready", "Unknown")], None, None),
        ([cond("Ready", "True", "Available")], True, None),
    ],
)
def test_crossplane_ready_and_synced_come_from_their_conditions(
    conditions: list[dict[str, Any]], ready: bool | None, synced: bool | None
) -> None:
    found = crossplane(*conditions)

    result = derive_health(found, conditions_of(found))

    assert (result.ready, result.synced) == (ready, synced)


@pytest.mark.parametrize(
    ("found", "ready"),
    [
        (deployment(**ROLLED_OUT), True),
        (deployment(**{**ROLLED_OUT, "availableReplicas": 1}), False),
        (obj("example.com/v1", "Widget"), None),
    ],
)
def test_ready_of_built_ins_follows_their_health(found: dict[str, Any], ready: bool | None) -> None:
    result = derive_health(found, conditions_of(found))

    assert (result.ready, result.synced) == (ready, None)


def test_terminating_crossplane_object_keeps_its_condition_readiness() -> None:
    found = crossplane(cond("Synced", "True", "ReconcileSuccess"), cond("Ready", "True", "Available"))
    found["metadata"]["deletionTimestamp"] = "2025-05-01T10:00:00Z"

    assert derive_health(found, conditions_of(found)) == Health(True, True, PROGRESSING, "Terminating")


def test_long_condition_messages_are_capped_and_flattened() -> None:
    message = "line one\n  line two " + "x" * 2000
    found = crossplane(cond("Synced", "False", "ReconcileError", message), cond("Ready", "False", "Creating"))

    reason = derive_health(found, conditions_of(found)).reason

    assert len(reason) == MAX_REASON
    assert reason.startswith("Synced=False ReconcileError: line one line two xxx")
    assert reason.endswith("…")


def test_conditions_are_normalised_and_malformed_entries_skipped() -> None:
    found = obj(
        "example.com/v1",
        "Widget",
        status={
            "conditions": [
                {"type": "Ready", "status": "True"},
                "not-a-condition",
                {"status": "False", "reason": "NoType"},
                {"type": "", "status": "False"},
                {
                    "type": "Synced",
                    "status": "False",
                    "reason": "ReconcileError",
                    "message": "boom",
                    "lastTransitionTime": "t",
                },
                {"type": "Odd", "status": None, "observedGeneration": 3},
            ]
        },
    )

    assert conditions_of(found) == [
        {"type": "Ready", "status": "True", "reason": "", "message": "", "lastTransitionTime": ""},
        {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "boom", "lastTransitionTime": "t"},
        {"type": "Odd", "status": "", "reason": "", "message": "", "lastTransitionTime": ""},
    ]


@pytest.mark.parametrize("status", [None, {}, {"conditions": None}, {"conditions": {"Ready": "True"}}, "broken"])
def test_no_conditions(status: Any) -> None:
    assert conditions_of({"status": status}) == []
