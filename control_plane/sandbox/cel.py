"""CRD `x-kubernetes-validations` rules: compiled, checked and evaluated the way kube-apiserver runs them.

A rule is parsed once per text (cel-python's parser is slow) and checked against the schema node carrying it, as
cel-go's type checker would at CRD creation: unknown functions, macros and variables, fields the schema does not
declare (`undefined field 'x'`) and a result that cannot be a bool are compile errors, worded like cel-go's issues.
Values are converted as apiserver's `UnstructuredToVal` does: object properties under their escaped names
(`__namespace__`, `__dash__`), null fields of objects absent, `number` as double, int-or-string as int or string,
`date`/`date-time` as timestamps, `duration` and `byte` formats, resource roots (and embedded resources) exposing
only apiVersion, kind, metadata.name and metadata.generateName, set and map lists equal regardless of order.

Evaluation is cel-python's interpreter plus the Kubernetes library functions Crossplane CRDs and XRD authors use:
lowerAscii, upperAscii, trim, replace, split, join, substring, indexOf, isSorted, sum, min, max, and
hasValue/value/orValue for `optionalOldSelf`.

Not done: cost estimation and budgets; the optional syntax (`self.?x`, `optional.of`); the url, quantity, ip, cidr,
semver, format and regex (`find`) libraries and the rarer string functions (charAt, lastIndexOf, reverse);
two-variable comprehensions and the three-argument `map`; type checking of operator and function arguments (such
mistakes surface at evaluation, as upstream's do for int-or-string values); `+` merging of set and map lists;
cel-go's exact wording of syntax errors.

Sources: apiextensions-apiserver `pkg/apiserver/schema/cel` (compilation.go, validation.go), apiserver
`pkg/cel/common` (schemas.go, values.go) and `pkg/cel/escaping.go`, cel-go `common/errors.go`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELUnsupportedError
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

SELF = "self"
OLD_SELF = "oldSelf"
DEFAULT_REASON = "FieldValueInvalid"
REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
_MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


class SchemaNode(Protocol):
    """What CEL needs of a compiled schema node (schema.py's `_Node`), hashed by identity."""

    def __hash__(self) -> int: ...

    @property
    def types(self) -> tuple[str, ...]: ...
    @property
    def format(self) -> str: ...
    @property
    def properties(self) -> Mapping[str, SchemaNode]: ...
    @property
    def additional(self) -> SchemaNode | None: ...
    @property
    def items(self) -> SchemaNode | None: ...
    @property
    def preserve(self) -> bool: ...
    @property
    def embedded(self) -> bool: ...
    @property
    def list_type(self) -> str | None: ...
    @property
    def map_keys(self) -> tuple[str, ...]: ...


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


# --- rules ----------------------------------------------------------------------------------------------------------


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


# --- compilation ----------------------------------------------------------------------------------------------------

_ENVIRONMENT = celpy.Environment()
_PARSE_LOCK = threading.Lock()


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
        with _PARSE_LOCK:
            tree = _ENVIRONMENT.compile(source)
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


def _display(source: str, line: int, column: int, message: str) -> str:
    """cel-go's Error.ToDisplayString: position, then the source line and a caret under the column (1-based)."""
    text = f"ERROR: <input>:{line}:{column}: {message}"
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        snippet = lines[line - 1].replace("\t", " ")
        text += f"\n | {snippet}\n | {'.' * min(column - 1, len(snippet))}^"
    return text


@dataclass(frozen=True)
class _Static:
    """What the checker knows of an expression: its CEL kind ('dyn' when unknown) and, for data, its schema."""

    kind: str
    node: SchemaNode | None = None
    resource_root: bool = False


_DYN = _Static("dyn")
_BOOL = _Static("bool")
_SCALAR_KINDS = {"boolean": "bool", "integer": "int", "number": "double"}
_STRING_FORMAT_KINDS = {"byte": "bytes", "duration": "duration", "date": "timestamp", "date-time": "timestamp"}
_TYPE_NAMES = frozenset(("bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"))
_PASS_THROUGH = frozenset(
    ("expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member", "primary")
)
_LITERAL_KINDS = {
    "INT_LIT": "int",
    "UINT_LIT": "uint",
    "FLOAT_LIT": "double",
    "STRING_LIT": "string",
    "MLSTRING_LIT": "string",
    "BYTES_LIT": "bytes",
    "BOOL_LIT": "bool",
    "NULL_LIT": "null",
}
_MACROS = {"all": "bool", "exists": "bool", "exists_one": "bool", "filter": "list", "map": "list"}
_GLOBAL_FUNCTIONS = {
    "bool": "bool",
    "bytes": "bytes",
    "double": "double",
    "duration": "duration",
    "int": "int",
    "matches": "bool",
    "size": "int",
    "string": "string",
    "timestamp": "timestamp",
    "type": "type",
    "uint": "uint",
}
_METHODS = {
    "contains": "bool",
    "endsWith": "bool",
    "hasValue": "bool",
    "indexOf": "int",
    "isSorted": "bool",
    "join": "string",
    "lowerAscii": "string",
    "matches": "bool",
    "max": "dyn",
    "min": "dyn",
    "orValue": "dyn",
    "replace": "string",
    "size": "int",
    "split": "list",
    "startsWith": "bool",
    "substring": "string",
    "sum": "dyn",
    "trim": "string",
    "upperAscii": "string",
    "value": "dyn",
    **dict.fromkeys(
        (
            "getDate getDayOfMonth getDayOfWeek getDayOfYear getFullYear getHours getMilliseconds getMinutes "
            "getMonth getSeconds"
        ).split(),
        "int",
    ),
}


def _static(node: SchemaNode, resource_root: bool) -> _Static | None:
    """SchemaDeclType: the CEL kind of a schema node, or None when CEL cannot see it."""
    if len(node.types) == 2:  # x-kubernetes-int-or-string
        return _DYN
    kind = node.types[0] if node.types else ""
    if kind == "object":
        if node.additional is not None and not node.properties:
            return _Static("map", node) if _static(node.additional, node.additional.embedded) else None
        return _Static("map", node, resource_root or node.embedded)
    if kind == "array":
        items = node.items
        return _Static("list", node) if items is not None and _static(items, items.embedded) else None
    if kind == "string":
        return _Static(_STRING_FORMAT_KINDS.get(node.format, "string"))
    if kind in _SCALAR_KINDS:
        return _Static(_SCALAR_KINDS[kind])
    return None


def _element(static: _Static) -> _Static:
    """The static of `list[i]` or `map[key]` (and of a comprehension's variable over a list)."""
    node = static.node
    if node is None:
        return _DYN
    child = node.items if static.kind == "list" else node.additional if not node.properties else None
    return (_static(child, child.embedded) or _DYN) if child is not None else _DYN


class _Checker:
    """cel-go's checker, as far as a dynamically typed interpreter needs: names, fields and the result kind."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[str] = []
        self.uses_old_self = False

    def check(self, tree: lark.Tree | lark.Token, scope: dict[str, _Static]) -> _Static:
        if isinstance(tree, lark.Token):
            return _DYN
        handler: Callable[[lark.Tree, dict[str, _Static]], _Static] = getattr(self, f"_{tree.data}", self._other)
        return handler(tree, scope)

    def _other(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        for child in tree.children:
            if isinstance(child, lark.Tree):
                self.check(child, scope)
        return _DYN

    def _issue(self, line: int, column: int, message: str) -> None:
        self.issues.append(_display(self.source, line, column, message))

    def _undeclared(self, token: lark.Token, column: int | None = None) -> _Static:
        self._issue(
            token.line or 1, column or token.column or 1, f"undeclared reference to '{token}' (in container '')"
        )
        return _DYN

    def _operands(self, tree: lark.Tree, scope: dict[str, _Static]) -> tuple[_Static, _Static] | None:
        """The two sides of a binary node (`a || b`, `a < b`, `a + b`), None for a single pass-through child."""
        if len(tree.children) == 1:
            return None
        left_tree, right_tree = _tree(tree, 0), _tree(tree, 1)
        if left_tree.data.startswith(tree.data + "_"):  # relation_lt, addition_add, ...: the operator wraps the left
            left_tree = _tree(left_tree, 0)
        return self.check(left_tree, scope), self.check(right_tree, scope)

    def _expr(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        if len(tree.children) == 1:
            return self.check(tree.children[0], scope)
        condition, yes, no = tree.children
        self.check(condition, scope)
        return _same(self.check(yes, scope), self.check(no, scope))

    def _logical(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        operands = self._operands(tree, scope)
        return self.check(tree.children[0], scope) if operands is None else _BOOL

    _conditionalor = _conditionaland = _relation = _logical

    def _arithmetic(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        operands = self._operands(tree, scope)
        return self.check(tree.children[0], scope) if operands is None else _same(*operands)

    _addition = _multiplication = _arithmetic

    def _unary(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        if len(tree.children) == 1:
            return self.check(tree.children[0], scope)
        found = self.check(tree.children[1], scope)
        return _BOOL if _tree(tree, 0).data == "unary_not" else _Static(found.kind)

    def _single(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        return self.check(tree.children[0], scope)

    _member = _primary = _paren_expr = _single

    def _literal(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        return _Static(_LITERAL_KINDS.get(_leaf(tree).type or "", "dyn"))

    def _list_lit(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        self._other(tree, scope)
        return _Static("list")

    def _map_lit(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        self._other(tree, scope)
        return _Static("map")

    def _ident(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        token = _leaf(tree)
        name = str(token)
        if name in scope:
            self.uses_old_self = self.uses_old_self or name == OLD_SELF
            return scope[name]
        if name in _TYPE_NAMES:
            return _Static("type")
        return self._undeclared(token)

    def _dot_ident(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        self._other(tree, scope)
        return self._undeclared(_leaf(tree))

    _dot_ident_arg = _dot_ident

    def _member_object(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        target = _unwrap(_tree(tree, 0))
        if target.data == "ident":
            return self._undeclared(_leaf(target))
        return self._other(tree, scope)

    def _member_dot(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        operand = self.check(tree.children[0], scope)
        name = _leaf(tree, 1)
        node = operand.node
        if operand.kind != "map" or node is None:
            return _DYN
        if node.additional is not None and not node.properties:
            return _element(operand)
        child = _fields(node, operand.resource_root).get(str(name))
        if child is None:
            self._issue(name.line or 1, max((name.column or 2) - 1, 1), f"undefined field '{name}'")
            return _DYN
        return _static(child, child.embedded) or _DYN

    def _member_index(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        operand = self.check(tree.children[0], scope)
        self.check(tree.children[1], scope)
        return _element(operand) if operand.kind in ("list", "map") else _DYN

    def _ident_arg(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        token = _leaf(tree)
        arguments = _tree(tree, 1).children if len(tree.children) > 1 else []
        name = str(token)
        self._other(tree, scope)
        if name == "has":
            argument = arguments[0] if len(arguments) == 1 else None
            if not isinstance(argument, lark.Tree) or _unwrap(argument).data != "member_dot":
                self._issue(token.line or 1, token.end_column or 1, "invalid argument to has() macro")
            return _BOOL
        if name == "dyn":
            return _DYN
        if name not in _GLOBAL_FUNCTIONS:
            return self._undeclared(token, token.end_column)
        return _Static(_GLOBAL_FUNCTIONS[name])

    def _member_dot_arg(self, tree: lark.Tree, scope: dict[str, _Static]) -> _Static:
        operand = self.check(tree.children[0], scope)
        token = _leaf(tree, 1)
        arguments = _tree(tree, 2).children if len(tree.children) > 2 else []
        name = str(token)
        if name in _MACROS:
            return self._macro(name, token, operand, arguments, scope)
        for argument in arguments:
            self.check(argument, scope)
        if name not in _METHODS:
            return self._undeclared(token, token.end_column)
        return _Static(_METHODS[name])

    def _macro(
        self,
        name: str,
        token: lark.Token,
        operand: _Static,
        arguments: list[lark.Tree | lark.Token],
        scope: dict[str, _Static],
    ) -> _Static:
        """all/exists/exists_one/map/filter: a simple variable name, then the predicate or transform over it."""
        if len(arguments) != 2:
            self._issue(token.line or 1, token.end_column or 1, f"unsupported {name}() macro form")
            return _Static(_MACROS[name])
        variable = _unwrap(arguments[0]) if isinstance(arguments[0], lark.Tree) else None
        if variable is None or variable.data != "ident":
            self._issue(token.line or 1, token.end_column or 1, "argument must be a simple name")
            return _Static(_MACROS[name])
        element = _element(operand) if operand.kind == "list" else _Static("string") if operand.kind == "map" else _DYN
        self.check(arguments[1], {**scope, str(_leaf(variable)): element})
        return _Static(_MACROS[name])


def _tree(tree: lark.Tree, index: int) -> lark.Tree:
    return cast(lark.Tree, tree.children[index])


def _leaf(tree: lark.Tree, index: int = 0) -> lark.Token:
    return cast(lark.Token, tree.children[index])


def _unwrap(tree: lark.Tree) -> lark.Tree:
    """The innermost node under a chain of single-child pass-through nodes (expr -> ... -> member_dot)."""
    while tree.data in _PASS_THROUGH and len(tree.children) == 1 and isinstance(tree.children[0], lark.Tree):
        tree = _tree(tree, 0)
    return tree


def _same(left: _Static, right: _Static) -> _Static:
    return _Static(left.kind) if left.kind == right.kind else _DYN


# --- names and field paths ------------------------------------------------------------------------------------------

_RESERVED = frozenset(
    """
    true false null in as break const continue else for function if import let loop package namespace return var void
    while
    """.split()
)
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_IDENTIFIER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")


@functools.lru_cache(maxsize=8192)
def escape(name: str) -> str | None:
    """apiserver's cel.Escape: the CEL name of a property, or None when CEL cannot name it."""
    if not name or name[0].isdigit() or not set(name) <= _IDENTIFIER_CHARACTERS:
        return None
    if name in _RESERVED:
        return f"__{name}__"
    out: list[str] = []
    index = 0
    while index < len(name):
        if name.startswith("__", index):
            out.append(_ESCAPES["__"])
            index += 2
        else:
            out.append(_ESCAPES.get(name[index], name[index]))
            index += 1
    return "".join(out)


@dataclass(frozen=True, eq=False)
class _FixedNode:
    """A schema node the server adds: the type and object meta every resource root exposes to CEL."""

    types: tuple[str, ...]
    properties: Mapping[str, SchemaNode] = field(default_factory=dict)
    format: str = ""
    additional: SchemaNode | None = None
    items: SchemaNode | None = None
    preserve: bool = False
    embedded: bool = False
    list_type: str | None = None
    map_keys: tuple[str, ...] = ()


_STRING_NODE = _FixedNode(("string",))
_OBJECT_META = _FixedNode(("object",), {"name": _STRING_NODE, "generateName": _STRING_NODE})
_TYPE_AND_OBJECT_META: dict[str, SchemaNode] = {
    "apiVersion": _STRING_NODE,
    "kind": _STRING_NODE,
    "metadata": _OBJECT_META,
}


@functools.lru_cache(maxsize=4096)
def _fields(node: SchemaNode, resource_root: bool) -> dict[str, SchemaNode]:
    """An object's CEL fields by escaped name (WithTypeAndObjectMeta at resource roots); do not mutate."""
    declared: Mapping[str, SchemaNode] = node.properties
    if resource_root:
        declared = {**declared, **_TYPE_AND_OBJECT_META}
    fields: dict[str, SchemaNode] = {}
    for name, child in declared.items():
        escaped = escape(name)
        if escaped is not None and _static(child, child.embedded) is not None:
            fields[escaped] = child
    return fields


def field_path(json_path: str, node: SchemaNode) -> str | None:
    """ValidFieldPath: a rule's `fieldPath` (`.a.b`, `.m['k.x']`) as a field.Path string, or None if it is invalid."""
    tokens = _path_tokens(json_path)
    rendered = ""
    index = 0
    current = node
    while index < len(tokens):
        part = tokens[index]
        if part == "[":
            if index + 2 >= len(tokens) or tokens[index + 2] != "]":
                return None
            name = _unquote(tokens[index + 1])
            index += 3
        elif part == "." and index + 1 < len(tokens):
            name = tokens[index + 1]
            index += 2
        else:
            return None
        if name is None:
            return None
        if current.properties:
            child = current.properties.get(name)
            if child is None:
                return None
            rendered += f".{name}" if rendered else name
            current = child
        elif current.additional is not None:
            rendered += f"[{name}]"
            current = current.additional
        else:
            return None
    return rendered


def _path_tokens(text: str) -> list[str]:
    """The JSON path split into '.', '[', ']', single-quoted strings and names, as upstream's scanner does."""
    tokens: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        end = index + 1
        if char == "'":
            while end < len(text) and not (text[end] == "'" and text[end - 1] != "\\"):
                end += 1
            end = min(end + 1, len(text))
        elif char not in ".[]":
            while end < len(text) and text[end] not in ".[]":
                end += 1
        tokens.append(text[index:end])
        index = end
    return tokens


_QUOTE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "'": "'", "\\": "\\"}


