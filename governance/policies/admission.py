"""Admission: which enabled policies apply to a request, and which of them the object violates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from governance.choices import PolicyModeChoices
from governance.models import Policy
from governance.policies.expressions import CompileError, EvaluationError, compile_expression, to_cel


@dataclass(frozen=True)
class Violation:
    policy: str  # Policy.name
    mode: str  # "enforce" | "warn" | "audit"
    message: str


@dataclass(frozen=True)
class AdmissionResult:
    """Every violation of the policies that applied; audit-mode ones are reported but neither deny nor warn."""

    violations: tuple[Violation, ...]

    @property
    def denied(self) -> bool:
        return any(violation.mode == PolicyModeChoices.ENFORCE for violation in self.violations)

    @property
    def warnings(self) -> list[str]:
        return [violation.message for violation in self.violations if violation.mode == PolicyModeChoices.WARN]


@dataclass(frozen=True)
class AdmissionContext:
    """What a policy's `context` variable holds, and what its targets are matched against."""

    capability: str  # the XRD name, e.g. databases.platform.devplat.io
    kind: str
    team: str
    environment: str
    actor: str

    def mismatches(self, policy: Policy) -> list[str]:
        return policy.target_mismatches(
            capability=self.capability, kind=self.kind, team=self.team, environment=self.environment
        )


def policy_evaluate_admission(
    *, obj: dict[str, Any], capability: str, kind: str, team: str, environment: str, actor: str
) -> AdmissionResult:
    """Evaluate every enabled policy that targets this request against the rendered composite `obj`."""
    context = AdmissionContext(capability=capability, kind=kind, team=team, environment=environment, actor=actor)
    variables = _variables(obj, context)
    violations = []
    for policy in Policy.objects.filter(enabled=True).order_by("name"):
        if not context.mismatches(policy):
            violation = _evaluate(policy, variables)
            if violation is not None:
                violations.append(violation)
    return AdmissionResult(violations=tuple(violations))


def policy_evaluate(*, policy: Policy, obj: dict[str, Any], context: AdmissionContext) -> Violation | None:
    """One policy's verdict on `obj`, whatever its targets and whether it is enabled (`devplat policies test`)."""
    return _evaluate(policy, _variables(obj, context))


def _variables(obj: dict[str, Any], context: AdmissionContext) -> dict[str, Any]:
    return {"object": to_cel(obj), "context": to_cel(asdict(context))}


def _evaluate(policy: Policy, variables: dict[str, Any]) -> Violation | None:
    """None when the expression allows the object; a failure to compile or evaluate is a violation (fail closed)."""
    try:
        if compile_expression(policy.expression).evaluate(variables):
            return None
    except (CompileError, EvaluationError) as error:
        return Violation(policy.name, policy.mode, f"policy {policy.name} could not be evaluated: {error}")
    return Violation(policy.name, policy.mode, policy.message)
