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

Layout, bottom up: `declarations` (variables, the schema node protocol, CEL names, kinds and fields), `paths`
(fieldPath), `values` (conversion), `library` (the Kubernetes functions), `checker` (static checking), `compiler`
(`Program`s) and `rules` (`Rule`, `Violation`, `compile_rules`, `violations`). The checker's walk over operators,
literals and variables, the parser lock and the common error wording are `devplat.core.cel`'s, shared with
governance's policy expressions. Only the names below are the package's interface; underscored names are
package-internal: submodules import them from one another, nothing outside this package may.
"""

from control_plane.kubeapi.cel.compiler import CompileError, EvaluationError, Program, compile_expression
from control_plane.kubeapi.cel.declarations import OLD_SELF, SELF, SchemaNode, escape
from control_plane.kubeapi.cel.paths import field_path
from control_plane.kubeapi.cel.rules import DEFAULT_REASON, REASONS, Rule, Violation, compile_rules, violations
from control_plane.kubeapi.cel.values import to_value

__all__ = [
    "DEFAULT_REASON",
    "OLD_SELF",
    "REASONS",
    "SELF",
    "CompileError",
    "EvaluationError",
    "Program",
    "Rule",
    "SchemaNode",
    "Violation",
    "compile_expression",
    "compile_rules",
    "escape",
    "field_path",
    "to_value",
    "violations",
]