def _unquote(token: str) -> str | None:
    if len(token) < 2 or token[0] != "'" or token[-1] != "'":
        return None
    out: list[str] = []
    body = token[1:-1]
    index = 0
    while index < len(body):
        if body[index] == "\\":
            escaped = _QUOTE_ESCAPES.get(body[index + 1 : index + 2])
            if escaped is None:
                return None
            out.append(escaped)
            index += 2
        else:
            out.append(body[index])
            index += 1
    return "".join(out)


# --- values ---------------------------------------------------------------------------------------------------------


def to_value(value: Any, node: SchemaNode, resource_root: bool = False) -> Any:
    """UnstructuredToVal: a decoded JSON value as the CEL value its schema node declares."""
    if value is None:
        return None
    types = node.types
    if len(types) == 2:  # x-kubernetes-int-or-string
        return celtypes.StringType(value) if isinstance(value, str) else celtypes.IntType(value)
    kind = types[0] if types else ""
    if kind == "object" and isinstance(value, dict):
        return _object(value, node, resource_root or node.embedded)
    if kind == "array" and isinstance(value, list):
        return _list(value, node)
    if kind == "string" and isinstance(value, str):
        return _string(value, node.format)
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return celtypes.IntType(int(value))
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return celtypes.DoubleType(float(value))
    if kind == "boolean" and isinstance(value, bool):
        return celtypes.BoolType(value)
    if not kind and node.preserve:
        return _Opaque(value)
    return CELEvalError(f"invalid data, expected {kind or 'a typed value'}, got {type(value).__name__}")


