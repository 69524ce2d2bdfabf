"""Health of any synced object in four words, the first thing a person asks about something running.

The rules follow kstatus (sigs.k8s.io/cli-utils/pkg/kstatus): built-in kinds are judged by their rollout counters,
Crossplane objects by their `Ready` and `Synced` conditions, packages, CRDs and XRDs by the conditions their
controllers set, and anything else by the kstatus standard conditions (`Stalled`, `Reconciling`). Built-in rules are
chosen by (group, kind), so a CRD that reuses a built-in kind name in its own group is not judged as the built-in.
An object no rule speaks for is "unknown": devplat never claims health it has no evidence for.

`ready` is the object's own Ready condition where Crossplane sets one, otherwise whether the rule found it healthy.
`synced` is Crossplane's Synced condition, None elsewhere. Reasons are capped so a huge condition message cannot
bloat a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from control_plane.choices import HealthChoices
from control_plane.sync.shapes import as_dict, as_list

HEALTHY: Final[str] = HealthChoices.HEALTHY.value
PROGRESSING: Final[str] = HealthChoices.PROGRESSING.value
DEGRADED: Final[str] = HealthChoices.DEGRADED.value
UNKNOWN: Final[str] = HealthChoices.UNKNOWN.value
MAX_REASON: Final = 500
_CONDITION_FIELDS: Final = ("type", "status", "reason", "message", "lastTransitionTime")
# Crossplane's Ready=False reasons that mean "on its way", not "broken".
_READY_PENDING: Final = frozenset({"Creating", "Deleting", "Unknown"})
# Container waiting reasons that will not clear by themselves.
_POD_STUCK: Final = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


@dataclass(frozen=True, slots=True)
class Health:
    """What the inventory stores about an object's health: readiness, Crossplane sync, the verdict and why."""

    ready: bool | None
    synced: bool | None
    health: str
    reason: str


Conditions = dict[str, dict[str, Any]]


def conditions_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """`status.conditions` as uniform dicts of strings; entries without a type are skipped."""
    status = obj.get("status")
    found = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(found, list):
        return []
    return [
        {field: _text(entry.get(field)) for field in _CONDITION_FIELDS}
        for entry in found
        if isinstance(entry, dict) and isinstance(entry.get("type"), str) and entry["type"]
    ]


def derive_health(obj: dict[str, Any], conditions: list[dict[str, Any]]) -> Health:
    """The health of `obj`, given `conditions_of(obj)`.

    A deletion in progress wins over every rule (progressing, "Terminating"); ready and synced still say what the
    rule found, since an object can be ready while its finalizers run.
    """
    by_type = {condition["type"]: condition for condition in conditions}
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    rule = _RULES.get((group, str(obj.get("kind") or "")))
    if rule is not None:
        health, reason = rule(obj, by_type)
        found = Health(ready=_ready_from(health), synced=None, health=health, reason=reason)
    elif "Ready" in by_type or "Synced" in by_type:
        found = _crossplane(by_type)
    else:
        health, reason = _kstatus_generic(obj, by_type)
        found = Health(ready=_ready_from(health), synced=None, health=health, reason=reason)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and metadata.get("deletionTimestamp"):
        return Health(ready=found.ready, synced=found.synced, health=PROGRESSING, reason="Terminating")
    return found


def _crossplane(by_type: Conditions) -> Health:
    """Crossplane's Ready and Synced: Synced=False means reconciling fails, Ready=False says why it is not up."""
    ready, synced = by_type.get("Ready"), by_type.get("Synced")
    is_ready, is_synced = _tristate(ready), _tristate(synced)
    if synced is not None and is_synced is False:
        return Health(is_ready, is_synced, DEGRADED, _describe(synced))
    if ready is None:
        return Health(is_ready, is_synced, PROGRESSING, "Waiting for the Ready condition")
    if is_ready is True:
        return Health(is_ready, is_synced, HEALTHY, "")
    if is_ready is None or ready["reason"] in _READY_PENDING:
        return Health(is_ready, is_synced, PROGRESSING, _describe(ready))
    return Health(is_ready, is_synced, DEGRADED, _describe(ready))


