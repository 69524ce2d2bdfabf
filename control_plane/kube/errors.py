"""What can go wrong talking to a Kubernetes API server, as exceptions callers can act on.

The class says what to do (relist on `KubeExpired`, back off on `KubeTooManyRequests`, fix the request on
`KubeInvalid`); the message is the server's own `Status.message` when it sent one, because that is what names the
object, the conflicting field manager or the invalid field. Transport failures carry the server URL, never
credentials (the URL cannot hold any: `endpoints.check_server_url` refuses user info).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

BODY_EXCERPT_CHARS = 200


class KubeError(Exception):
    """A request to a Kubernetes API server failed. `status` and `reason` are the HTTP code and the Status reason."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class KubeUnreachable(KubeError):
    """No answer: connection refused, name not resolved, TLS failed, connect timed out, or the connection broke."""


class KubeTimeout(KubeError):
    """Connected, but the server sent nothing for longer than the client's read timeout."""


class KubeUnauthorized(KubeError):
    """401 (credentials not accepted) or 403 (accepted, but not allowed to do this)."""


class KubeNotFound(KubeError):
    """404: the object, or the resource type itself, does not exist."""


class KubeConflict(KubeError):
    """409: a stale resourceVersion, an object that already exists, or a server-side apply field-manager conflict."""


class KubeExpired(KubeError):
    """410: the resourceVersion or continue token is older than the server's history. Relist; never re-watch it."""


class KubeTooManyRequests(KubeError):
    """429: the server sheds load. `retry_after` is how many seconds it asked the client to wait, when it said."""


class KubeInvalid(KubeError):
    """400 or 422: the request or the object is wrong. `causes` are the server's per-field details."""

    def __init__(self, message: str, *, causes: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.causes = causes or []


class KubeServerError(KubeError):
    """5xx: the server (or something in front of it) failed; the request may succeed later."""


_BY_STATUS: dict[int, type[KubeError]] = {
    400: KubeInvalid,
    401: KubeUnauthorized,
    403: KubeUnauthorized,
    404: KubeNotFound,
    409: KubeConflict,
    410: KubeExpired,
    422: KubeInvalid,
    429: KubeTooManyRequests,
}


def error_from_status(
    status: Mapping[str, Any], *, http_status: int | None = None, retry_after: float | None = None
) -> KubeError:
    """The exception for a `Status` object: an error response's body, or the object of a watch ERROR event."""
    code = _int(status.get("code")) or http_status or 0
    details = status.get("details")
    if not isinstance(details, dict):
        details = {}
    if retry_after is None:
        retry_after = _float(details.get("retryAfterSeconds"))
    message = str(status.get("message") or "") or _default_message(code)
    reason = str(status.get("reason") or "") or None
    cls = _BY_STATUS.get(code) or (KubeServerError if code >= 500 else KubeError)
    kwargs: dict[str, Any] = {"status": code or None, "reason": reason, "retry_after": retry_after}
    if cls is KubeInvalid:
        causes = details.get("causes")
        kwargs["causes"] = [c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []
    return cls(message, **kwargs)


def error_from_response(http_status: int, body: bytes, headers: Mapping[str, str]) -> KubeError:
    """The exception for a non-2xx response. Bodies that are not a Status (a proxy's HTML page) are quoted briefly."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if 300 <= http_status < 400:
        location = headers.get("Location") or "an unnamed location"
        return KubeError(
            f"The API server answered {http_status} {_phrase(http_status)}, redirecting to {location}; devplat does "
            "not follow redirects from API servers. Register the URL the cluster really serves on.",
            status=http_status,
            reason="Redirect",
        )
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        return error_from_status(decoded, http_status=http_status, retry_after=retry_after)
    excerpt = body[:BODY_EXCERPT_CHARS].decode("utf-8", errors="replace").strip()
    message = _default_message(http_status) + (f": {excerpt}" if excerpt else "")
    return error_from_status({"code": http_status, "message": message}, retry_after=retry_after)


def error_from_transport(error: Exception, *, server: str, read_timeout: float | None = None) -> KubeError:
    """The exception for a request that got no HTTP answer (or lost it part way)."""
    cause = error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error
    if isinstance(cause, ReadTimeoutError):
        waited = f" for {read_timeout:g} s" if read_timeout else ""
        return KubeTimeout(f"The API server at {server} sent nothing{waited} (read timeout).")
    # NewConnectionError (and NameResolutionError) subclass ConnectTimeoutError in urllib3 2.x: test them first.
    if isinstance(cause, NameResolutionError):
        return KubeUnreachable(f"The API server host of {server} does not resolve: {_root(cause)}.")
    if isinstance(cause, NewConnectionError):
        return KubeUnreachable(f"Cannot connect to the API server at {server}: {_root(cause)}.")
    if isinstance(cause, ConnectTimeoutError):
        return KubeUnreachable(f"Connecting to the API server at {server} timed out.")
    if isinstance(cause, SSLError):
        return KubeUnreachable(f"The TLS handshake with the API server at {server} failed: {_root(cause)}.")
    if isinstance(cause, ProtocolError):
        return KubeUnreachable(f"The connection to the API server at {server} broke: {_root(cause)}.")
    return KubeUnreachable(f"The request to the API server at {server} failed: {_root(cause)}.")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, which is either a number of seconds or an HTTP date."""
    if not value:
        return None
    seconds = _float(value.strip())
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _root(error: BaseException) -> str:
    """The innermost cause's text: "[Errno 111] Connection refused" rather than urllib3's wrapper prose."""
    while True:
        inner = error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    return str(error) or type(error).__name__


def _default_message(code: int) -> str:
    return f"The API server answered {code} {_phrase(code)}" if code else "The API server reported an error"


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
