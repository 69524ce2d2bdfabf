"""Server-side apply and `metadata.managedFields`, as kube-apiserver does them.

Upstream this is sigs.k8s.io/structured-merge-diff (merge/update.go, typed/) wrapped by
k8s.io/apimachinery/pkg/util/managedfields/internal. This module follows that code, not just the prose of
https://kubernetes.io/docs/reference/using-api/server-side-apply/, because clients (kubectl, controllers, our own
sync) read the exact fieldsV1 encoding and the exact conflict messages.

Field paths are tuples of fieldsV1 elements, e.g. `("f:spec", "f:containers", 'k:{"name":"app"}', "f:image")`:
`f:<field>` for map fields, `k:<json>` for list-map items (key fields sorted, compact JSON), `v:<json>` for set
items, `i:<n>` (only read, never produced: lists here are keyed or atomic).

List semantics come from the caller's `ListKeys`: given a schema path (field names joined by dots, list items
dropped: `"spec.template.spec.containers"`, `"status.conditions"`) it returns
- `None` for an atomic list (the whole list is one field, replaced on apply; the default for CRDs),
- `SET_LIST` (the empty tuple) for `x-kubernetes-list-type: set` (items keyed by their own value),
- the key field names for `x-kubernetes-list-type: map` (`("name",)`, `("containerPort", "protocol")`).

Deliberate simplifications, since the sandbox has no OpenAPI models:
- Every map is treated as a struct with declared fields; upstream marks the keys of free-form maps (labels are
  unaffected, maps of objects would gain a `".": {}`) slightly differently.
- A list-map item that omits some key fields is keyed by the ones it has (upstream fills them from schema defaults,
  e.g. `protocol: TCP`, or rejects the item); an item with none of them is rejected.
- `null` is an ordinary value; objects of every apiVersion are compared in the request's version (no conversion);
  the 10-update-manager cap ("ancient-changes") and the kubectl last-applied annotation are not modelled.
- System metadata in an applied config (uid, resourceVersion, creationTimestamp ...) is merged like any field: the
  caller checks preconditions and restores it, as upstream's strategies do.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from control_plane.kubeapi.errors import ApiError, bad_request

ListKeys = Callable[[str], tuple[str, ...] | None]
Path = tuple[str, ...]

SET_LIST: tuple[str, ...] = ()
"""What a `ListKeys` returns for a set: a list keyed by no field, i.e. by each item's own value."""

APPLY = "Apply"
UPDATE = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"

# Never owned by anyone (upstream stripmeta.go). Exact paths: `metadata.labels` stays ownable.
_STRIPPED: frozenset[Path] = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {
        ("f:metadata", f"f:{name}")
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    }
)

_MISSING: Any = object()  # a field absent on one side of a merge or comparison (distinct from null)

# Upstream's manager identifier: manager, operation, apiVersion (Update entries only), subresource.
_Key = tuple[str, str, str, str]


# --------------------------------------------------------------------------------------------- public interface


