"""LIST and WATCH with the semantics of the Kubernetes API concepts documentation.

Lists page over one consistent snapshot (the continue token carries its resourceVersion, so later pages show the
state of the first). Watches start from a resourceVersion and deliver only later events, or start with the current
state (synthetic ADDED events, then the `k8s.io/initial-events-end` bookmark when `sendInitialEvents=true`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from control_plane.kubeapi.errors import ApiError, bad_request, expired, invalid
from control_plane.sandbox.apiserver import ApiServer
from control_plane.sandbox.kinds import ResourceKind
from control_plane.sandbox.selectors import object_predicate
from control_plane.sandbox.store import Event, Key, Object

MAX_WATCH_SECONDS = 1800
WATCH_BATCH = 1000


@dataclass(frozen=True)
class ReadParams:
    """The query parameters of a list or watch request."""

    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout_seconds: int | None = None


class DroppedStream(Exception):
    """The sandbox was told to cut this watch connection."""


def _encode_continue(rv: int, key: Key) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, Key]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_request("continue key is not valid: the token is malformed; start a new list without it") from None


def parse_rv(value: str) -> int:
    if not value.isdigit():
        raise bad_request(f'invalid resource version "{value}": resourceVersions are opaque values from the server')
    return int(value)


def list_objects(server: ApiServer, kind: ResourceKind, namespace: str | None, params: ReadParams) -> dict[str, Any]:
    """A `<Kind>List`: one page when `limit` is set, with `continue` and `remainingItemCount` as upstream sets them."""
    predicate = object_predicate(params.label_selector, params.field_selector)
    if params.continue_token:
        if params.resource_version not in (None, "", "0"):  # "0" is tolerated, as upstream
            raise bad_request("specifying resource version is not allowed when using continue")
        rv, last_key = _decode_continue(params.continue_token)
        if rv < server.store.compacted:
            raise _stale_continue(rv, last_key, server)
        snapshot = server.store.snapshot(kind.storage, rv)
    else:
        last_key = None
        snapshot = server.store.snapshot(kind.storage, _list_rv(server, params))
    keys, objects = snapshot.keys, snapshot.objects
    if kind.namespaced and namespace:
        begin, end = bisect.bisect_left(keys, (namespace, "")), bisect.bisect_left(keys, (namespace + "\x00", ""))
    else:
        begin, end = 0, len(keys)
    if last_key is not None:
        begin = max(begin, bisect.bisect_right(keys, last_key))
    items: list[Object] = []
    index = begin
    limit = params.limit if params.limit > 0 else None
    while index < end and (limit is None or len(items) < limit):
        obj = objects[index]
        if predicate is None or predicate(obj):
            items.append(obj)
        index += 1
    list_meta: dict[str, Any] = {"resourceVersion": str(snapshot.rv)}
    if limit is not None and index < end and items:
        list_meta["continue"] = _encode_continue(snapshot.rv, keys[index - 1])
        if predicate is None:
            list_meta["remainingItemCount"] = end - index
    return {
        "kind": kind.list_kind,
        "apiVersion": kind.api_version,
        "metadata": list_meta,
        "items": [_list_item(server, kind, obj) for obj in items],
    }


def _list_item(server: ApiServer, kind: ResourceKind, obj: Object) -> Object:
    """Built-in list items carry no apiVersion/kind (the list says it); custom resources keep theirs."""
    if kind.builtin:
        item = obj.copy()
        item.pop("apiVersion", None)
        item.pop("kind", None)
        return item
    return server.present(kind, obj)


def _list_rv(server: ApiServer, params: ReadParams) -> int | None:
    """The snapshot a list reads (None: the newest), per the API concepts' table: unset or "0" read the newest;
    a version reads "not older than" it (the newest), except Exact, which a paginated list implies."""
    rv = params.resource_version
    if not rv or rv == "0":
        return None
    wanted = parse_rv(rv)
    current = server.store.rv
    if wanted > current:
        raise ApiError(
            504,
            "Timeout",
            f"Too large resource version: {wanted}, current: {current}",
            details={
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1,
            },
        )
    match = params.resource_version_match
    if match not in (None, "Exact", "NotOlderThan"):
        raise bad_request(f'invalid resourceVersionMatch "{match}": use Exact or NotOlderThan')
    if match == "Exact" or (match is None and params.limit > 0):
        return wanted
    return None


def _stale_continue(rv: int, last_key: Key, server: ApiServer) -> ApiError:
    error = expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list "
        "without the continue parameter, or use the continue token in this response to retrieve the remainder of "
        "the results. Continuing with the provided token results in an inconsistent list - objects that were "
        "created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
    )
    error.list_meta = {"continue": _encode_continue(server.store.rv, last_key)}  # type: ignore[attr-defined]
    return error


def _watch_start(params: ReadParams) -> tuple[bool, bool]:
    """(send the current state first, end it with the initial-events-end bookmark)."""
    rv = params.resource_version
    if params.send_initial_events is not None:
        causes = []
        if params.send_initial_events and not params.allow_bookmarks:
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "field": "allowWatchBookmarks",
                    "message": "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                }
            )
        if params.resource_version_match != "NotOlderThan":
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "field": "resourceVersionMatch",
                    "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                }
            )
        if causes:
            raise invalid("ListOptions", "", causes, "meta.k8s.io")
        return params.send_initial_events, params.send_initial_events
    if params.resource_version_match:
        raise invalid(
            "ListOptions",
            "",
            [
                {
                    "reason": "FieldValueForbidden",
                    "field": "resourceVersionMatch",
                    "message": "Forbidden: resourceVersionMatch is forbidden for watch",
                }
            ],
            "meta.k8s.io",
        )
    return rv in (None, "", "0"), False


def watch_events(
    server: ApiServer, kind: ResourceKind, namespace: str | None, params: ReadParams, *, bookmark_interval: float
) -> Iterator[list[dict[str, Any]]]:
    """Batches of watch events (dicts), ending at the timeout; raises `DroppedStream` when the sandbox cuts the stream.

    Bad parameters raise here, before the stream starts, so they become a normal error response. Batches let the
    HTTP layer write everything that is ready in one send; each event is still its own frame.
    """
    predicate = object_predicate(params.label_selector, params.field_selector)
    initial, end_bookmark = _watch_start(params)
    start_rv = None if initial else parse_rv(params.resource_version or "0")
    return _events(server, kind, namespace, params, predicate, start_rv, end_bookmark, bookmark_interval)


def _events(
    server: ApiServer,
    kind: ResourceKind,
    namespace: str | None,
    params: ReadParams,
    predicate: Any,
    start_rv: int | None,
    end_bookmark: bool,
    bookmark_interval: float,
) -> Iterator[list[dict[str, Any]]]:
    store, faults = server.store, server.faults
    timeout = min(params.timeout_seconds or MAX_WATCH_SECONDS, MAX_WATCH_SECONDS)
    deadline = time.monotonic() + timeout
    drop_epoch = faults.drop_epoch
    with store.lock:
        bucket = store.bucket(kind.storage)
        if start_rv is None:
            snapshot = store.snapshot(kind.storage)
            start_rv = snapshot.rv
            seed = [
                obj
                for key, obj in zip(snapshot.keys, snapshot.objects, strict=True)
                if _in_scope(kind, namespace, key) and (predicate is None or predicate(obj))
            ]
        else:
            seed = []
            if start_rv < store.compacted:
                yield [_expired_event(start_rv, store.compacted)]
                return
        position = bucket.event_index_after(start_rv)
    for begin in range(0, len(seed), WATCH_BATCH):
        yield [{"type": "ADDED", "object": server.present(kind, obj)} for obj in seed[begin : begin + WATCH_BATCH]]
    if end_bookmark:
        yield [_bookmark(kind, start_rv, initial_events_end=True)]
    next_bookmark = time.monotonic() + bookmark_interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        with store.lock:
            if not store.has_storage(kind.storage, bucket):
                return
            if position < bucket.base:
                yield [_expired_event(start_rv, store.compacted)]
                return
            if position - bucket.base >= len(bucket.events):
                store.changed.wait(max(0.0, min(deadline, next_bookmark) - now))
            pending = bucket.events[position - bucket.base : position - bucket.base + WATCH_BATCH]
            position += len(pending)
            bookmark_rv = store.rv if position - bucket.base >= len(bucket.events) else None
        _honour_faults(server, drop_epoch)
        batch = []
        for event in pending:
            converted = _filtered(server, kind, namespace, predicate, event)
            if converted is not None:
                batch.append(converted)
            start_rv = event.rv
        if params.allow_bookmarks and bookmark_rv is not None and time.monotonic() >= next_bookmark:
            batch.append(_bookmark(kind, bookmark_rv))
            next_bookmark = time.monotonic() + bookmark_interval
        if batch:
            yield batch


def _honour_faults(server: ApiServer, drop_epoch: int) -> None:
    faults = server.faults
    while faults.stalled and faults.drop_epoch == drop_epoch:
        time.sleep(0.05)
    if faults.drop_epoch != drop_epoch:
        raise DroppedStream


def _in_scope(kind: ResourceKind, namespace: str | None, key: Key) -> bool:
    return not (kind.namespaced and namespace) or key[0] == namespace


def _filtered(
    server: ApiServer, kind: ResourceKind, namespace: str | None, predicate: Any, event: Event
) -> dict[str, Any] | None:
    """The event as this watcher sees it: an object leaving its selector is DELETED for it, entering is ADDED."""
    if not _in_scope(kind, namespace, event.key):
        return None
    event_type, obj = event.type, event.obj
    if predicate is not None:
        now_matches = predicate(obj)
        if event.type == "MODIFIED" and event.prev is not None:
            was_matching = predicate(event.prev)
            if now_matches and not was_matching:
                event_type = "ADDED"
            elif was_matching and not now_matches:
                event_type = "DELETED"
                obj = {**event.prev, "metadata": {**event.prev["metadata"], "resourceVersion": str(event.rv)}}
            elif not now_matches:
                return None
        elif not now_matches:
            return None
    return {"type": event_type, "object": server.present(kind, obj)}


def _bookmark(kind: ResourceKind, rv: int, *, initial_events_end: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": metadata}}


def _expired_event(rv: int, compacted: int) -> dict[str, Any]:
    return {"type": "ERROR", "object": expired(f"too old resource version: {rv} ({compacted})").status()}
