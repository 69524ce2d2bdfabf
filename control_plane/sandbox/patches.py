"""PATCH bodies applied the way kube-apiserver applies them: JSON merge patch, JSON patch, strategic merge patch.

The HTTP layer hands over the stored object and the decoded request body. Each function mirrors the library the real
server runs, quirks included, because clients (kubectl, client-go, the Python client) rely on the exact results:

- application/merge-patch+json: evanphx/json-patch v4.12 `MergePatch`, behind the server's body check.
- application/json-patch+json: evanphx/json-patch v4.12 `Patch.Apply` (negative indices allowed, `replace` of a
  missing object member adds it, the first pointer token is never looked at).
- application/strategic-merge-patch+json: k8s.io/apimachinery `strategicpatch.StrategicMergeMapPatch` driven by the
  `patchStrategy`/`patchMergeKey` tags of the built-in types.

Status codes follow apiserver/pkg/endpoints/handlers/patch.go: a body of the wrong shape is 400 BadRequest; a JSON
patch operation that does not apply is 422 Invalid with the server's generic message (see `PatchRejected`); strategic
merge patch errors the server does not classify reach the client as 500 with the library's error text.
All functions work on deep copies: inputs are never mutated and results share nothing with them.
"""

from __future__ import annotations

import copy
import decimal
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from control_plane.kubeapi.errors import ApiError, bad_request

__all__ = [
    "MERGE_KEYS",
    "PatchRejected",
    "json_patch",
    "list_merge_key",
    "merge_patch",
    "strategic_merge_patch",
]


class PatchRejected(ApiError):
    """A patch that decodes but does not apply: 422 Invalid, worded as kube-apiserver words it.

    The server wraps the library error in `NewGenericServerResponse(422, ...)`, which keeps only a generic message,
    so clients never see why. `detail` keeps the library's text (e.g. "testing value /a failed: test failed") for
    logs and tests.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(422, "Invalid", "the server rejected our request due to an error in our request")
        self.detail = detail


def _server_error(message: str) -> ApiError:
    """A plain Go error reaching the handler: upstream answers 500 with no reason and the error's text."""
    return ApiError(500, "", message)


def _undecodable(value: Any, into: str, prefix: str = "") -> ApiError:
    """400 for a body Go's JSON decoder cannot put into `into` (the server's strict pre-decode of the body)."""
    return bad_request(f"{prefix}json: cannot unmarshal {_json_type(value)} into {into}")


def _require_object_body(patch: Any, prefix: str) -> None:
    """Merge and strategic merge patch bodies are decoded into a map[string]interface{} before anything else."""
    if patch is not None and not isinstance(patch, dict):
        raise _undecodable(patch, "Go value of type map[string]interface {}", prefix)


# Go's names and formatting for decoded JSON values, as they appear in upstream error messages.


def _json_type(value: Any) -> str:
    """The JSON type in Go's "cannot unmarshal X into ..." errors."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "bool" if isinstance(value, bool) else "number"


def _go_type(value: Any) -> str:
    """reflect.TypeOf(value) printed with %s, for a value decoded with ints preserved (as the server decodes)."""
    match value:
        case None:
            return "%!s(<nil>)"
        case bool():
            return "bool"
        case int():
            return "int64"
        case float():
            return "float64"
        case str():
            return "string"
        case list():
            return "[]interface {}"
        case _:
            return "map[string]interface {}"


def _go_format(value: Any) -> str:
    """fmt's %v of a decoded JSON value (maps print with sorted keys)."""
    match value:
        case None:
            return "<nil>"
        case bool():
            return "true" if value else "false"
        case float():
            return _go_float(value)
        case dict():
            return "map[" + " ".join(f"{key}:{_go_format(value[key])}" for key in sorted(value)) + "]"
        case list():
            return "[" + " ".join(_go_format(item) for item in value) + "]"
        case _:
            return str(value)


