"""Admission policies: CEL expressions over a requested composite and its context, evaluated before provisioning.

`policy_evaluate_admission` is what capability requests call; `policy_evaluate` judges one object against one
policy (`devplat policies test`). The expression language and its limits are in `expressions`.
"""

from governance.policies.admission import (
    AdmissionContext,
    AdmissionResult,
    Violation,
    policy_evaluate,
    policy_evaluate_admission,
)
from governance.policies.expressions import CompileError, EvaluationError, compile_expression

__all__ = [
    "AdmissionContext",
    "AdmissionResult",
    "CompileError",
    "EvaluationError",
    "Violation",
    "compile_expression",
    "policy_evaluate",
    "policy_evaluate_admission",
]