Verdict = tuple[str, str]
Rule = Callable[[dict[str, Any], Conditions], Verdict]


def _deployment(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    waiting = _unobserved(obj)
    if waiting is not None:
        return waiting
    progressing = by_type.get("Progressing")
    if progressing is not None and progressing["reason"] == "ProgressDeadlineExceeded":
        return DEGRADED, _describe(progressing)
    status = as_dict(obj.get("status"))
    want = _count(as_dict(obj.get("spec")).get("replicas"), 1)
    updated = _count(status.get("updatedReplicas"))
    return _rollout(
        (updated, want, "replicas updated"),
        (updated, _count(status.get("replicas")), "running replicas updated"),
        (_count(status.get("availableReplicas")), want, "replicas available"),
    )


def _statefulset(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    waiting = _unobserved(obj)
    if waiting is not None:
        return waiting
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    want = _count(spec.get("replicas"), 1)
    strategy = as_dict(spec.get("updateStrategy"))
    if strategy.get("type") == "OnDelete":  # the controller does not roll out; pods update when someone deletes them
        return _rollout((_count(status.get("readyReplicas")), want, "replicas ready"))
    partition = _count(as_dict(strategy.get("rollingUpdate")).get("partition"))
    verdict = _rollout(
        (_count(status.get("readyReplicas")), want, "replicas ready"),
        (_count(status.get("updatedReplicas")), max(want - partition, 0), "replicas updated"),
    )
    if verdict[0] == HEALTHY and not partition and status.get("currentRevision") != status.get("updateRevision"):
        return PROGRESSING, "Rolling update in progress"
    return verdict


def _daemonset(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    waiting = _unobserved(obj)
    if waiting is not None:
        return waiting
    status = as_dict(obj.get("status"))
    if "desiredNumberScheduled" not in status:
        return PROGRESSING, "Waiting for the controller to report status"
    want = _count(status.get("desiredNumberScheduled"))
    return _rollout(
        (_count(status.get("updatedNumberScheduled")), want, "pods updated"),
        (_count(status.get("numberAvailable")), want, "pods available"),
        (_count(status.get("numberReady")), want, "pods ready"),
    )


def _replicaset(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    waiting = _unobserved(obj)
    if waiting is not None:
        return waiting
    failure = by_type.get("ReplicaFailure")
    if failure is not None and failure["status"] == "True":
        return DEGRADED, _describe(failure)
    status = as_dict(obj.get("status"))
    want = _count(as_dict(obj.get("spec")).get("replicas"), 1)
    return _rollout(
        (_count(status.get("readyReplicas")), want, "replicas ready"),
        (_count(status.get("availableReplicas")), want, "replicas available"),
    )


def _pod(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    status = as_dict(obj.get("status"))
    phase = status.get("phase")
    if phase == "Succeeded":
        return HEALTHY, ""
    if phase == "Failed":
        return DEGRADED, _say(f"Failed {_text(status.get('reason'))}".rstrip(), _text(status.get("message")))
    for container in [*as_list(status.get("initContainerStatuses")), *as_list(status.get("containerStatuses"))]:
        waiting = as_dict(as_dict(as_dict(container).get("state")).get("waiting"))
        if waiting.get("reason") in _POD_STUCK:
            head = f"{_text(as_dict(container).get('name'))} {waiting['reason']}".lstrip()
            return DEGRADED, _say(head, _text(waiting.get("message")))
    ready = by_type.get("Ready")
    if ready is not None and ready["status"] == "True":
        return HEALTHY, ""
    return PROGRESSING, _describe(ready) if ready is not None else f"Phase {phase or 'Pending'}"


def _service(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    balancer = as_dict(as_dict(obj.get("status")).get("loadBalancer"))
    if as_dict(obj.get("spec")).get("type") == "LoadBalancer" and not balancer.get("ingress"):
        return PROGRESSING, "Waiting for a load balancer address"
    return HEALTHY, ""


def _autoscaler(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    for kind in ("AbleToScale", "ScalingActive"):
        found = by_type.get(kind)
        if found is None or found["status"] != "False":
            continue
        if kind == "ScalingActive" and found["reason"] == "ScalingDisabled":  # scaled to zero on purpose
            continue
        return DEGRADED, _describe(found)
    return HEALTHY, ""


def _namespace(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    if as_dict(obj.get("status")).get("phase") == "Terminating":
        return PROGRESSING, "Terminating"
    return HEALTHY, ""


def _exists(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    """Kinds without a controller-reported state: existing is the whole story."""
    return HEALTHY, ""


def _conditions_rule(healthy_when: tuple[str, ...], degraded_when: tuple[str, ...]) -> Rule:
    """Healthy when every `healthy_when` condition is True; degraded when any `degraded_when` one is False."""

    def rule(obj: dict[str, Any], by_type: Conditions) -> Verdict:
        for kind in degraded_when:
            found = by_type.get(kind)
            if found is not None and found["status"] == "False":
                return DEGRADED, _describe(found)
        for kind in healthy_when:
            found = by_type.get(kind)
            if found is None:
                return PROGRESSING, f"Waiting for the {kind} condition"
            if found["status"] != "True":
                return PROGRESSING, _describe(found)
        return HEALTHY, ""

    return rule


def _kstatus_generic(obj: dict[str, Any], by_type: Conditions) -> Verdict:
    """kstatus's standard conditions and observedGeneration, for kinds no other rule knows."""
    stalled, reconciling = by_type.get("Stalled"), by_type.get("Reconciling")
    if stalled is not None and stalled["status"] == "True":
        return DEGRADED, _describe(stalled)
    if reconciling is not None and reconciling["status"] == "True":
        return PROGRESSING, _describe(reconciling)
    if "observedGeneration" in as_dict(obj.get("status")):
        waiting = _unobserved(obj)
        if waiting is not None:
            return waiting
    return UNKNOWN, ""


_PACKAGE = _conditions_rule(("Installed", "Healthy"), ("Installed", "Healthy"))
_RULES: Final[dict[tuple[str, str], Rule]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("autoscaling", "HorizontalPodAutoscaler"): _autoscaler,
    ("", "Namespace"): _namespace,
    ("networking.k8s.io", "Ingress"): _exists,
    ("", "ConfigMap"): _exists,
    ("", "Secret"): _exists,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _conditions_rule(("Established",), ("NamesAccepted",)),
    ("apiextensions.crossplane.io", "CompositeResourceDefinition"): _conditions_rule(
        ("Established",), ("Established", "Offered")
    ),
    ("pkg.crossplane.io", "Provider"): _PACKAGE,
    ("pkg.crossplane.io", "Function"): _PACKAGE,
    ("pkg.crossplane.io", "Configuration"): _PACKAGE,
}


def _unobserved(obj: dict[str, Any]) -> Verdict | None:
    """Progressing while the controller has not yet seen the latest spec (kstatus's first check)."""
    generation = as_dict(obj.get("metadata")).get("generation")
    observed = as_dict(obj.get("status")).get("observedGeneration")
    if isinstance(generation, int) and (not isinstance(observed, int) or observed < generation):
        return PROGRESSING, f"Waiting for the controller to observe generation {generation}"
    return None


def _rollout(*checks: tuple[int, int, str]) -> Verdict:
    """Progressing at the first counter below its target, else healthy."""
    for have, want, what in checks:
        if have < want:
            return PROGRESSING, f"{have}/{want} {what}"
    return HEALTHY, ""


def _tristate(condition: dict[str, Any] | None) -> bool | None:
    status = condition["status"] if condition is not None else ""
    return True if status == "True" else False if status == "False" else None


def _ready_from(health: str) -> bool | None:
    return None if health == UNKNOWN else health == HEALTHY


def _describe(condition: dict[str, Any]) -> str:
    """A condition the way people read them: `Ready=False ReconcileError: <message>`."""
    return _say(f"{condition['type']}={condition['status']} {condition['reason']}".rstrip(), condition["message"])


def _say(head: str, message: str) -> str:
    text = f"{head}: {' '.join(message.split())}" if message else head
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _count(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