def server_side_apply(
    live: dict | None,
    applied: dict,
    *,
    manager: str,
    force: bool,
    api_version: str,
    list_keys: ListKeys,
    now: str,
    subresource: str = "",
    has_status_subresource: bool = False,
) -> dict:
    """Return the new object: `applied` merged into `live` (None: a create) with `metadata.managedFields` updated.

    `manager` then owns exactly the fields in `applied`; fields it applied last time and no longer does are removed
    unless another manager (Apply or Update) owns them. Changing a field another manager owns raises 409 Conflict,
    unless `force`, which takes the field from them. `subresource="status"` writes only `.status`; on the main
    resource of a kind with a status subresource (`has_status_subresource`) `.status` is left as it was and is not
    owned (upstream's reset fields). Raises 400 when `applied` carries managedFields and 500 (as upstream) when a
    list-map in it has duplicate or keyless items. Inputs are not modified.
    """
    if (applied.get("metadata") or {}).get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    schema = _Schema(list_keys)
    reset = _ResetFields.for_request(subresource, has_status_subresource)
    config = copy.deepcopy(applied)
    try:
        config_fields = schema.field_set(config)
    except _SchemaError as error:
        raise _typed_object_error("patch", applied, error) from error
    base = _with_managed_fields(copy.deepcopy(live), []) if live is not None else {}
    managed = _decode_or_empty(live)
    mine = _Entry(manager or "unknown", APPLY, api_version, subresource, None, set())
    try:
        if live is not None and not managed:
            # Objects whose fields were never tracked: someone set them, so applying over them can conflict.
            before = _Entry(BEFORE_FIRST_APPLY, UPDATE, api_version, subresource, None, set())
            _record_update(schema, managed, {}, base, before, now=now, reset=reset)
        merged = schema.merge(base, config)
        last = managed.get(mine.key)
        if last is not None:
            others = (entry.fields for key, entry in managed.items() if key != mine.key)
            merged = schema.without(merged, _disowned(last.fields, config_fields, others))
        merged = reset.restore(merged, base)
        diff = schema.compare(base, merged).excluding(reset.ignores)
    except _SchemaError as error:
        raise _typed_object_error("live", live, error) from error

    _take_ownership(managed, mine.key, diff, force=force)
    mine.fields = {path for path in config_fields if not reset.ignores(path)} - _STRIPPED
    # A no-op apply keeps the entry's time (upstream returns no new object and leaves the timestamp alone).
    mine.time = now if not _same(base, merged) else (last.time if last is not None else None)
    managed[mine.key] = mine
    return _with_managed_fields(merged, _encode_managed(managed))


def track_update(
    old: dict | None,
    new: dict,
    *,
    manager: str,
    api_version: str,
    list_keys: ListKeys,
    now: str,
    subresource: str = "",
    has_status_subresource: bool = False,
) -> dict:
    """Return `new` with managedFields for a create (`old` None), update or non-apply patch by `manager`.

    `manager` (operation Update, one entry per apiVersion and subresource) gains every field whose value the write
    added or changed, and every manager loses those and the removed fields. Pass `new` as it will be stored (after
    the caller's strategy reset status or spec); `subresource` and `has_status_subresource` keep those reset fields
    out of ownership as in `server_side_apply`. Like upstream:
    - `new`'s own managedFields are honoured when valid (clients may edit them), except on subresources;
      `[]` or `[{}]` resets tracking, and an existing object with no managedFields is not tracked again until an
      apply (the result then has none);
    - a failure to read a list-map never fails the write: `old`'s managedFields are kept.
    """
    result = _with_managed_fields(copy.deepcopy(new), [])
    managed = _managed_for_update(old, (new.get("metadata") or {}).get("managedFields"), subresource)
    if not managed and old is not None:
        return result
    schema = _Schema(list_keys)
    reset = _ResetFields.for_request(subresource, has_status_subresource)
    writer = _Entry(manager or "unknown", UPDATE, api_version, subresource, None, set())
    base = _with_managed_fields(copy.deepcopy(old), []) if old is not None else {}
    try:
        _record_update(schema, managed, base, result, writer, now=now, reset=reset)
    except _SchemaError:
        kept = ((old or {}).get("metadata") or {}).get("managedFields") or []
        return _with_managed_fields(result, copy.deepcopy(kept))
    return _with_managed_fields(result, _encode_managed(managed))


def managed_field_set(fields_v1: dict) -> set[Path]:
    """The paths a fieldsV1 tree owns. `k:` and `v:` elements are re-encoded canonically. ValueError if malformed."""
    paths: set[Path] = set()
    _decode_fields(fields_v1, (), paths)
    return paths


def fields_v1_from_set(paths: Iterable[Path]) -> dict:
    """The fieldsV1 tree for a set of paths, ordered as upstream serializes it (`"."` marks an owned parent)."""
    return _emit_fields(_tree(paths))