def _go_float(value: float) -> str:
    """%v of a float64: the shortest digits, in exponent form when the exponent is below -4 or at least 6."""
    number = decimal.Decimal(repr(value)).normalize()
    exponent = number.adjusted()
    if -4 <= exponent < 6:
        return format(number, "f")
    sign, digits, _ = number.as_tuple()
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _go_string_verb(value: Any) -> str:
    """fmt's %s of a decoded JSON value: a string prints as itself, anything else as a bad-verb marker."""
    if isinstance(value, str):
        return value
    return "%!s(<nil>)" if value is None else f"%!s({_go_type(value)}={_go_format(value)})"


def _same(left: Any, right: Any) -> bool:
    """Go interface equality of decoded scalars: 80 and 80.0 differ, as do 1 and true."""
    return type(left) is type(right) and left == right


def _drop_null_members(value: Any) -> Any:
    """Remove null object members at every depth; null array elements stay.

    This is both evanphx v4.12 `pruneNulls` and strategicpatch `discardNullValuesFromPatch`: what a patch adds where
    nothing was before carries no nulls.
    """
    if isinstance(value, dict):
        return {key: _drop_null_members(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_null_members(item) for item in value]
    return value


# JSON merge patch (RFC 7386 as evanphx/json-patch v4.12 implements it).


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch to `target` as kube-apiserver does.

    Within the patch object RFC 7386 holds: null deletes a member, objects merge recursively, anything else replaces.
    Two upstream departures from the RFC: the body must be an object (the server decodes it into a map first, so an
    array, string or number is 400 "error decoding patch: ..." and null is 400 "Invalid JSON Patch"), and a value
    that lands where no object was has its null members dropped at every depth, also inside arrays.
    """
    _require_object_body(patch, "error decoding patch: ")
    if patch is None:
        raise bad_request("Invalid JSON Patch")
    if not isinstance(target, dict):
        return _drop_null_members(copy.deepcopy(patch))
    merged = copy.deepcopy(target)
    _merge_members(merged, copy.deepcopy(patch))
    return merged


def _merge_members(document: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        current = document.get(key)
        if value is None:
            document.pop(key, None)
        elif not isinstance(current, dict):
            document[key] = _drop_null_members(value)
        elif isinstance(value, dict):
            _merge_members(current, value)
        else:
            document[key] = value


# JSON patch (RFC 6902 as evanphx/json-patch v4.12 implements it).

_MAX_JSON_PATCH_OPERATIONS = 10000  # apiserver handlers.maxJSONPatchOperations
_GO_INT = re.compile(r"[+-]?[0-9]+")  # what strconv.Atoi accepts


class _OperationFailed(Exception):
    """An operation that does not apply; the message is evanphx's error text."""


def json_patch(target: Any, operations: Any) -> Any:
    """Apply a JSON patch (a list of RFC 6902 operations) to `target` as kube-apiserver does.

    400 BadRequest when the body is not a list of objects or an operation's op/path/from is not a string (the
    server's strict pre-decode); 413 beyond 10000 operations; `PatchRejected` (422) when an operation does not
    apply. A null body is an empty patch. A `replace` at the root path "" may return a list.
    """
    operations = _decoded_operations(operations)
    if len(operations) > _MAX_JSON_PATCH_OPERATIONS:
        raise ApiError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{_MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    document = copy.deepcopy(target)
    try:
        for operation in copy.deepcopy(operations):
            kind = operation.get("op") if isinstance(operation, dict) else None
            apply = _OPERATIONS.get(kind) if isinstance(kind, str) else None
            if apply is None:
                raise _OperationFailed(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
            document = apply(document, operation)
    except _OperationFailed as failure:
        raise PatchRejected(str(failure)) from failure
    return document


def _decoded_operations(operations: Any) -> list[Any]:
    """The server's strict decode of the body into []jsonPatchOp (the default fieldValidation, Warn, runs it)."""
    if operations is None:
        return []
    if not isinstance(operations, list):
        raise _undecodable(operations, "Go value of type []handlers.jsonPatchOp", "error decoding patch: ")
    for operation in operations:
        if operation is None:
            continue
        if not isinstance(operation, dict):
            raise _undecodable(operation, "Go value of type handlers.jsonPatchOp", "error decoding patch: ")
        for field, value in operation.items():
            if field in ("op", "path", "from") and value is not None and not isinstance(value, str):
                raise _undecodable(
                    value, f"Go struct field jsonPatchOp.{field} of type string", "error decoding patch: "
                )
    return operations


@contextmanager
def _context(prefix: str) -> Iterator[None]:
    """Prefix a failure with the operation's context, as evanphx wraps errors."""
    try:
        yield
    except _OperationFailed as failure:
        raise _OperationFailed(f"{prefix}: {failure}") from None


def _field(operation: dict[str, Any], name: str, failure: str) -> str:
    value = operation.get(name)
    if value is None:
        raise _OperationFailed(failure)
    return value


def _locate(document: Any, pointer: str, failure: str) -> tuple[Any, str]:
    """evanphx `findObject`: the object or array holding the pointer's last token, and that token.

    The first token is never looked at (so "a/b" acts as "/b"), and every value on the way must be an object or an
    array; null counts as missing.
    """
    tokens = pointer.split("/")
    if len(tokens) < 2:
        raise _OperationFailed(failure)
    container = document
    for token in tokens[1:-1]:
        try:
            container = _read(container, _unescape(token))
        except _OperationFailed:
            raise _OperationFailed(failure) from None
        if not isinstance(container, dict | list):
            raise _OperationFailed(failure)
    return container, _unescape(tokens[-1])


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _parse_index(token: str) -> int:
    if not _GO_INT.fullmatch(token):
        raise _OperationFailed(f'strconv.Atoi: parsing "{token}": invalid syntax')
    return int(token)


def _slot(index: int, size: int) -> int:
    """A position among `size` slots; negative indices count from the end (evanphx allows them, kube keeps that)."""
    if index >= size or index < -size:
        raise _OperationFailed(f"Unable to access invalid index: {index}: invalid index referenced")
    return index + size if index < 0 else index


def _read(container: Any, key: str) -> Any:
    """The value under `key`; an object answers None for a missing member (evanphx does not tell them apart)."""
    if isinstance(container, dict):
        return container.get(key)
    return container[_slot(_parse_index(key), len(container))]


def _write(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container[_slot(_parse_index(key), len(container))] = value


def _insert(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif key == "-":
        container.append(value)
    else:
        with _context(f"value was not a proper array index: '{key}'"):
            index = _parse_index(key)
        container.insert(_slot(index, len(container) + 1), value)


def _delete(container: Any, key: str) -> None:
    if isinstance(container, list):
        del container[_slot(_parse_index(key), len(container))]
    elif key in container:
        del container[key]
    else:
        raise _OperationFailed(f"Unable to remove nonexistent key: {key}: missing value")


def _add(document: Any, operation: dict[str, Any]) -> Any:
    path = _field(operation, "path", "add operation failed to decode path: missing value")
    container, key = _locate(
        document, path, f'add operation does not apply: doc is missing path: "{path}": missing value'
    )
    with _context(f"error in add for path: '{path}'"):
        _insert(container, key, operation.get("value"))
    return document


def _remove(document: Any, operation: dict[str, Any]) -> Any:
    path = _field(operation, "path", "remove operation failed to decode path: missing value")
    container, key = _locate(
        document, path, f'remove operation does not apply: doc is missing path: "{path}": missing value'
    )
    with _context(f"error in remove for path: '{path}'"):
        _delete(container, key)
    return document


def _replace(document: Any, operation: dict[str, Any]) -> Any:
    path = _field(
        operation, "path", "replace operation failed to decode path: operation missing path field: missing value"
    )
    value = operation.get("value")
    if path == "":
        if not isinstance(value, dict | list):
            raise _OperationFailed("replace operation value must be object or array: %!w(<nil>)")
        return value
    container, key = _locate(
        document, path, f"replace operation does not apply: doc is missing path: {path}: missing value"
    )
    try:
        _read(container, key)
    except _OperationFailed:
        raise _OperationFailed(f"replace operation does not apply: doc is missing key: {path}: missing value") from None
    _write(container, key, value)
    return document


def _move(document: Any, operation: dict[str, Any]) -> Any:
    source = _field(
        operation, "from", "move operation failed to decode from: operation, missing from field: missing value"
    )
    container, key = _locate(
        document, source, f"move operation does not apply: doc is missing from path: {source}: missing value"
    )
    with _context(f"error in move for path: '{key}'"):
        value = _read(container, key)
        _delete(container, key)
    path = _field(
        operation, "path", "move operation failed to decode path: operation missing path field: missing value"
    )
    container, key = _locate(
        document, path, f"move operation does not apply: doc is missing destination path: {path}: missing value"
    )
    with _context(f"error in move for path: '{path}'"):
        _insert(container, key, value)
    return document


def _test(document: Any, operation: dict[str, Any]) -> Any:
    path = _field(
        operation, "path", "test operation failed to decode path: operation missing path field: missing value"
    )
    expected = operation.get("value")
    if path == "":
        actual = document
    else:
        container, key = _locate(
            document, path, f"test operation does not apply: is missing path: {path}: missing value"
        )
        with _context(f"error in test for path: '{path}'"):
            actual = _read(container, key)
    if (actual is None and expected is None) or (actual is not None and _json_equal(actual, expected)):
        return document
    raise _OperationFailed(f"testing value {path} failed: test failed")


def _copy(document: Any, operation: dict[str, Any]) -> Any:
    source = _field(
        operation, "from", "copy operation failed to decode from: operation, missing from field: missing value"
    )
    container, key = _locate(
        document, source, f"copy operation does not apply: doc is missing from path: {source}: missing value"
    )
    with _context(f"error in copy for from: '{source}'"):
        value = copy.deepcopy(_read(container, key))
    path = _field(operation, "path", "copy operation failed to decode path: missing value")
    container, key = _locate(
        document, path, f"copy operation does not apply: doc is missing destination path: {path}: missing value"
    )
    with _context("error while adding value during copy"):
        _insert(container, key, value)
    return document


_OPERATIONS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "add": _add,
    "remove": _remove,
    "replace": _replace,
    "move": _move,
    "test": _test,
    "copy": _copy,
}


def _json_equal(left: Any, right: Any) -> bool:
    """The `test` comparison: same JSON type, numbers by value, objects and arrays member by member."""
    if isinstance(left, dict) or isinstance(right, dict):
        return (
            isinstance(left, dict)
            and isinstance(right, dict)
            and left.keys() == right.keys()
            and all(_json_equal(value, right[key]) for key, value in left.items())
        )
    if isinstance(left, list) or isinstance(right, list):
        return (
            isinstance(left, list)
            and isinstance(right, list)
            and len(left) == len(right)
            and all(map(_json_equal, left, right))
        )
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return left == right


# Strategic merge patch: the list tags of the built-in kinds.
#
# Paths are field names joined by dots with list positions dropped. The value is the list's patchMergeKey; "" marks
# patchStrategy=merge without a key (scalars merged as a set). Lists missing here are replaced whole (tolerations,
# readinessGates, envFrom, ...). From the patchStrategy/patchMergeKey struct tags in k8s.io/api and apimachinery.

_OBJECT_META = {"ownerReferences": "uid", "finalizers": ""}
_CONTAINER = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_POD_SPEC = {
    "volumes": "name",
    "initContainers": "name",
    "containers": "name",
    "ephemeralContainers": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "schedulingGates": "name",
    "resourceClaims": "name",
}
_POD_STATUS = {"conditions": "type", "podIPs": "ip", "hostIPs": "ip", "resourceClaimStatuses": "name"}
_CONDITIONS = {"conditions": "type"}


def _under(prefix: str, lists: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}.{path}": key for path, key in lists.items()}


def _pod_spec(prefix: str) -> dict[str, str]:
    containers = {
        f"{group}.{path}": key
        for group in ("initContainers", "containers", "ephemeralContainers")
        for path, key in _CONTAINER.items()
    }
    return _under(prefix, {**_POD_SPEC, **containers})


def _pod_template(prefix: str) -> dict[str, str]:
    return {**_under(f"{prefix}.metadata", _OBJECT_META), **_pod_spec(f"{prefix}.spec")}


def _kind_lists(*parts: Mapping[str, str]) -> dict[str, str]:
    lists = _under("metadata", _OBJECT_META)
    for part in parts:
        lists.update(part)
    return lists


_WORKLOAD = _kind_lists(_pod_template("spec.template"), _under("status", _CONDITIONS))
_MERGING_LISTS: dict[str, dict[str, str]] = {
    "Pod": _kind_lists(_pod_spec("spec"), _under("status", _POD_STATUS)),
    "PodTemplate": _kind_lists(_pod_template("template")),
    "ReplicationController": _WORKLOAD,
    "Deployment": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "CronJob": _kind_lists(
        _under("spec.jobTemplate.metadata", _OBJECT_META), _pod_template("spec.jobTemplate.spec.template")
    ),
    "Service": _kind_lists({"spec.ports": "port"}, _under("status", _CONDITIONS)),
    "ServiceAccount": _kind_lists({"secrets": "name"}),
    "Namespace": _kind_lists(_under("status", _CONDITIONS)),
    "HorizontalPodAutoscaler": _kind_lists(_under("status", _CONDITIONS)),
    "ConfigMap": _kind_lists(),
    "Secret": _kind_lists(),
    "Event": _kind_lists(),
    "Ingress": _kind_lists(),
}
# Any other kind: only its ObjectMeta lists are known; everything else merges as maps and replaces as lists.
_METADATA_LISTS = _kind_lists()

MERGE_KEYS: dict[str, dict[str, str]] = {
    kind: {path: key for path, key in lists.items() if key} for kind, lists in _MERGING_LISTS.items()
}


def list_merge_key(kind: str, path: str) -> str | None:
    """The patchMergeKey of the list at `path` (dots, list positions dropped) in `kind`.

    None when strategic merge patch replaces that list whole, or merges it as a set of scalars (metadata.finalizers).
    """
    return _MERGING_LISTS.get(kind, _METADATA_LISTS).get(path) or None


# Strategic merge patch: the merge (strategicpatch.StrategicMergeMapPatch, apply half).

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"
_ABSENT = object()
_DROPPED = object()


def strategic_merge_patch(target: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of a built-in `kind` as kube-apiserver does.

    Maps merge and null deletes. Lists tagged patchStrategy=merge merge by their patchMergeKey (new items first,
    then the live ones), other lists are replaced. The directives `$patch` (replace, delete; in maps and in merging
    list items), `$retainKeys`, `$deleteFromPrimitiveList/<list>` and `$setElementOrder/<list>` are honoured, and no
    directive key survives into the result (the server's decode into the typed object drops them). A null body
    changes nothing.
    """
    _require_object_body(patch, "")
    merge = _StrategicMerge(_MERGING_LISTS.get(kind, _METADATA_LISTS))
    merged = merge.merge_map(copy.deepcopy(target), copy.deepcopy(patch or {}), "")
    return _without_directives(merged)


class _ListMerge(NamedTuple):
    items: list[Any]
    # The live list as upstream leaves it after merging in place: deletions shift items left and the first new
    # items land in the freed slots. $setElementOrder orders the items the live list keeps by this.
    live_order: list[Any]


class _StrategicMerge:
    """One strategic merge over the list tags of one kind; mirrors upstream's mergeMap and mergeSlice."""

    def __init__(self, merging_lists: Mapping[str, str]) -> None:
        self._merging_lists = merging_lists

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], path: str) -> dict[str, Any]:
        if _DIRECTIVE in patch:
            return _map_directive(patch)
        _retain_keys(original, patch)
        self._apply_element_orders(original, patch, path)
        for key, value in patch.items():
            field, delete_list = key, key.startswith(_DELETE_FROM_PRIMITIVE_LIST)
            if delete_list:
                field = _directive_target(key, _DELETE_FROM_PRIMITIVE_LIST, "invalid patch format of primitive list")
            if value is None:
                original.pop(field, None)
                continue
            current = original.get(field, _ABSENT)
            if current is _ABSENT or _go_kind(current) != _go_kind(value):
                if not delete_list:
                    _put_new(original, field, value)
                continue
            child = f"{path}.{field}" if path else field
            if isinstance(current, dict):
                original[field] = self.merge_map(current, value, child)
            elif isinstance(current, list):
                original[field] = self._merge_list_field(current, value, child, delete_list).items
            else:
                original[field] = value
        return original

    def _merge_list_field(self, current: list[Any], patch: list[Any], path: str, delete_list: bool) -> _ListMerge:
        """mergeSliceHandler: lists without patchStrategy=merge are replaced, unless the patch deletes from them."""
        merge_key = self._merging_lists.get(path)
        if merge_key is None and not delete_list:
            return _ListMerge(patch, current)
        return self._merge_list(current, patch, path, merge_key or "", delete_list)

    def _merge_list(
        self, original: list[Any], patch: list[Any], path: str, merge_key: str, delete_list: bool
    ) -> _ListMerge:
        if not original and not patch:
            return _ListMerge(original, original)
        kind = _element_kind(original, patch)
        if kind != "map":
            if delete_list:
                return _ListMerge([item for item in original if not any(_same(item, gone) for gone in patch)], original)
            base, additions, merged, live = original, patch, _deduplicated(original + patch), original
        else:
            if not merge_key:
                raise _server_error(f"cannot merge lists without merge key for {path}")
            remaining, additions, replaced = _list_directives(original, patch, merge_key)
            base, additions = (additions, []) if replaced else (remaining, additions)
            merged = self._merge_items(base, additions, merge_key, path)
            live = (remaining + merged[len(base) :])[: len(original)]
        if merge_key:
            in_patch, server_only = _partition_maps(merged, additions, merge_key)
        else:
            in_patch, server_only = _partition_scalars(merged, additions)
        return _ListMerge(_normalized_order(in_patch, server_only, additions, base, merge_key, kind), live)

    def _merge_items(self, base: list[Any], additions: list[Any], merge_key: str, path: str) -> list[Any]:
        """mergeSliceWithoutSpecialElements: merge items with a live match, append the others."""
        merged = list(base)
        for item in additions:
            if merge_key not in item:
                raise _server_error(_no_merge_key(item, merge_key))
            index = _find(merged, merge_key, item[merge_key])
            if index is None:
                merged.append(item)
            else:
                merged[index] = self.merge_map(merged[index], item, path)
        return merged

    def _apply_element_orders(self, original: dict[str, Any], patch: dict[str, Any], path: str) -> None:
        """mergePatchIntoOriginal: merge each list named by a $setElementOrder directive and order it by it."""
        for key in [key for key in patch if key.startswith(_SET_ELEMENT_ORDER)]:
            order = patch.pop(key)
            if not isinstance(order, list):
                raise _server_error(_bad_arg_type("[]interface {}", order))
            field = _directive_target(key, _SET_ELEMENT_ORDER, "invalid patch format of setElementOrder list")
            current, patched = original.get(field, _ABSENT), patch.get(field, _ABSENT)
            for value in (current, patched):
                if value is not _ABSENT and not isinstance(value, list):
                    raise _server_error(_bad_arg_type("[]interface {}", value))
            child = f"{path}.{field}" if path else field
            merge_key = self._merging_lists.get(child) or ""
            _check_order(patched if patched is not _ABSENT else [], order, merge_key)
            if current is _ABSENT and patched is _ABSENT:
                continue
            if patched is _ABSENT:
                merged = _ListMerge(current, current)
            elif current is _ABSENT:
                merged = _ListMerge(_remove_directives(patched), [])
            else:
                merged = self._merge_list_field(current, patched, child, delete_list=False)
            if merge_key:
                in_order, server_only = _partition_maps(merged.items, order, merge_key)
            else:
                in_order, server_only = _partition_scalars(merged.items, order)
            kind = _element_kind(current if current is not _ABSENT else [], patched if patched is not _ABSENT else [])
            original[field] = _normalized_order(in_order, server_only, order, merged.live_order, merge_key, kind)
            patch.pop(field, None)


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    """`$patch` in a map: replace takes the patch as it is, delete leaves an empty map."""
    directive = patch[_DIRECTIVE]
    if directive == "replace":
        del patch[_DIRECTIVE]
        return patch
    if directive == "delete":
        return {}
    raise _server_error(f"unknown patch type: {_go_string_verb(directive)} in map: {_go_format(patch)}")


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: clear the live keys it does not list; the patch may only set keys it lists."""
    if _RETAIN_KEYS not in patch:
        return
    listed = patch.pop(_RETAIN_KEYS)
    if not isinstance(listed, list):
        raise bad_request("invalid patch format of retainKeys")
    retained = {key for key in listed if isinstance(key, str)}
    for key, value in patch.items():
        directive = key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER))
        if value is not None and not directive and key not in retained:
            raise bad_request("invalid patch format of retainKeys")
    for key in [key for key in original if key not in retained]:
        del original[key]


def _directive_target(key: str, prefix: str, malformed: str) -> str:
    """The list a `<prefix>/<list>` directive names; 400 with `malformed` when the key is not of that form."""
    head, slash, target = key.partition("/")
    if not slash or head != prefix:
        raise bad_request(malformed)
    return target


def _put_new(original: dict[str, Any], field: str, value: Any) -> None:
    """A value where the live object has none (or one of another type): nulls and `$patch` maps go away."""
    cleaned = _remove_directives(_drop_null_members(value))
    if cleaned is _DROPPED:
        original.pop(field, None)
    else:
        original[field] = cleaned


def _remove_directives(value: Any) -> Any:
    """removeDirectives: maps carrying `$patch` vanish (or `_DROPPED` when `value` is one)."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return _DROPPED
        kept = {key: _remove_directives(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not _DROPPED}
    if isinstance(value, list):
        return [item for item in map(_remove_directives, value) if item is not _DROPPED]
    return value


def _without_directives(value: Any) -> Any:
    """Drop every `$` key left in the merged map. No built-in type has such a field, so the decode drops them."""
    if isinstance(value, dict):
        return {key: _without_directives(item) for key, item in value.items() if not key.startswith("$")}
    if isinstance(value, list):
        return [_without_directives(item) for item in value]
    return value


def _go_kind(value: Any) -> str:
    """The Go type a decoded JSON value has; a field whose type changes is replaced, not merged."""
    match value:
        case dict():
            return "map"
        case list():
            return "list"
        case None:
            return "nil"
        case _:
            return type(value).__name__


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: the one type all items share; lists of lists are 422 upstream."""
    kinds = [_go_kind(item) for items in lists for item in items]
    if not kinds:
        raise _server_error("no elements in any of the given slices")
    if kinds[0] == "list":
        raise PatchRejected("lists of lists are not supported")
    if any(kind != kinds[0] for kind in kinds):
        raise _server_error(f"list element types are not identical: {_go_format(list(lists))}")
    return kinds[0]


def _list_directives(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any], bool]:
    """mergeSliceWithSpecialElements: apply `$patch: delete` items; report `$patch: replace`.

    Returns the live items left, the patch items without directives, and whether the list is replaced by them.
    """
    kept: list[Any] = []
    replaced = False
    for item in patch:
        if _DIRECTIVE not in item:
            kept.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _server_error(_no_merge_key(item, merge_key))
            original = [
                live for live in original if not (merge_key in live and _same(live[merge_key], item[merge_key]))
            ]
        elif directive == "replace":
            replaced = True
        elif directive == "merge":
            raise _server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _server_error(f"unknown patch type: {_go_string_verb(directive)} in map: {_go_format(item)}")
    return original, kept, replaced


def _find(items: list[Any], merge_key: str, value: Any) -> int | None:
    """findMapInSliceBasedOnKeyValue: the first item whose merge key holds `value`."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _server_error(f"value for key {index} is not a map")
        if merge_key in item and _same(item[merge_key], value):
            return index
    return None


def _partition_maps(items: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Items whose key appears in `by`, and the rest."""
    inside: list[Any] = []
    outside: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise _server_error(_bad_arg_type("map[string]interface {}", item))
        if merge_key not in item:
            raise _server_error(_no_merge_key(item, merge_key))
        (inside if _find(by, merge_key, item[merge_key]) is not None else outside).append(item)
    return inside, outside


def _partition_scalars(items: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    inside = [item for item in items if any(_same(item, wanted) for wanted in by)]
    return inside, [item for item in items if not any(_same(item, wanted) for wanted in by)]


def _deduplicated(items: list[Any]) -> list[Any]:
    seen: set[tuple[type, Any]] = set()
    unique = []
    for item in items:
        if (type(item), item) not in seen:
            seen.add((type(item), item))
            unique.append(item)
    return unique


def _normalized_order(
    in_patch: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """normalizeElementOrder: patch items in patch order, live-only items in live order, then interleaved."""
    in_patch = _sorted_by(in_patch, patch_order, merge_key, kind)
    server_only = _sorted_by(server_only, server_order, merge_key, kind)
    return _interleaved(server_only, in_patch, server_order, merge_key, kind)


def _sorted_by(items: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    deleting: list[Any] = []
    if kind == "map":
        for item in (*items, *order):
            if not isinstance(item, dict):
                raise _server_error(_bad_arg_type("map[string]interface {}", item))
            if merge_key not in item:
                raise _server_error(_no_merge_key(item, merge_key))
        deleting = [item for item in items if item.get(_DIRECTIVE) == "delete"]
        items = [item for item in items if item.get(_DIRECTIVE) != "delete"]
    return sorted(items, key=lambda item: _index(order, item, merge_key, kind)) + deleting


def _interleaved(left: list[Any], right: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """mergeSortedSlice: take from `left` only while it is known to come first in `order`; items `order` does not
    know (new items) therefore precede the live ones."""
    merged: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        left_at, right_at = _index(order, left[i], merge_key, kind), _index(order, right[j], merge_key, kind)
        if 0 <= left_at < right_at:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


def _index(items: list[Any], item: Any, merge_key: str, kind: str) -> int:
    def identity(value: Any) -> Any:
        if kind != "map":
            return value
        return value.get(merge_key) if isinstance(value, dict) else None

    wanted = identity(item)
    return next((index for index, candidate in enumerate(items) if _same(identity(candidate), wanted)), -1)


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch's items must appear in $setElementOrder, in the same order."""
    if not order or not patch_list:
        return
    candidates = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _server_error(_bad_arg_type("map[string]interface {}", item))
        candidates = [item for item in patch_list if item.get(_DIRECTIVE) != "delete"]
    patch_at = order_at = 0
    while patch_at < len(candidates) and order_at < len(order):
        item = candidates[patch_at]
        if isinstance(item, dict) and _DIRECTIVE in item:
            patch_at += 1
            continue
        if _order_entry_matches(item, order[order_at], merge_key):
            patch_at += 1
        order_at += 1
    if patch_at < len(candidates):
        raise _server_error(
            f"the order in patch list:\n{_go_format(patch_list)}\n doesn't match {_SET_ELEMENT_ORDER} list:\n"
            f"{_go_format(order)}"
        )


def _order_entry_matches(item: Any, entry: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(item, entry)
    for value in (item, entry):
        if not isinstance(value, dict):
            raise _server_error(_bad_arg_type("map[string]interface {}", value))
        if merge_key not in value:
            raise _server_error(_no_merge_key(value, merge_key))
    return _same(item[merge_key], entry[merge_key])


def _no_merge_key(item: dict[str, Any], merge_key: str) -> str:
    return f"map: {_go_format(item)} does not contain declared merge key: {merge_key}"


def _bad_arg_type(expected: str, actual: Any) -> str:
    return f"expected a {expected}, but received a {_go_type(actual)}"
