"""A static check of a parsed expression against its schema node, as cel-go's checker does at CRD creation.

Finds undeclared names, unknown functions and macros, fields the schema does not declare and the result kind,
and words the issues as cel-go does (`_display`). The walk over operators, literals and variables is the one
governance's policy checker shares (`devplat.core.cel`); this module adds the schema and the Kubernetes library.
"""

from __future__ import annotations

from collections.abc import Mapping

import lark

from control_plane.kubeapi.cel.declarations import _BOOL, _DYN, OLD_SELF, _element, _fields, _Static, _static
from devplat.core.cel import FUNCTIONS, MACROS, METHODS, Checker, Static, leaf, subtree


def _display(source: str, line: int, column: int, message: str) -> str:
    """cel-go's Error.ToDisplayString: position, then the source line and a caret under the column (1-based)."""
    text = f"ERROR: <input>:{line}:{column}: {message}"
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        snippet = lines[line - 1].replace("\t", " ")
        text += f"\n | {snippet}\n | {'.' * min(column - 1, len(snippet))}^"
    return text


_PASS_THROUGH = frozenset(
    ("expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member", "primary")
)
# The Kubernetes library (`library`) and optionalOldSelf's hasValue/value/orValue, on top of standard CEL's.
_METHODS = {
    **METHODS,
    "hasValue": "bool",
    "indexOf": "int",
    "isSorted": "bool",
    "join": "string",
    "lowerAscii": "string",
    "max": "dyn",
    "min": "dyn",
    "orValue": "dyn",
    "replace": "string",
    "split": "list",
    "substring": "string",
    "sum": "dyn",
    "trim": "string",
    "upperAscii": "string",
    "value": "dyn",
}


class _Checker(Checker):
    """cel-go's checker, as far as a dynamically typed interpreter needs: names, fields and the result kind.

    On top of the shared walk: schema-declared fields and element kinds (`_Static`), `oldSelf` use, the Kubernetes
    functions, and cel-go's wording of each issue with its source line (`_display`).
    """

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.uses_old_self = False

    def _issue(self, line: int, column: int, message: str) -> None:
        self.issues.append(_display(self.source, line, column, message))

    def _undeclared(self, token: lark.Token, column: int | None = None) -> Static:
        self._issue(
            token.line or 1, column or token.column or 1, f"undeclared reference to '{token}' (in container '')"
        )
        return _DYN

    def _undeclared_variable(self, token: lark.Token, scope: Mapping[str, Static]) -> Static:
        return self._undeclared(token)

    def _element(self, container: Static) -> Static:
        return _element(container) if container.kind in ("list", "map") else _DYN

    def _ident(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        self.uses_old_self = self.uses_old_self or (str(leaf(tree)) == OLD_SELF and OLD_SELF in scope)
        return super()._ident(tree, scope)

    def _dot_ident(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        self._other(tree, scope)
        return self._undeclared(leaf(tree))

    _dot_ident_arg = _dot_ident

    def _member_object(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        target = _unwrap(subtree(tree, 0))
        if target.data == "ident":
            return self._undeclared(leaf(target))
        return self._other(tree, scope)

    def _member_dot(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operand = self.check(tree.children[0], scope)
        name = leaf(tree, 1)
        if not isinstance(operand, _Static) or operand.kind != "map" or operand.node is None:
            return _DYN
        node = operand.node
        if node.additional is not None and not node.properties:
            return _element(operand)
        child = _fields(node, operand.resource_root).get(str(name))
        if child is None:
            self._issue(name.line or 1, max((name.column or 2) - 1, 1), f"undefined field '{name}'")
            return _DYN
        return _static(child, child.embedded) or _DYN

    def _ident_arg(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        token = leaf(tree)
        arguments = subtree(tree, 1).children if len(tree.children) > 1 else []
        name = str(token)
        self._other(tree, scope)
        if name == "has":
            argument = arguments[0] if len(arguments) == 1 else None
            if not isinstance(argument, lark.Tree) or _unwrap(argument).data != "member_dot":
                self._issue(token.line or 1, token.end_column or 1, "invalid argument to has() macro")
            return _BOOL
        if name not in FUNCTIONS:
            return self._undeclared(token, token.end_column)
        return Static(FUNCTIONS[name])

    def _member_dot_arg(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operand = self.check(tree.children[0], scope)
        token = leaf(tree, 1)
        arguments = subtree(tree, 2).children if len(tree.children) > 2 else []
        name = str(token)
        if name in MACROS:
            return self._macro(name, token, operand, arguments, scope)
        for argument in arguments:
            self.check(argument, scope)
        if name not in _METHODS:
            return self._undeclared(token, token.end_column)
        return Static(_METHODS[name])

    def _macro(
        self,
        name: str,
        token: lark.Token,
        operand: Static,
        arguments: list[lark.Tree | lark.Token],
        scope: Mapping[str, Static],
    ) -> Static:
        """all/exists/exists_one/map/filter: a simple variable name, then the predicate or transform over it."""
        if len(arguments) != 2:
            self._issue(token.line or 1, token.end_column or 1, f"unsupported {name}() macro form")
            return Static(MACROS[name])
        variable = _unwrap(arguments[0]) if isinstance(arguments[0], lark.Tree) else None
        if variable is None or variable.data != "ident":
            self._issue(token.line or 1, token.end_column or 1, "argument must be a simple name")
            return Static(MACROS[name])
        element = _element(operand) if operand.kind == "list" else Static("string") if operand.kind == "map" else _DYN
        self.check(arguments[1], {**scope, str(leaf(variable)): element})
        return Static(MACROS[name])


def _unwrap(tree: lark.Tree) -> lark.Tree:
    """The innermost node under a chain of single-child pass-through nodes (expr -> ... -> member_dot)."""
    while tree.data in _PASS_THROUGH and len(tree.children) == 1 and isinstance(tree.children[0], lark.Tree):
        tree = subtree(tree, 0)
    return tree