# --------------------------------------------------------------------------------------------- ownership records


@dataclass
class _Entry:
    """One managedFields entry: who wrote, how, in which version and subresource, when, and which fields."""

    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: set[Path] = field(default_factory=set)

    @property
    def key(self) -> _Key:
        """Upstream's manager identifier: an applier is one manager whatever apiVersion it last applied."""
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def describe(self) -> str:
        """The manager as conflict messages name it (upstream printManager, time never set in identifiers)."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def encode(self) -> dict:
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fields_v1_from_set(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _decode_managed(entries: Any) -> dict[_Key, _Entry]:
    """Parse managedFields as upstream DecodeManagedFields does; ValueError if any entry is invalid."""
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    managed: dict[_Key, _Entry] = {}
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ValueError(f"managed fields entry {index} is not an object")
        if raw.get("operation") not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if not raw.get("apiVersion"):
            raise ValueError("apiVersion must not be empty")
        if raw.get("fieldsType") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {raw.get('fieldsType')!r} in managed fields entry {index}")
        time = raw.get("time")
        if time is not None and not isinstance(time, str):
            raise ValueError(f"invalid time in managed fields entry {index}")
        _epoch_seconds(time)  # rejects a malformed time
        entry = _Entry(
            manager=str(raw.get("manager") or ""),
            operation=raw["operation"],
            api_version=str(raw["apiVersion"]),
            subresource=str(raw.get("subresource") or ""),
            time=time,
            fields=managed_field_set(raw.get("fieldsV1") or {}),
        )
        managed[entry.key] = entry
    return managed


def _decode_or_empty(obj: dict | None) -> dict[_Key, _Entry]:
    """The stored object's managedFields; unreadable ones count as none (upstream emptyManagedFieldsOnErr)."""
    try:
        return _decode_managed(((obj or {}).get("metadata") or {}).get("managedFields") or [])
    except ValueError:
        return {}


def _managed_for_update(old: dict | None, requested: Any, subresource: str) -> dict[_Key, _Entry]:
    """Which managedFields an update starts from (upstream decodeLiveOrNew)."""
    live = _decode_or_empty(old)
    if subresource or requested is None:
        return live
    if requested == [] or requested == [{}]:
        return {}
    try:
        return _decode_managed(requested) or live
    except ValueError:
        return live


def _encode_managed(managed: dict[_Key, _Entry]) -> list[dict]:
    """Entries with fields, in upstream's order: operation, time (seconds), manager, apiVersion, subresource."""
    entries = [entry for entry in managed.values() if entry.fields]
    entries.sort(key=lambda e: (e.operation, _epoch_seconds(e.time), e.manager, e.api_version, e.subresource))
    return [entry.encode() for entry in entries]


def _with_managed_fields(obj: dict, entries: list[dict]) -> dict:
    """A shallow copy of `obj` whose metadata.managedFields is `entries`, or absent when there are none."""
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key != "managedFields"}
    if entries:
        metadata["managedFields"] = entries
    if "metadata" not in obj and not metadata:
        return dict(obj)
    return {**obj, "metadata": metadata}


def _epoch_seconds(time: str | None) -> int:
    return int(datetime.fromisoformat(time).timestamp()) if time else 0


def _record_update(
    schema: _Schema,
    managed: dict[_Key, _Entry],
    old: dict,
    new: dict,
    writer: _Entry,
    *,
    now: str,
    reset: _ResetFields,
) -> None:
    """Give `writer` what changed from `old` to `new`, taking it (and what was removed) from everyone else."""
    diff = schema.compare(old, new).excluding(reset.ignores)
    changed = diff.added | diff.modified
    for entry in managed.values():
        entry.fields -= changed | diff.removed
    gained = changed - _STRIPPED
    if gained:
        previous = managed.get(writer.key)
        writer.fields = gained | (previous.fields if previous is not None else set())
        writer.time = now
        managed[writer.key] = writer


