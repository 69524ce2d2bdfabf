"""Run an iterator ahead in a helper thread, so its work overlaps with the consumer's.

Used where one side waits on I/O while the other computes: the sync derives a list's rows while the writer waits
for PostgreSQL to store the previous page, and the Kubernetes client fetches a list's next page while the current
one is decoded (the GIL is released while either waits), so on two cores both halves run side by side.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(source: Iterator[T], *, depth: int = 2, name: str = "devplat-read-ahead") -> Iterator[T]:
    """The items of `source`, produced up to `depth` items ahead in a thread. An exception in `source` is
    raised here, in order; closing this generator early stops the thread after its current item."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    closed = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                if not _put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            _put(_Failed(exc))
            return
        _put(_END)

    def _put(item: object) -> bool:
        while not closed.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        closed.set()
        thread.join(timeout=5)  # a fetch in progress ends within its read timeout; the thread is a daemon
