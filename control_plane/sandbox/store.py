"""Versioned object storage in the manner of etcd under kube-apiserver.

One global resourceVersion counter; every write appends an event to its resource's history. Stored objects are never
mutated in place (a write stores a new dict), so a snapshot is a list of references, and the state at an older
resourceVersion is rebuilt by undoing later events. History older than the compaction point is gone: reads and
watches that need it get 410 Expired, exactly what clients must handle against a real server.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from control_plane.kubeapi.errors import expired

Key = tuple[str, str]  # (namespace or "", name)
Storage = tuple[str, str]  # (group, plural)
Object = dict[str, Any]


@dataclass(slots=True)
class Event:
    """One committed change. `prev` is the object before it (None for ADDED), used to rebuild older snapshots."""

    rv: int
    type: str
    key: Key
    obj: Object
    prev: Object | None


@dataclass(slots=True)
class Snapshot:
    """A resource's objects at one resourceVersion, sorted by key as etcd returns them."""

    rv: int
    keys: list[Key]
    objects: list[Object]


@dataclass
class Bucket:
    objects: dict[Key, Object] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    base: int = 0  # absolute index of events[0]; grows as history is compacted
    last_rv: int = 0

    def event_index_after(self, rv: int) -> int:
        """Absolute index of the first event newer than `rv`."""
        return self.base + bisect.bisect_right(self.events, rv, key=lambda event: event.rv)


class Store:
    """Thread-safe. Writers hold `lock` for their whole read-modify-write; watchers wait on `changed`."""

    SNAPSHOT_CACHE = 16

    def __init__(self, *, max_events: int = 500_000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1  # like a fresh etcd after bootstrap: "0" stays the list/watch wildcard it is upstream
        self.compacted = 0
        self.max_events = max_events
        self._events_held = 0
        self._buckets: dict[Storage, Bucket] = {}
        self._snapshots: OrderedDict[tuple[Storage, int], Snapshot] = OrderedDict()
        self.uids: dict[str, tuple[Storage, Key]] = {}
        self.dependents: dict[str, set[tuple[Storage, Key]]] = {}
        self.namespace_sizes: Counter[str] = Counter()  # namespaced objects per namespace, to finish terminating ones

    def bucket(self, storage: Storage) -> Bucket:
        found = self._buckets.get(storage)
        if found is None:
            found = self._buckets[storage] = Bucket()
        return found

    def get(self, storage: Storage, key: Key) -> Object | None:
        bucket = self._buckets.get(storage)
        return bucket.objects.get(key) if bucket else None

    def next_rv(self) -> int:
        """Reserve the next resourceVersion. Call with `lock` held, then commit with it."""
        self.rv += 1
        return self.rv

    def commit(self, storage: Storage, key: Key, event_type: str, obj: Object, prev: Object | None, rv: int) -> None:
        """Store (or remove, for DELETED) one object at `rv` and wake watchers. Call with `lock` held."""
        bucket = self.bucket(storage)
        if key[0] and (event_type == "DELETED") == (key in bucket.objects):
            self.namespace_sizes[key[0]] += -1 if event_type == "DELETED" else 1
        if event_type == "DELETED":
            bucket.objects.pop(key, None)
            self._unindex(storage, key, prev)
        else:
            bucket.objects[key] = obj
            if prev is not None:
                self._unindex(storage, key, prev)
            self._index(storage, key, obj)
        bucket.events.append(Event(rv, event_type, key, obj, prev))
        bucket.last_rv = rv
        self._events_held += 1
        if self._events_held > self.max_events:
            self._compact_oldest()
        self.changed.notify_all()

    def drop_storage(self, storage: Storage) -> None:
        """Forget a resource whose CRD is gone; its watchers see the bucket vanish and end."""
        with self.lock:
            bucket = self._buckets.pop(storage, None)
            if bucket:
                self._events_held -= len(bucket.events)
                for key, obj in bucket.objects.items():
                    self._unindex(storage, key, obj)
                    if key[0]:
                        self.namespace_sizes[key[0]] -= 1
            self.changed.notify_all()

    def has_storage(self, storage: Storage, bucket: Bucket) -> bool:
        return self._buckets.get(storage) is bucket

    # Indexes for garbage collection: which objects name a given uid as their owner.

    def _index(self, storage: Storage, key: Key, obj: Object) -> None:
        meta = obj["metadata"]
        self.uids[meta["uid"]] = (storage, key)
        for ref in meta.get("ownerReferences") or ():
            self.dependents.setdefault(ref.get("uid", ""), set()).add((storage, key))

    def _unindex(self, storage: Storage, key: Key, obj: Object | None) -> None:
        if obj is None:
            return
        meta = obj["metadata"]
        if self.uids.get(meta["uid"]) == (storage, key):
            del self.uids[meta["uid"]]
        for ref in meta.get("ownerReferences") or ():
            holders = self.dependents.get(ref.get("uid", ""))
            if holders is not None:
                holders.discard((storage, key))
                if not holders:
                    del self.dependents[ref.get("uid", "")]

    # Snapshots for consistent paginated lists.

    def snapshot(self, storage: Storage, rv: int | None = None) -> Snapshot:
        """The objects at `rv` (now when None), sorted by key. 410 when history that far back was compacted."""
        with self.lock:
            bucket = self.bucket(storage)
            at = self.rv if rv is None else rv
            if at < self.compacted:
                raise expired(f"too old resource version: {at} ({self.compacted})")
            effective = min(at, bucket.last_rv)
            cached = self._snapshots.get((storage, effective))
            if cached is not None:
                self._snapshots.move_to_end((storage, effective))
                return Snapshot(at, cached.keys, cached.objects)
            state = dict(bucket.objects)
            for event in reversed(bucket.events):
                if event.rv <= at:
                    break
                if event.prev is None:
                    state.pop(event.key, None)
                else:
                    state[event.key] = event.prev
            keys = sorted(state)
            snap = Snapshot(at, keys, [state[k] for k in keys])
            self._snapshots[(storage, effective)] = snap
            if len(self._snapshots) > self.SNAPSHOT_CACHE:
                self._snapshots.popitem(last=False)
            return snap

    # History.

    def compact(self, rv: int | None = None) -> int:
        """Forget history up to `rv` (default: all of it). Watches and continue tokens from before it get 410."""
        with self.lock:
            target = self.rv if rv is None else min(rv, self.rv)
            self._compact_to(target)
            return target

    def _compact_to(self, target: int) -> None:
        if target <= self.compacted:
            return
        self.compacted = target
        for bucket in self._buckets.values():
            cut = bisect.bisect_right(bucket.events, target, key=lambda event: event.rv)
            if cut:
                del bucket.events[:cut]
                bucket.base += cut
                self._events_held -= cut
        for cache_key in [k for k in self._snapshots if k[1] < target]:
            del self._snapshots[cache_key]
        self.changed.notify_all()

    def _compact_oldest(self) -> None:
        """Keep memory bounded: drop the older half of the history, as etcd's periodic compaction would."""
        held = sorted(event.rv for bucket in self._buckets.values() for event in bucket.events)
        self._compact_to(held[len(held) // 2])

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block (with `lock` held) until `predicate()` or the timeout; True when the predicate holds."""
        return self.changed.wait_for(predicate, timeout)