def _take_ownership(managed: dict[_Key, _Entry], applier: _Key, diff: _Diff, *, force: bool) -> None:
    """Other managers lose what the apply changed (409 unless forced) and what it removed (upstream update())."""
    taken = diff.added | diff.modified
    conflicts = {key: entry.fields & taken for key, entry in managed.items() if key != applier}
    conflicts = {key: paths for key, paths in conflicts.items() if paths}
    if conflicts and not force:
        raise _conflict_error([(managed[key], paths) for key, paths in conflicts.items()])
    for key, entry in managed.items():
        if key != applier:
            entry.fields -= conflicts.get(key, set()) | diff.removed


def _disowned(last: set[Path], config: set[Path], others: Iterable[set[Path]]) -> set[Path]:
    """What an applier stopped applying and nobody else owns (upstream prune): removed with everything below it.

    A manager owning a field also keeps the maps and list items that contain it.
    """
    kept = _with_ancestors(config.union(*others))
    return _with_ancestors(last) - kept - _STRIPPED


def _with_ancestors(paths: Iterable[Path]) -> set[Path]:
    return {path[:length] for path in paths for length in range(1, len(path) + 1)}


def _conflict_error(conflicts: list[tuple[_Entry, set[Path]]]) -> ApiError:
    """409 Conflict worded as upstream's NewConflictError; causes carry each manager and field path."""
    conflicts.sort(key=lambda item: item[0].key)
    found = [(entry, _path_string(path)) for entry, paths in conflicts for path in _iterate(_tree(paths))]
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {entry.describe()}", "field": where}
        for entry, where in found
    ]
    if len(found) == 1:
        entry, where = found[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {where}"
    else:
        lines: list[str] = []
        for entry, paths in conflicts:
            lines.append(f"conflicts with {entry.describe()}:")
            lines.extend(f"- {_path_string(path)}" for path in _iterate(_tree(paths)))
        message = f"Apply failed with {len(found)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, details={"causes": causes})


def _typed_object_error(which: str, obj: dict | None, error: _SchemaError) -> ApiError:
    """Upstream returns a plain error here, which kube-apiserver reports as a 500 with no (Unknown) reason."""
    obj = obj or {}
    metadata = obj.get("metadata") or {}
    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    where = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}; {group}/{version}, Kind={obj.get('kind', '')}"
    return ApiError(500, "", f"failed to create typed {which} object ({where}): {error}")


@dataclass(frozen=True)
class _ResetFields:
    """Top-level fields a write cannot change (upstream ResetFieldsStrategy): kept as they were, owned by nobody.

    The status subresource writes only `.status`; the main resource of a kind with a status subresource writes
    everything but `.status`.
    """

    only_status: bool
    status: bool

    @classmethod
    def for_request(cls, subresource: str, has_status_subresource: bool) -> _ResetFields:
        return cls(only_status=subresource == "status", status=has_status_subresource and not subresource)

    def ignores(self, path: Path) -> bool:
        return (path[0] != "f:status") if self.only_status else (self.status and path[0] == "f:status")

    def restore(self, merged: dict, base: dict) -> dict:
        if self.only_status:
            kept, source = {k: v for k, v in base.items() if k != "status"}, merged
        elif self.status:
            kept, source = {k: v for k, v in merged.items() if k != "status"}, base
        else:
            return merged
        if "status" in source:
            kept["status"] = source["status"]
        return kept


# --------------------------------------------------------------------------------------------- object walking


