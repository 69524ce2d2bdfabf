"""One thread per watched type: it reads the watch stream and hands events to the window's writer.

The thread never touches the database, so a cluster's window needs one connection however many types it watches.
It follows client-go's reflector: resume from the newest resourceVersion seen, a jittered server timeout, backoff
with full jitter on errors (429 and refused connections included) without relisting, and on 410 it stops and tells
the writer, which relists. A watch that ends at once with nothing in it counts as an error, so a server that closes
streams immediately is not hammered (R5).
"""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from control_plane.kube.client import KubeClient, WatchCanceller
from control_plane.kube.errors import KubeError, KubeExpired
from control_plane.sync.backoff import Backoff
from control_plane.sync.rows import TypeInfo
from control_plane.sync.types import served_type

# R5: the server ends each watch after a jittered 5-10 minutes; the client's read timeout is that plus a grace.
WATCH_TIMEOUT_RANGE = (300.0, 600.0)
SHORT_WATCH_SECONDS = 1.0
PUT_POLL_SECONDS = 0.5

EVENT, EXPIRED, ERROR, DONE = "event", "expired", "error", "done"


@dataclass(frozen=True, slots=True)
class WatchItem:
    """What a watcher tells the writer: an event, that its version expired, an error (and its backoff), or done."""

    what: str
    rt: TypeInfo
    origin: int
    event: dict[str, Any] | None = None
    received: float = 0.0
    error: str = ""
    delay: float = 0.0


class Watcher(threading.Thread):
    """Watches one type from `cursor` until cancelled, the deadline passes, or (with `once`) after one pass."""

    def __init__(
        self,
        client: KubeClient,
        rt: TypeInfo,
        cursor: str,
        out: queue.Queue[WatchItem],
        *,
        deadline: float,
        once: bool = False,
        timeout_range: tuple[float, float] = WATCH_TIMEOUT_RANGE,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name=f"devplat-watch-{client.name}-{rt.key}", daemon=True)
        self.client = client
        self.rt = rt
        self.cursor = cursor
        self.out = out
        self.halted = threading.Event()
        self.deadline = deadline
        self.once = once
        self.timeout_range = timeout_range
        self.backoff = backoff or Backoff()
        self.canceller = WatchCanceller()
        self._rng = random.Random()  # noqa: S311 (jitter, not security)

    def cancel(self) -> None:
        """Stop now: the stream in progress is cut and a backoff wait ends (the window is closing)."""
        self.halted.set()
        self.canceller.cancel()

    def run(self) -> None:
        try:
            self._watch_until_done()
        finally:
            self._put(WatchItem(DONE, self.rt, id(self)))

    def _watch_until_done(self) -> None:
        kube_type = served_type(self.rt)
        while not self.halted.is_set():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return
            timeout = 1 if self.once else max(1, int(min(self._rng.uniform(*self.timeout_range), remaining)))
            started, count = time.monotonic(), 0
            try:
                for event in self.client.watch(
                    kube_type, resource_version=self.cursor, timeout_seconds=timeout, canceller=self.canceller
                ):
                    count += 1
                    version = ((event.get("object") or {}).get("metadata") or {}).get("resourceVersion")
                    if version:
                        self.cursor = str(version)
                    self._put(WatchItem(EVENT, self.rt, id(self), event, time.monotonic()))
                    if self.halted.is_set():
                        return
                if self.once:
                    return
                if count == 0 and time.monotonic() - started < SHORT_WATCH_SECONDS:
                    raise KubeError(f"The watch of {self.rt.key} ended at once without an event.")
            except KubeExpired:
                self._put(WatchItem(EXPIRED, self.rt, id(self)))
                return
            except KubeError as exc:
                if self.halted.is_set():
                    return
                delay = self.backoff.next_delay(exc.retry_after)
                self._put(WatchItem(ERROR, self.rt, id(self), error=exc.message, delay=delay))
                if self.halted.wait(delay):
                    return

    def _put(self, item: WatchItem) -> None:
        """Hand over an item, waiting while the writer is behind (a bounded queue keeps memory flat), but never
        past the window's end."""
        while True:
            try:
                self.out.put(item, timeout=PUT_POLL_SECONDS)
                return
            except queue.Full:
                if self.halted.is_set():
                    return
