"""CEL on cel-python, the part two dialects share: the static check's walk, one parser, and cel-go's error words.

Two layers run CEL with cel-python and check an expression before it is stored, as cel-go's type checker would:
`control_plane.kubeapi.cel` (CRD `x-kubernetes-validations` rules, checked against the schema node carrying them)
and `governance.policies.expressions` (admission policies over `object` and `context`). governance may not import
control_plane, so what both need lives here, in the bottom layer:

- `checker`: `Static` (what the check knows of a sub-expression) and `Checker`, the walk over cel-python's lark
  tree: operators, literals, variables, indexing and the kind of the result, with the tables of standard macros,
  functions and methods. Each side subclasses it and adds what differs: how an undeclared name is worded, field
  selection (kubeapi follows schema-declared fields and element kinds through `Static` subclasses; governance knows
  only `context`'s string fields and leaves `object` dyn), calls and macros (which functions exist, and each side's
  wording and order of issues), and what indexing a container yields.
- `parsing`: `parse`, the one lock around cel-python's parser, which every `celpy.Environment` shares.
- `errors`: `describe`, cel-go's wording of the evaluation errors cel-python names otherwise; each side words the
  rest (overloads, its own functions' failures) itself.

Value conversion stays with each side: kubeapi converts by the schema (UnstructuredToVal), governance converts plain
JSON; they share nothing but cel-python's types.
"""

from devplat.core.cel.checker import BOOL, DYN, FUNCTIONS, MACROS, METHODS, Checker, Static, leaf, subtree
from devplat.core.cel.errors import describe, message
from devplat.core.cel.parsing import parse

__all__ = [
    "BOOL",
    "DYN",
    "FUNCTIONS",
    "MACROS",
    "METHODS",
    "Checker",
    "Static",
    "describe",
    "leaf",
    "message",
    "parse",
    "subtree",
]
