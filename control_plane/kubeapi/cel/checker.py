"""A static check of a parsed expression against its schema node, as cel-go's checker does at CRD creation.

Finds undeclared names, unknown functions and macros, fields the schema does not declare and the result kind,
and words the issues as cel-go does (`_display`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import lark

from control_plane.kubeapi.cel.declarations import _BOOL, _DYN, OLD_SELF, _element, _fields, _Static, _static


def _display(source: str, line: int, column: int, message: str) -> str:
    """cel-go's Error.ToDisplayString: position, then the source line and a caret under the column (1-based)."""
    text = f"ERROR: <input>:{line}:{column}: {message}"
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        snippet = lines[line - 1].replace("\t", " ")
        text += f"\n | {snippet}\n | {'.' * min(column - 1, len(snippet))}^"
    return text


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
