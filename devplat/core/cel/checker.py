"""The static check's walk over cel-python's parse tree: the nodes whose meaning does not depend on the dialect.

cel-go refuses an expression at compile time for undeclared names, unknown functions and a result of the wrong
type; cel-python only finds out at evaluation. `Checker` walks the lark tree once and gives each node a `Static`
(its CEL kind, 'dyn' when unknown); subclasses supply the nodes where the dialects differ (see the package
docstring) and collect their issues, worded their own way, in `issues`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import lark


@dataclass(frozen=True)
class Static:
    """What the check knows of an expression: its CEL kind, 'dyn' when unknown. Subclasses carry more (a schema)."""

    kind: str


DYN = Static("dyn")
BOOL = Static("bool")

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
_TYPE_NAMES = frozenset(("bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"))

# Standard CEL as both dialects declare it, each name with the kind it yields; a dialect adds its own.
MACROS = {"all": "bool", "exists": "bool", "exists_one": "bool", "filter": "list", "map": "list"}
FUNCTIONS = {
    "bool": "bool",
    "bytes": "bytes",
    "double": "double",
    "duration": "duration",
    "dyn": "dyn",
    "int": "int",
    "matches": "bool",
    "size": "int",
    "string": "string",
    "timestamp": "timestamp",
    "type": "type",
    "uint": "uint",
}
METHODS = {
    "contains": "bool",
    "endsWith": "bool",
    "matches": "bool",
    "size": "int",
    "startsWith": "bool",
    **dict.fromkeys(
        (
            "getDate getDayOfMonth getDayOfWeek getDayOfYear getFullYear getHours getMilliseconds getMinutes "
            "getMonth getSeconds"
        ).split(),
        "int",
    ),
}


class Checker:
    """The dialect-independent handlers, one per lark rule (`_<rule>`); a rule without one is walked for its issues
    and is dyn. Subclasses implement `_undeclared_variable` and the handlers of field selection, calls and macros."""

    def __init__(self) -> None:
        self.issues: list[str] = []

    def check(self, tree: lark.Tree | lark.Token, scope: Mapping[str, Static]) -> Static:
        """The kind of `tree` with `scope`'s variables declared; issues found on the way go to `issues`."""
        if isinstance(tree, lark.Token):
            return DYN
        handler: Callable[[lark.Tree, Mapping[str, Static]], Static] = getattr(self, f"_{tree.data}", self._other)
        return handler(tree, scope)

    def _undeclared_variable(self, token: lark.Token, scope: Mapping[str, Static]) -> Static:
        """Report a name that is neither a variable in `scope` nor a type; the result is dyn."""
        raise NotImplementedError

    def _element(self, container: Static) -> Static:
        """What `container[index]` yields: dyn, unless the dialect knows the element kinds."""
        return DYN

    def _other(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        for child in tree.children:
            if isinstance(child, lark.Tree):
                self.check(child, scope)
        return DYN

    def _operands(self, tree: lark.Tree, scope: Mapping[str, Static]) -> tuple[Static, Static] | None:
        """The two sides of a binary node (`a || b`, `a < b`, `a + b`), None for a single pass-through child."""
        if len(tree.children) == 1:
            return None
        left_tree, right_tree = subtree(tree, 0), subtree(tree, 1)
        if left_tree.data.startswith(tree.data + "_"):  # relation_lt, addition_add, ...: the operator wraps the left
            left_tree = subtree(left_tree, 0)
        return self.check(left_tree, scope), self.check(right_tree, scope)

    def _expr(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        if len(tree.children) == 1:
            return self.check(tree.children[0], scope)
        condition, yes, no = tree.children
        self.check(condition, scope)
        return _same(self.check(yes, scope), self.check(no, scope))

    def _logical(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operands = self._operands(tree, scope)
        return self.check(tree.children[0], scope) if operands is None else BOOL

    _conditionalor = _conditionaland = _relation = _logical

    def _arithmetic(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        operands = self._operands(tree, scope)
        return self.check(tree.children[0], scope) if operands is None else _same(*operands)

    _addition = _multiplication = _arithmetic

    def _unary(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        if len(tree.children) == 1:
            return self.check(tree.children[0], scope)
        found = self.check(tree.children[1], scope)
        return BOOL if subtree(tree, 0).data == "unary_not" else Static(found.kind)

    def _single(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        return self.check(tree.children[0], scope)

    _member = _primary = _paren_expr = _single

    def _literal(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        return Static(_LITERAL_KINDS.get(leaf(tree).type or "", "dyn"))

    def _list_lit(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        self._other(tree, scope)
        return Static("list")

    def _map_lit(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        self._other(tree, scope)
        return Static("map")

    def _ident(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        token = leaf(tree)
        if str(token) in scope:
            return scope[str(token)]
        if str(token) in _TYPE_NAMES:
            return Static("type")
        return self._undeclared_variable(token, scope)

    def _member_index(self, tree: lark.Tree, scope: Mapping[str, Static]) -> Static:
        container = self.check(tree.children[0], scope)
        self.check(tree.children[1], scope)
        return self._element(container)


def subtree(tree: lark.Tree, index: int) -> lark.Tree:
    """A child the grammar guarantees to be a rule node."""
    return cast(lark.Tree, tree.children[index])


def leaf(tree: lark.Tree, index: int = 0) -> lark.Token:
    """A child the grammar guarantees to be a token (a name, a literal)."""
    return cast(lark.Token, tree.children[index])


def _same(left: Static, right: Static) -> Static:
    """The kind of a value that is either side (`c ? a : b`, `a + b`): theirs when they agree, else dyn."""
    return Static(left.kind) if left.kind == right.kind else DYN
