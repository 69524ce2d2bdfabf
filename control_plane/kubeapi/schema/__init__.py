"""Custom resources against their CRD's structural schema, as kube-apiserver's apiextensions handling does it.

`admit` runs the request pipeline of a create or update: prune fields the schema does not know (recording their
paths for fieldValidation=Strict/Warn), drop non-nullable nulls that have no default, apply defaults, then validate
the result against the schema, the `x-kubernetes-embedded-resource` TypeMeta rules and the `x-kubernetes-list-type`
map/set invariants, and last evaluate the `x-kubernetes-validations` CEL rules (`cel/`), transition rules against
the old object on updates. Causes carry upstream's cause types, field paths and messages: kube-openapi's wording
("spec.replicas in body must be of type integer: \"string\"") rendered the way apimachinery's `field.Error` does
(Go `%q`/`%v`/`%#v` for the bad value). `crd_problems` reports what makes a CustomResourceDefinition itself invalid,
rules that do not compile included.

Sources: apiextensions-apiserver `schema/pruning`, `schema/defaulting` (with `PruneNonNullableNullsWithoutDefaults`),
`schema/listtype`, `schema/objectmeta`, `apiserver/validation`, `schema/validation.go` (structural invariants),
`schema/cel/validation.go`, `registry/customresource/strategy.go` (hasBlockingErr), `apis/apiextensions/validation`;
kube-openapi `validation/validate` and `validation/errors`.

Deliberately not done here:
- CEL rules run without cost budgets; what the CEL engine leaves out is listed in `cel/`.
- Root `metadata` is the server's business: it is copied untouched, never pruned, defaulted or validated here.
- Embedded resources' `metadata` is not coerced or validated as an ObjectMeta; only apiVersion and kind are checked.
- Updates validate like creates (no CRDValidationRatcheting, for the schema or the rules: an unchanged invalid value
  is an error where upstream only warns); the old object serves the transition rules only.
- String formats: date-time, date, uuid/uuid3/uuid4/uuid5, ipv4, ipv6, cidr and byte are checked; the other formats
  upstream supports are accepted unchecked, and unsupported formats are ignored, as upstream strips them.
  `int32`/`int64` only shape type errors: kube-openapi never range-checks them, so neither do we.
- Patterns are run with Python's `re` (ASCII classes, `$` only at the very end, as in Go's RE2); a pattern using
  Go-only syntax Python cannot compile (`\\p{L}`, ...) is not enforced.
- Where upstream keeps "the best failing branch" of an anyOf/oneOf, we keep the first failing branch.

Compiled schemas are cached by identity, so a schema dict must not be mutated after it has been used.

Layout: `admission` (the walk, `admit`), `nodes` (compiled schemas), `validation` (kube-openapi's validators),
`rules` (running the CEL rules), `formats` and `patterns` (string formats, Go regexes), `causes` (field.Error
rendering), `names` (DNS label and subdomain checks) and `crd` (`crd_problems`). Only the names below are the
package's interface; underscored names are package-internal: submodules import them from one another, nothing
outside this package may.
"""

from control_plane.kubeapi.schema.admission import Admitted, admit
from control_plane.kubeapi.schema.crd import crd_problems

__all__ = ["Admitted", "admit", "crd_problems"]