class _SchemaError(Exception):
    """A list-map the schema cannot key (upstream typed conversion errors), at a field path."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{_path_string(path)}: {message}")


@dataclass
class _Diff:
    """Paths a write added, removed or changed (upstream typed.Comparison); added/removed include parents."""

    added: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)

    def excluding(self, ignored: Callable[[Path], bool]) -> _Diff:
        return _Diff(
            {p for p in self.added if not ignored(p)},
            {p for p in self.removed if not ignored(p)},
            {p for p in self.modified if not ignored(p)},
        )


class _Schema:
    """Walks objects the way structured-merge-diff does, with list semantics from `ListKeys`."""

    def __init__(self, list_keys: ListKeys) -> None:
        self._list_keys = list_keys
        self._cache: dict[str, tuple[str, ...] | None] = {}

    def keys(self, schema_path: str) -> tuple[str, ...] | None:
        if schema_path not in self._cache:
            self._cache[schema_path] = self._list_keys(schema_path)
        return self._cache[schema_path]

    def granular(self, value: Any, schema_path: str) -> bool:
        """Maps and keyed or set lists have children of their own; scalars and atomic lists are one field."""
        return isinstance(value, dict) or (isinstance(value, list) and self.keys(schema_path) is not None)

    def items(self, value: Any, path: Path, schema_path: str) -> list[tuple[str, Any]]:
        """Each item of a keyed or set list with its path element, duplicates included; none for anything else."""
        keys = self.keys(schema_path) if isinstance(value, list) else None
        if keys is None:
            return []
        return [(_item_element(item, keys, path, index), item) for index, item in enumerate(value)]

    def children(self, value: Any, path: Path, schema_path: str) -> Iterator[tuple[str, Any, str]]:
        """(element, child, child schema path) for map fields and list items; the first of duplicate items only."""
        if isinstance(value, dict):
            for name, child in value.items():
                yield f"f:{name}", child, _join(schema_path, name)
            return
        seen: set[str] = set()
        for element, item in self.items(value, path, schema_path):
            if element not in seen:
                seen.add(element)
                yield element, item, schema_path

    def field_set(self, config: dict) -> set[Path]:
        """What applying `config` owns (upstream ToFieldSet): leaves, empty maps, atomic lists and list items.

        Duplicate list items are an error here, unlike in stored objects.
        """
        paths: set[Path] = set()
        self._collect(config, (), "", paths)
        return paths

    def _collect(self, value: Any, path: Path, schema_path: str, paths: set[Path]) -> None:
        if not self.granular(value, schema_path):
            paths.add(path)
            return
        if isinstance(value, dict) and not value and path:
            paths.add(path)
        for element, _ in self.items(value, path, schema_path):
            if (*path, element) in paths:
                raise _SchemaError(path, f"duplicate entries for key {_element_string(element)}")
            paths.add((*path, element))
        for element, child, child_schema_path in self.children(value, path, schema_path):
            self._collect(child, (*path, element), child_schema_path, paths)

    def compare(self, old: Any, new: Any) -> _Diff:
        diff = _Diff()
        self._compare(old, new, (), "", diff)
        return diff

    def _compare(self, old: Any, new: Any, path: Path, schema_path: str, diff: _Diff) -> None:
        if new is _MISSING:
            diff.removed |= self._nodes(old, path, schema_path)
        elif old is _MISSING:
            diff.added |= self._nodes(new, path, schema_path)
        elif _shape(old, self.granular(old, schema_path)) != _shape(new, self.granular(new, schema_path)):
            diff.modified.add(path)
            diff.removed |= self._nodes(old, path, schema_path) - {path}
            diff.added |= self._nodes(new, path, schema_path) - {path}
        elif not self.granular(new, schema_path) or (not old and not new):
            if not _same(old, new):
                diff.modified.add(path)
        else:
            before = {element: (child, csp) for element, child, csp in self.children(old, path, schema_path)}
            after = {element: (child, csp) for element, child, csp in self.children(new, path, schema_path)}
            for element in after.keys() | before.keys():
                old_child, csp = before.get(element, (_MISSING, ""))
                new_child, csp = after.get(element, (_MISSING, csp))
                self._compare(old_child, new_child, (*path, element), csp, diff)

    def _nodes(self, value: Any, path: Path, schema_path: str) -> set[Path]:
        """`path` and every path below it."""
        nodes = {path}
        for element, child, child_schema_path in self.children(value, path, schema_path):
            nodes |= self._nodes(child, (*path, element), child_schema_path)
        return nodes

    def merge(self, live: Any, config: Any, path: Path = (), schema_path: str = "") -> Any:
        """`config` over `live` (upstream typed Merge): maps and list-maps merge, everything else is replaced."""
        if isinstance(live, dict) and isinstance(config, dict):
            merged = {
                name: self.merge(value, config[name], (*path, f"f:{name}"), _join(schema_path, name))
                if name in config
                else value
                for name, value in live.items()
            }
            merged.update({name: value for name, value in config.items() if name not in live})
            return merged
        if isinstance(live, list) and isinstance(config, list) and self.keys(schema_path) is not None:
            return self._merge_list(live, config, path, schema_path)
        return config

    def _merge_list(self, live: list, config: list, path: Path, schema_path: str) -> list:
        """Items merge by key. Order, as upstream: shared items follow the config, others keep their places."""
        live_items = self.items(live, path, schema_path)
        config_items = dict(self.items(config, path, schema_path))
        live_first: dict[str, Any] = {}
        for element, item in live_items:
            live_first.setdefault(element, item)
        config_order = list(config_items)
        shared = [element for element in config_order if element in live_first]
        next_shared = 0
        done: set[str] = set()
        merged: list[Any] = []

        def merge_item(element: str) -> Any:
            done.add(element)
            live_item = live_first.get(element, _MISSING)
            config_item = config_items[element]
            return (
                config_item
                if live_item is _MISSING
                else self.merge(live_item, config_item, (*path, element), schema_path)
            )

        li = ci = 0
        while li < len(live_items) or ci < len(config_order):
            if li < len(live_items) and ci < len(config_order):
                element = live_items[li][0]
                if element == config_order[ci]:
                    merged.append(merge_item(element))
                    li, ci, next_shared = li + 1, ci + 1, next_shared + 1
                    continue
                if element in config_items and next_shared < len(shared) and shared[next_shared] != element:
                    li += 1  # a shared item whose turn (in config order) has not come yet
                    continue
            if li < len(live_items):
                element, item = live_items[li]
                if element not in config_items:
                    merged.append(item)
                    li += 1
                    continue
                if element in done:
                    li += 1
                    continue
            if ci < len(config_order):
                element = config_order[ci]
                merged.append(merge_item(element))
                ci += 1
                if next_shared < len(shared) and shared[next_shared] == element:
                    next_shared += 1
        return merged

    def without(self, value: Any, paths: set[Path]) -> Any:
        """`value` less the subtrees at `paths` (containers left empty stay, unless listed themselves)."""
        prefixes = {path[:length] for path in paths for length in range(len(path))}
        return self._without(value, (), "", paths, prefixes)

    def _without(self, value: Any, path: Path, schema_path: str, paths: set[Path], prefixes: set[Path]) -> Any:
        if path not in prefixes or not self.granular(value, schema_path):
            return value
        if isinstance(value, dict):
            return {
                name: self._without(child, (*path, f"f:{name}"), _join(schema_path, name), paths, prefixes)
                for name, child in value.items()
                if (*path, f"f:{name}") not in paths
            }
        return [
            self._without(item, (*path, element), schema_path, paths, prefixes)
            for element, item in self.items(value, path, schema_path)
            if (*path, element) not in paths
        ]


def _shape(value: Any, granular: bool) -> str:
    if isinstance(value, dict):
        return "map"
    return "list" if granular else "leaf"


def _join(schema_path: str, name: str) -> str:
    return f"{schema_path}.{name}" if schema_path else name


def _item_element(item: Any, keys: tuple[str, ...], path: Path, index: int) -> str:
    """The path element of a list item: `k:` with its key fields for a list-map, `v:` with its value for a set."""
    if not keys:
        if isinstance(item, dict | list):
            kind = "map" if isinstance(item, dict) else "list"
            raise _SchemaError(
                path, f"element {index}: associative list without keys has an element that's a {kind} type"
            )
        return "v:" + _compact_json(item)
    if item is None:
        raise _SchemaError(path, f"element {index}: associative list with keys may not have a null element")
    if not isinstance(item, dict):
        raise _SchemaError(path, f"element {index}: associative list with keys may not have non-map elements")
    present = {name: item[name] for name in sorted(keys) if name in item}
    if not present:
        raise _SchemaError(
            path,
            f'element {index}: associative list with keys has an element that omits key field "{keys[0]}" '
            "(and doesn't have default value)",
        )
    return "k:" + _compact_json(present)


def _same(a: Any, b: Any) -> bool:
    """JSON equality that, unlike Python's ==, tells true from 1."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# --------------------------------------------------------------------------------------------- fieldsV1 and paths


