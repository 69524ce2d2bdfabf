"""Policy expressions: CEL compiled once per text, checked before it is saved, evaluated under a cost limit.

The language is standard CEL as cel-python runs it, over two variables: `object` (the composite as JSON) and
`context` (`team`, `environment`, `actor`, `capability`, `kind`, all strings). Macros: has, all, exists,
exists_one, map, filter; functions: size, matches, the type conversions and type(); methods: contains,
startsWith, endsWith, matches, size and the timestamp getters. cel-python's own extensions (`reduce`, `min`) are
refused, so a policy stays portable to cel-go (Kubernetes ValidatingAdmissionPolicy).

Compile-time checks: syntax (with line and column), undeclared variables, unknown functions and methods, unknown
`context` fields, macro forms, and a result that cannot be a bool. `object` is not typed here (a policy may target
several kinds), so a missing field surfaces at evaluation, where it counts as a violation (fail closed).

The check's walk over operators, literals and variables, the parser lock and the common error wording are
`devplat.core.cel`'s, shared with the CRD validation rules of `control_plane.kubeapi.cel`.

Limits, so a careless or hostile expression cannot hang an admission request:
- compile time: at most MAX_EXPRESSION_LENGTH characters and a parse tree at most MAX_NESTING deep (evaluation is
  recursive; this keeps it far from Python's recursion limit).
- run time: a cost budget, deterministic like cel-go's: every evaluated operation costs 1, plus the size of the
  list or map it yields (or a tenth of a string's length). A comprehension pays for every iteration, so nested
  comprehensions over large lists, and values that double in size on each step, stop at COST_LIMIT. A wall-clock
  deadline (EVALUATION_DEADLINE_SECONDS) backs it up for work the cost model underrates (deep equality of large
  values). Either way the evaluation fails with a message naming the limit. Regular expressions run on RE2
  (linear time), so `matches` cannot backtrack catastrophically.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELSyntaxError, CELUnsupportedError, Evaluator
from django.core.serializers.json import DjangoJSONEncoder
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from devplat.core.cel import BOOL, DYN, FUNCTIONS, MACROS, METHODS, Checker, Static, describe, leaf, message, parse

MAX_EXPRESSION_LENGTH = 4096
MAX_NESTING = 300  # parse-tree levels; `a && b` is about 25, each parenthesis or macro body adds about 10
COST_LIMIT = 50_000  # a fifth of a second of cel-python on an idle machine; real policies spend well under 1000
EVALUATION_DEADLINE_SECONDS = 2.0
COMPILED_CACHE_SIZE = 512

OBJECT, CONTEXT = "object", "context"
CONTEXT_FIELDS = ("actor", "capability", "environment", "kind", "team")


class CompileError(Exception):
    """The expression cannot be a policy; the message says what is wrong and where."""


class EvaluationError(Exception):
    """The expression failed on this object (missing field, wrong type, a limit); the message says how."""


class _LimitExceeded(Exception):
    """Raised from inside the evaluator; deliberately not a CELEvalError, which macros and `||` would swallow."""


class _Meter:
    """The cost spent by one evaluation, and its deadline."""

    __slots__ = ("deadline", "spent")

    def __init__(self) -> None:
        self.spent = 0
        self.deadline = time.monotonic() + EVALUATION_DEADLINE_SECONDS

    def charge(self, units: int) -> None:
        self.spent += units
        if self.spent > COST_LIMIT:
            raise _LimitExceeded(
                f"the evaluation exceeded the cost limit of {COST_LIMIT} steps; "
                "iterate over fewer items or avoid nesting comprehensions"
            )
        if time.monotonic() >= self.deadline:
            raise _LimitExceeded(f"the evaluation exceeded the time limit of {EVALUATION_DEADLINE_SECONDS:g} s")


class _MeteredEvaluator(Evaluator):
    """cel-python's interpreter, charging every evaluated node to a meter shared with its macro sub-evaluators."""

    def __init__(self, ast: lark.Tree, activation: Any, meter: _Meter) -> None:
        super().__init__(ast, activation)
        self.meter = meter

    def sub_evaluator(self, ast: lark.Tree) -> Evaluator:
        return _MeteredEvaluator(ast, self.activation, self.meter)

    def _visit_tree(self, tree: lark.Tree) -> Any:
        value = super()._visit_tree(tree)
        units = 1
        if len(tree.children) > 1:  # an operation; single-child nodes only pass their child's value up
            if isinstance(value, str | bytes):
                units += len(value) // 10
            elif isinstance(value, list | dict):
                units += len(value)
        self.meter.charge(units)
        return value


