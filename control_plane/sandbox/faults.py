"""Fault controls for tests and benchmarks: failed requests, latency, stalled and dropped watch streams.

These are how the sync operator's tests prove R2-R6 of RELIABILITY.md against real HTTP: a 429 burst, a 500, a watch
that goes silent (a blackhole) or a connection cut mid-stream.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from control_plane.kubeapi.errors import ApiError

REASONS = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected by the sandbox"),
    503: ("ServiceUnavailable", "The server is currently unable to handle the request (injected by the sandbox)"),
    504: ("Timeout", "The server was unable to return a response in the time allotted (injected by the sandbox)"),
}


REQUEST_LOG_SIZE = 10_000


@dataclass(frozen=True)
class Request:
    """One API request as the sandbox received it (the last value of each query parameter)."""

    at: float
    method: str
    path: str
    query: dict[str, str]

    @property
    def is_watch(self) -> bool:
        return self.query.get("watch") in ("true", "1")

    @property
    def is_list(self) -> bool:
        return self.method == "GET" and not self.is_watch and "limit" in self.query


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    path_contains: str


class InjectedFailure(ApiError):
    """An error the sandbox was told to answer; `retryAfterSeconds` becomes the Retry-After header."""

    def __init__(self, status: int, retry_after: int | None) -> None:
        reason, message = REASONS.get(status, ("InternalError", f"injected failure {status}"))
        details = {"retryAfterSeconds": retry_after} if retry_after is not None else None
        super().__init__(status, reason, message, details=details)


class Faults:
    """Thread-safe switches read by the HTTP layer on every request and by every watch stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self.latency = 0.0
        self._stalled = threading.Event()
        self.drop_epoch = 0
        self.requests_seen = 0
        # What clients asked, newest last, so tests can assert on a client's behaviour (relists, watch versions).
        self._requests: collections.deque[Request] = collections.deque(maxlen=REQUEST_LOG_SIZE)

    def fail_next(
        self, count: int, status: int = 500, *, retry_after: int | None = None, path_contains: str = ""
    ) -> None:
        """The next `count` API requests (whose path contains `path_contains`) answer `status`."""
        with self._lock:
            self._failures.append(_Failure(count, status, retry_after, path_contains))

    def record(self, method: str, path: str, query: Mapping[str, list[str]]) -> None:
        request = Request(time.monotonic(), method, path, {k: v[-1] for k, v in query.items()})
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Request]:
        """The most recent requests (up to REQUEST_LOG_SIZE), oldest first; a copy."""
        with self._lock:
            return list(self._requests)

    def forget_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def take_failure(self, path: str) -> InjectedFailure | None:
        with self._lock:
            self.requests_seen += 1
            for failure in self._failures:
                if failure.path_contains in path:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return InjectedFailure(failure.status, failure.retry_after)
        return None

    def add_latency(self, seconds: float) -> None:
        """Every request waits this long before it is handled (0 to stop)."""
        self.latency = seconds

    def stall_watches(self) -> None:
        """Open watch streams go silent without closing, like a network blackhole, until `resume_watches()`."""
        self._stalled.set()

    def resume_watches(self) -> None:
        self._stalled.clear()

    @property
    def stalled(self) -> bool:
        return self._stalled.is_set()

    def drop_watches(self) -> None:
        """Cut every open watch connection now, without the closing chunk (new watches are unaffected)."""
        with self._lock:
            self.drop_epoch += 1

    def wait_latency(self) -> None:
        if self.latency:
            time.sleep(self.latency)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
        self.latency = 0.0
        self._stalled.clear()
