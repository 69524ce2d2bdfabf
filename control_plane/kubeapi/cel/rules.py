"""x-kubernetes-validations entries compiled into `Rule`s, and evaluated into `Violation`s.

The package's entry points for the schema package: `compile_rules` when a node is compiled, `violations` on
admission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celpy import celtypes

from control_plane.kubeapi.cel.compiler import CompileError, EvaluationError, Program, compile_expression
from control_plane.kubeapi.cel.declarations import OLD_SELF, SELF, SchemaNode
from control_plane.kubeapi.cel.paths import field_path
from control_plane.kubeapi.cel.values import _Optional, to_value

DEFAULT_REASON = "FieldValueInvalid"
REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
_MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


@dataclass(frozen=True)
class Rule:
    """One x-kubernetes-validations entry compiled for its node. `error` is the rule's compile error, if any."""

    source: str
    message: str
    reason: str
    field_path: str
    optional_old_self: bool
    program: Program | None
    error: str
    message_program: Program | None
    message_error: str

    @property
    def uses_old_self(self) -> bool:
        return self.program is not None and self.program.uses_old_self

    @property
    def error_string(self) -> str:
        """upstream's ruleErrorString: the message when there is one, else the rule."""
        return self.message or self.source.strip()


@dataclass(frozen=True)
class Violation:
    """A failed or erring rule: `field_path` is relative to the node ('' for the node itself)."""

    field_path: str
    reason: str
    detail: str


def compile_rules(entries: Any, node: SchemaNode, resource_root: bool) -> tuple[Rule, ...]:
    """One Rule per entry of a node's x-kubernetes-validations (an empty rule compiles to no program)."""
    if not isinstance(entries, list):
        return ()
    return tuple(_compile_rule(entry if isinstance(entry, dict) else {}, node, resource_root) for entry in entries)


def _compile_rule(entry: dict[str, Any], node: SchemaNode, resource_root: bool) -> Rule:
    source = _text(entry.get("rule"))
    program, error = None, ""
    if source.strip():
        try:
            program = compile_expression(source, node, resource_root)
        except CompileError as failure:
            error = failure.detail
    message_program, message_error = None, ""
    if _text(entry.get("messageExpression")).strip():
        try:
            message_program = compile_expression(
                _text(entry.get("messageExpression")),
                node,
                resource_root,
                result="string",
                failure_prefix="messageExpression compilation failed: ",
                type_error="messageExpression must evaluate to a string",
            )
        except CompileError as failure:
            message_error = failure.detail
    relative = ""
    if _text(entry.get("fieldPath")):
        relative = field_path(_text(entry["fieldPath"]), node) or ""
    return Rule(
        source=source,
        message=_text(entry.get("message")).strip(),
        reason=_text(entry.get("reason")) or DEFAULT_REASON,
        field_path=relative,
        optional_old_self=entry.get("optionalOldSelf") is True,
        program=program,
        error=error,
        message_program=message_program,
        message_error=message_error,
    )


def violations(rules: Iterable[Rule], value: Any, old: Any, node: SchemaNode, resource_root: bool) -> list[Violation]:
    """Evaluate a node's rules on its (non-null) value; transition rules only where an old value exists."""
    current = to_value(value, node, resource_root)
    previous: Any = None
    found: list[Violation] = []
    for rule in rules:
        if rule.error:
            found.append(Violation("", DEFAULT_REASON, f"rule compile error: {rule.error}"))
            continue
        program = rule.program
        if program is None or (program.uses_old_self and old is None and not rule.optional_old_self):
            continue
        if old is not None and previous is None and (program.uses_old_self or _uses_old_self(rule.message_program)):
            previous = to_value(old, node, resource_root)
        variables = {SELF: current} if previous is None else {SELF: current, OLD_SELF: previous}
        rule_variables = variables
        if program.uses_old_self and rule.optional_old_self:
            rule_variables = {SELF: current, OLD_SELF: _Optional(previous, present=old is not None)}
        try:
            result = program.evaluate(rule_variables)
        except EvaluationError as error:
            found.append(Violation("", DEFAULT_REASON, _evaluation_detail(error.detail, rule)))
            continue
        if not isinstance(result, (bool, celtypes.BoolType)):
            found.append(Violation("", DEFAULT_REASON, _evaluation_detail("no such overload", rule)))
        elif not result:
            found.append(Violation(rule.field_path, rule.reason, _failure_message(rule, variables)))
    return found


def _uses_old_self(program: Program | None) -> bool:
    return program is not None and program.uses_old_self


def _evaluation_detail(detail: str, rule: Rule) -> str:
    if detail.startswith("no such overload"):
        return (
            f"'{detail}': call arguments did not match a supported operator, function or macro signature "
            f"for rule: {rule.error_string}"
        )
    return f"{detail} evaluating rule: {rule.error_string}"


def _failure_message(rule: Rule, variables: dict[str, Any]) -> str:
    """messageExpression's result when it yields a usable string, else the message, else `failed rule: <rule>`."""
    if rule.message_program is not None:
        try:
            text = rule.message_program.evaluate(variables)
        except EvaluationError:
            text = None
        if isinstance(text, str):
            text = text.strip()
            if text and "\n" not in text and len(text.encode()) <= _MAX_MESSAGE_BYTES:
                return str(text)
    return rule.message or f"failed rule: {rule.source.strip()}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