class _MeteredRunner(celpy.InterpretedRunner):
    def evaluate(self, context: Any) -> Any:
        return _MeteredEvaluator(self.ast, self.new_activation(), _Meter()).evaluate(context)


class Program:
    """A checked expression, ready to evaluate any number of times (and from several threads)."""

    def __init__(self, source: str, tree: lark.Tree) -> None:
        self.source = source
        self._runner = _MeteredRunner(_ENVIRONMENT, tree)

    def __repr__(self) -> str:
        return f"Program({self.source!r})"

    def evaluate(self, variables: Mapping[str, Any]) -> bool:
        """True when the expression allows the object; EvaluationError when it fails or is not a bool."""
        try:
            value = self._runner.evaluate(dict(variables))
        except CELEvalError as error:
            raise EvaluationError(_describe(error)) from None
        except _LimitExceeded as error:
            raise EvaluationError(str(error)) from None
        except (CELSyntaxError, CELUnsupportedError, ArithmeticError, LookupError, TypeError, ValueError) as error:
            raise EvaluationError(str(error) or type(error).__name__) from None
        if not isinstance(value, celtypes.BoolType):
            raise EvaluationError(f"the expression returned {_type_name(value)}, not a bool (true means allowed)")
        return bool(value)


_ENVIRONMENT = celpy.Environment()


@functools.lru_cache(maxsize=COMPILED_CACHE_SIZE)
def compile_expression(source: str) -> Program:
    """The Program for `source`, parsed and checked once per text (errors are not cached); raise CompileError."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise CompileError(
            f"the expression is {len(source)} characters long; the limit is {MAX_EXPRESSION_LENGTH}: "
            "split it into several policies"
        )
    if not source.strip():
        raise CompileError("the expression is empty; write a CEL condition that is true when the object is allowed")
    try:
        tree = parse(source)
    except CELParseError as error:
        raise CompileError(_syntax_error(error)) from None
    depth = _depth(tree)
    if depth > MAX_NESTING:
        raise CompileError(
            f"the expression nests too deeply ({depth} parse-tree levels; the limit is {MAX_NESTING}): "
            "flatten parentheses or nested comprehensions"
        )
    checker = _Checker()
    kind = checker.check(tree, {OBJECT: DYN, CONTEXT: _CONTEXT})
    if not checker.issues and kind not in (BOOL, DYN):
        shown = "map" if kind == _CONTEXT else kind.kind
        checker.issues.append(f"the expression must evaluate to a bool (true means allowed), not {shown}")
    if checker.issues:
        raise CompileError("; ".join(checker.issues))
    return Program(source, tree)


def to_cel(value: Any) -> Any:
    """A JSON-like value (dates and decimals as JSON renders them) as CEL values."""
    return json_to_cel(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _depth(tree: lark.Tree) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))
    return deepest


def _syntax_error(error: CELParseError) -> str:
    where = f"syntax error at line {error.line or 1}, column {error.column or 1}"
    cause = error.__context__
    if isinstance(cause, UnexpectedToken):
        if cause.token.type == "$END":
            return f"{where}: the expression ends too early"
        return f"{where}: unexpected {str(cause.token)!r}"
    if isinstance(cause, UnexpectedCharacters):
        hint = " (an unterminated string?)" if cause.char in "'\"" else ""
        return f"{where}: unexpected character {cause.char!r}{hint}"
    return f"{where}: {str(error).splitlines()[0]}"


# `context` is a map whose fields are known: a kind of its own, so selecting a field can be checked.
_CONTEXT = Static("context")


class _Checker(Checker):
    """Walks the parse tree once: names, functions, macro forms, `context` fields, and the result's kind.

    On top of the shared walk: `context`'s declared fields (`object` stays dyn), the functions and methods a portable
    policy may call, and issues worded for policy authors (position, then what is declared).
    """

    def _issue(self, token: lark.Token, message: str, hint: str = "") -> Static:
        where = f"line {token.line or 1}, column {token.column or 1}"
        self.issues.append(f"{message} at {where} ({hint})" if hint else f"{message} at {where}")
        return DYN

    def _undeclared_variable(self, token: lark.Token, scope: Mapping[str, Static]) -> Static:
        return self._issue(token, f"undeclared reference to {str(token)!r}", f"declared: {', '.join(sorted(scope))}")

    def _dot_ident(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        return self._issue(leaf(tree), f"undeclared reference to '.{leaf(tree)}'")

    _dot_ident_arg = _dot_ident

    def _member_object(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        self.issues.append("message construction (`Name{field: value}`) is not available in policies")
        return DYN

    def _member_dot(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operand = self.check(tree.children[0], scope)
        name = leaf(tree, 1)
        if operand == _CONTEXT:
            if str(name) not in CONTEXT_FIELDS:
                fields = ", ".join(CONTEXT_FIELDS)
                return self._issue(name, f"undefined field {str(name)!r} of context", f"fields: {fields}")
            return Static("string")
        return DYN

    def _ident_arg(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        token = leaf(tree)
        arguments = _arguments(tree, 1)
        if str(token) == "has":
            field = _unwrap(arguments[0]) if len(arguments) == 1 else None
            if field is None or field.data != "member_dot":
                return self._issue(token, "has() takes one field selection, e.g. has(object.spec.backups)")
            self.check(field, scope)
            return BOOL
        if str(token) not in FUNCTIONS:
            return self._issue(token, f"unknown function {str(token)!r}", f"functions: has, {', '.join(FUNCTIONS)}")
        for argument in arguments:
            self.check(argument, scope)
        return Static(FUNCTIONS[str(token)])

    def _member_dot_arg(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operand = self.check(tree.children[0], scope)
        token = leaf(tree, 1)
        arguments = _arguments(tree, 2)
        name = str(token)
        if name in MACROS:
            variable = _unwrap(arguments[0]) if len(arguments) == 2 else None
            if variable is None or variable.data != "ident":
                return self._issue(
                    token, f"{name}() takes a variable name and an expression, e.g. object.spec.items.{name}(i, i.name)"
                )
            element = Static("string") if operand.kind in ("map", _CONTEXT.kind) else DYN
            self.check(arguments[1], {**scope, str(leaf(variable)): element})
            return Static(MACROS[name])
        if name not in METHODS:
            known = ", ".join(sorted((*METHODS, *MACROS)))
            return self._issue(token, f"unknown method {name!r}", f"methods: {known}")
        for argument in arguments:
            self.check(argument, scope)
        return Static(METHODS[name])


def _arguments(tree: lark.Tree, index: int) -> list[lark.Tree]:
    """The expressions of the call's argument list (an `exprlist` child), if it has one."""
    if len(tree.children) <= index or not isinstance(tree.children[index], lark.Tree):
        return []
    return [child for child in tree.children[index].children if isinstance(child, lark.Tree)]  # type: ignore[union-attr]


