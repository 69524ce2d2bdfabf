"""Expressions parsed (cached per text), checked and bound to a runner: the `Program`s rules evaluate."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELUnsupportedError
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from control_plane.kubeapi.cel.checker import _Checker, _display
from control_plane.kubeapi.cel.declarations import OLD_SELF, SELF, SchemaNode, _static
from control_plane.kubeapi.cel.library import _FUNCTIONS
from control_plane.kubeapi.cel.values import _describe
from devplat.core.cel import parse


class CompileError(Exception):
    """An expression cel-go would refuse at CRD creation; `detail` is upstream's message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class EvaluationError(Exception):
    """An expression that failed at evaluation; `detail` is the error as cel-go words it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Program:
    """A parsed, checked expression ready to evaluate against `self` (and `oldSelf`)."""

    source: str
    uses_old_self: bool
    runner: celpy.Runner = field(repr=False, compare=False)

    def evaluate(self, variables: dict[str, Any]) -> Any:
        try:
            return self.runner.evaluate(variables)
        except CELEvalError as error:
            raise EvaluationError(_describe(error)) from None
        except ZeroDivisionError:
            raise EvaluationError("division by zero") from None
        except (CELUnsupportedError, ArithmeticError, LookupError, TypeError, ValueError) as error:
            raise EvaluationError(str(error) or type(error).__name__) from None


_ENVIRONMENT = celpy.Environment()


def compile_expression(
    source: str,
    node: SchemaNode,
    resource_root: bool,
    *,
    result: str = "bool",
    failure_prefix: str = "compilation failed: ",
    type_error: str = "cel expression must evaluate to a bool",
) -> Program:
    """Parse (cached per text), check against the node's schema, and bind the runner; raise CompileError."""
    scope = _static(node, resource_root)
    if scope is None:
        raise CompileError(
            "rule declared on schema that does not support validation rules type: "
            f"'{node.types[0] if len(node.types) == 1 else ''}' x-kubernetes-preserve-unknown-fields: "
            f"'{str(node.preserve).lower()}'"
        )
    parsed = _parsed(source)
    if isinstance(parsed, str):
        raise CompileError(failure_prefix + parsed)
    tree, runner = parsed
    checker = _Checker(source)
    found = checker.check(tree, {SELF: scope, OLD_SELF: scope})
    if checker.issues:
        raise CompileError(failure_prefix + "\n".join(checker.issues))
    if found.kind not in (result, "dyn"):
        raise CompileError(type_error)
    return Program(source=source, uses_old_self=checker.uses_old_self, runner=runner)


@functools.lru_cache(maxsize=4096)
def _parsed(source: str) -> tuple[lark.Tree, celpy.Runner] | str:
    """The tree and runner of an expression, or its syntax error rendered as a cel-go issue."""
    try:
        tree = parse(source)
    except CELParseError as error:
        return _display(source, error.line or 1, error.column or 1, _syntax_message(source, error))
    return tree, _ENVIRONMENT.program(tree, functions=_FUNCTIONS)


def _syntax_message(source: str, error: CELParseError) -> str:
    cause = error.__context__
    if isinstance(cause, UnexpectedCharacters):
        return f"Syntax error: token recognition error at: '{cause.char}'"
    if isinstance(cause, UnexpectedToken):
        shown = "<EOF>" if cause.token.type == "$END" else str(cause.token)
        return f"Syntax error: mismatched input '{shown}'"
    return "Syntax error: " + str(error).splitlines()[0]