@dataclass
class _Node:
    member: bool = False
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(paths: Iterable[Path]) -> _Node:
    root = _Node()
    for path in paths:
        node = root
        for element in path:
            node = node.children.setdefault(element, _Node())
        node.member = True
    return root


def _emit_fields(node: _Node) -> dict:
    fields: dict[str, Any] = {".": {}} if node.member and node.children else {}
    for element in sorted(node.children, key=_element_order):
        fields[element] = _emit_fields(node.children[element])
    return fields


def _iterate(node: _Node, prefix: Path = ()) -> Iterator[Path]:
    """Paths in upstream Set.Iterate order: a node's own members first, then each child's subtree."""
    ordered = sorted(node.children.items(), key=lambda item: _element_order(item[0]))
    for element, child in ordered:
        if child.member:
            yield (*prefix, element)
    for element, child in ordered:
        yield from _iterate(child, (*prefix, element))


def _decode_fields(node: Any, path: Path, paths: set[Path]) -> None:
    if not isinstance(node, dict):
        raise ValueError(f"fieldsV1 at {_path_string(path) or '.'} is not an object")
    for name, child in node.items():
        if name == ".":
            if path:
                paths.add(path)
            continue
        child_path = (*path, _canonical_element(name))
        if child == {}:
            paths.add(child_path)
        else:
            _decode_fields(child, child_path, paths)