def _unwrap(tree: lark.Tree) -> lark.Tree:
    """The node under a chain of single-child wrappers (expr -> conditionalor -> ... -> primary -> ident)."""
    while len(tree.children) == 1 and isinstance(tree.children[0], lark.Tree):
        tree = tree.children[0]
    return tree


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, CELEvalError):
        return "an error"
    return type(value).__name__.removesuffix("Type").lower()


_OPERATORS = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_OVERLOAD = re.compile(r"no matching overload for Token\('RULE', '(\w+)'\) applied to '\((.*)\)'")
_CEL_TYPE = re.compile(r"celpy\.celtypes\.(\w+?)Type\b|<class '(\w+)'>")


def _describe(error: CELEvalError) -> str:
    """cel-python's error in cel-go's words (`no such key: x`, `no such overload: string < int`)."""
    known = describe(error)
    if known is not None:
        return known
    text = message(error)
    details = error.args[2] if len(error.args) > 2 and error.args[2] else ()
    overload = _OVERLOAD.search(text)
    if overload:
        operands = [(found[0] or found[1]).lower() for found in _CEL_TYPE.findall(overload.group(2))]
        operator = _OPERATORS.get(overload.group(1), overload.group(1))
        return f"no such overload: {f' {operator} '.join(operands)}" if len(operands) == 2 else "no such overload"
    if "does not support field selection" in text:
        return f"cannot select a field of a value of type {_type_name_in(text)}"
    if text == "match error" and details:
        detail = details[0].decode() if isinstance(details[0], bytes) else str(details[0])
        return f"invalid regular expression: {detail}"
    return text.split(" (in activation")[0]


def _type_name_in(message: str) -> str:
    found = _CEL_TYPE.search(message)
    return (found.group(1) or found.group(2)).lower() if found else "value"