def _object(value: dict[str, Any], node: SchemaNode, resource_root: bool) -> celtypes.MapType:
    additional = node.additional
    if additional is not None and not node.properties:
        return celtypes.MapType({celtypes.StringType(key): to_value(item, additional) for key, item in value.items()})
    fields = _fields(node, resource_root) if node.properties or resource_root else {}
    visible: dict[Any, Any] = {}
    hidden: dict[str, Any] = {}
    for key, item in value.items():
        escaped = escape(key) or ""
        child = fields.get(escaped)
        if child is None or item is None:
            hidden[key] = item  # unknown or null: not a field CEL sees, but part of equality
        else:
            visible[celtypes.StringType(escaped)] = to_value(item, child, child.embedded)
    return _Object(visible, hidden)


def _list(value: list[Any], node: SchemaNode) -> celtypes.ListType:
    items = node.items
    converted: list[Any] = [
        to_value(item, items, items.embedded) if items is not None else _Opaque(item) for item in value
    ]
    if node.list_type == "set":
        return _SetList(converted)
    if node.list_type == "map":
        return _MapList(converted, tuple(escape(key) or key for key in node.map_keys))
    return celtypes.ListType(converted)


def _string(value: str, schema_format: str) -> Any:
    try:
        if schema_format in ("date", "date-time"):
            return celtypes.TimestampType(value)
        if schema_format == "duration":
            return celtypes.DurationType(value)
        if schema_format == "byte":
            return celtypes.BytesType(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as error:
        return CELEvalError(f"Invalid {schema_format} formatted string {value}: {error}")
    return celtypes.StringType(value)


def _same_json(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


class _Object(celtypes.MapType):
    """An object's visible fields; the unknown and null ones still count for equality, as upstream's DeepEqual."""

    def __init__(self, visible: dict[Any, Any], hidden: dict[str, Any]) -> None:
        super().__init__(visible)
        self.hidden = hidden

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, _Object) and not _same_json(self.hidden, other.hidden):
            return False
        return super().__eq__(other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _SetList(celtypes.ListType):
    """x-kubernetes-list-type: set; equality ignores order."""

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, list):
            return super().__eq__(other)
        return len(self) == len(other) and all(item in self for item in other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _MapList(celtypes.ListType):
    """x-kubernetes-list-type: map; equality matches items by their map keys, ignoring order."""

    def __init__(self, items: list[Any], keys: tuple[str, ...]) -> None:
        super().__init__(items)
        self.keys = keys

    def key(self, item: Any) -> tuple[Any, ...]:
        return tuple(item.get(key) for key in self.keys) if isinstance(item, dict) else (item,)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, list):
            return super().__eq__(other)
        if len(self) != len(other):
            return False
        mine = {self.key(item): item for item in self}
        return all(self.key(item) in mine and mine[self.key(item)] == item for item in other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)


class _Opaque:
    """Data the schema leaves untyped (x-kubernetes-preserve-unknown-fields): only equality is defined."""

    __slots__ = ("raw",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Opaque) and _same_json(self.raw, other.raw)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


class _Optional:
    """`oldSelf` under optionalOldSelf: optional.of(old) on update, optional.none() on create."""

    __slots__ = ("present", "value")

    def __init__(self, value: Any, *, present: bool) -> None:
        self.value = value
        self.present = present


def _describe(error: CELEvalError) -> str:
    """cel-python's error as cel-go words it (`no such key: x`, `index out of bounds`, `no such overload`)."""
    message = str(error.args[0]) if error.args else "evaluation error"
    cause = error.args[1] if len(error.args) > 1 else None
    details = error.args[2] if len(error.args) > 2 else None
    if message.startswith("no such member in mapping: "):
        return "no such key: " + message.removeprefix("no such member in mapping: ").strip("'")
    if message == "no such key" and details:
        return f"no such key: {details[0]}"
    if cause is IndexError:
        return "index out of bounds"
    if "overload" in message:
        return "no such overload"
    if cause is ZeroDivisionError:
        return "division by zero"
    if message == "return error for overflow":  # any ValueError a function raised
        return "integer overflow" if not details or str(details[0]) == "overflow" else str(details[0])
    return message


# --- the Kubernetes library functions -------------------------------------------------------------------------------

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _string_argument(*values: Any) -> None:
    if not all(isinstance(value, str) for value in values):
        raise TypeError("no such overload")


def _lower_ascii(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.translate(_ASCII_LOWER))


def _upper_ascii(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.translate(_ASCII_UPPER))


def _trim(text: Any) -> celtypes.StringType:
    _string_argument(text)
    return celtypes.StringType(text.strip())


def _replace(text: Any, old: Any, new: Any, limit: Any = -1) -> celtypes.StringType:
    _string_argument(text, old, new)
    return celtypes.StringType(text.replace(old, new, int(limit)))


def _split(text: Any, separator: Any, limit: Any = -1) -> celtypes.ListType:
    _string_argument(text, separator)
    limit = int(limit)
    if limit == 0:
        return celtypes.ListType()
    if separator == "":
        parts = list(text) if limit < 0 else [*text[: limit - 1], text[limit - 1 :]] if text else []
    else:
        parts = text.split(separator, limit - 1 if limit > 0 else -1)
    return celtypes.ListType(celtypes.StringType(part) for part in parts)


def _join(items: Any, separator: Any = "") -> celtypes.StringType:
    _string_argument(*items, separator)
    return celtypes.StringType(separator.join(items))


def _substring(text: Any, start: Any, end: Any = None) -> celtypes.StringType:
    _string_argument(text)
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError(f"index out of range: {int(start) if not 0 <= int(start) <= len(text) else stop}")
    return celtypes.StringType(text[int(start) : stop])


def _index_of(haystack: Any, needle: Any, offset: Any = 0) -> celtypes.IntType:
    if isinstance(haystack, str):
        _string_argument(needle)
        if not 0 <= int(offset) <= len(haystack):
            raise ValueError(f"index out of range: {int(offset)}")
        return celtypes.IntType(haystack.find(needle, int(offset)))
    return celtypes.IntType(next((index for index, item in enumerate(haystack) if item == needle), -1))


def _is_sorted(items: Any) -> celtypes.BoolType:
    return celtypes.BoolType(all(left <= right for left, right in itertools.pairwise(items)))


def _sum(items: Any) -> Any:
    if not items:
        return celtypes.IntType(0)
    return functools.reduce(lambda total, item: total + item, items)


def _max(items: Any) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    return functools.reduce(lambda best, item: item if item > best else best, items)


def _optional(value: Any) -> _Optional:
    if not isinstance(value, _Optional):
        raise TypeError("no such overload")
    return value


def _has_value(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_optional(value).present)


def _optional_value(value: Any) -> Any:
    optional = _optional(value)
    if not optional.present:
        raise ValueError("optional.none() dereference")
    return optional.value


def _or_value(value: Any, default: Any) -> Any:
    optional = _optional(value)
    return optional.value if optional.present else default


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "hasValue": _has_value,
    "indexOf": _index_of,
    "isSorted": _is_sorted,
    "join": _join,
    "lowerAscii": _lower_ascii,
    "max": _max,
    "orValue": _or_value,
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "sum": _sum,
    "trim": _trim,
    "upperAscii": _upper_ascii,
    "value": _optional_value,
}