def _canonical_element(text: str) -> str:
    kind, body = text[:2], text[2:]
    try:
        if kind == "f:":
            return text
        if kind == "k:":
            key = json.loads(body)
            if isinstance(key, dict) and key:
                return "k:" + _compact_json(dict(sorted(key.items())))
        elif kind == "v:":
            return "v:" + _compact_json(json.loads(body))
        elif kind == "i:":
            return f"i:{int(body)}"
    except ValueError:
        pass
    raise ValueError(f"invalid fieldsV1 path element {text!r}")


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _element_order(element: str) -> tuple:
    """Upstream PathElement.Compare: fields, then keys, then values, then indices; values by type, then value."""
    kind, body = element[:2], element[2:]
    if kind == "f:":
        return (0, body)
    if kind == "k:":
        return (1, [(name, _value_order(value)) for name, value in json.loads(body).items()])
    if kind == "v:":
        return (2, _value_order(json.loads(body)))
    return (3, int(body))


def _value_order(value: Any) -> tuple:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if value is None:
        return (5, 0)
    return (3 if isinstance(value, list) else 4, _compact_json(value))


def _path_string(path: Path) -> str:
    """A path as upstream prints it in conflicts and errors: `.spec.containers[name="app"].image`."""
    return "".join(_element_string(element) for element in path)


def _element_string(element: str) -> str:
    kind, body = element[:2], element[2:]
    if kind == "f:":
        return f".{body}"
    if kind == "k:":
        return "[" + ",".join(f"{name}={_value_string(value)}" for name, value in json.loads(body).items()) + "]"
    if kind == "v:":
        return f"[={_value_string(json.loads(body))}]"
    return f"[{body}]"


def _value_string(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _compact_json(value)
