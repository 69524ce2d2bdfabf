"""Request-scoped context: the actor (face from the URL, request id from `X-Request-ID` or a new one), and the
API's guards on request bodies, URLs and query time."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse

from devplat.core.actor import Face, acting, actor_for, new_request_id
from devplat.core.api.errors import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def face_for_path(path: str) -> str:
    if path.startswith("/admin/"):
        return Face.ADMIN
    if path.startswith("/mcp/"):
        return Face.MCP
    return Face.API


class ActorMiddleware:
    """Sets the actor for the request: the session's user (admin, browser), refined by the API base after DRF
    authenticates a token."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else new_request_id()
        with acting(actor_for(request.user, face=face_for_path(request.path), request_id=request_id)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def is_api_path(path: str) -> bool:
    """The agent-facing endpoints: the REST API and MCP (served by a DRF view too)."""
    return path.startswith("/api/") or path == "/mcp" or path.startswith("/mcp/")


class _Applied:
    """A statement_timeout this module gave a session, and what the session had before it.

    Set inside a transaction (a test's, or a caller's atomic block), the setting is `pending` until the
    transaction commits, and a rollback takes it back to `before`; the on-commit hook Django keeps for it tells the
    two apart without asking the server.
    """

    __slots__ = ("before", "milliseconds", "pending")

    def __init__(self, milliseconds: int, before: _Applied | None, *, pending: bool) -> None:
        self.milliseconds = milliseconds
        self.before = before
        self.pending = pending

    def __call__(self) -> None:  # the on-commit hook: the transaction that set it committed
        self.pending = False


# What each open connection's session was given, so an API request sets its statement_timeout once per connection
# (not once per request) and a request outside the API puts the server's default back once. Keyed weakly by the
# driver's connection: a reconnect starts from the server's default, as PostgreSQL does.
_session_timeouts: weakref.WeakKeyDictionary[Any, _Applied] = weakref.WeakKeyDictionary()


def _in_effect(db: BaseDatabaseWrapper, applied: _Applied | None) -> _Applied | None:
    """The setting the session has now: the latest one not taken back by a rollback (None: the server's default)."""
    while applied is not None and applied.pending and not any(hook[1] is applied for hook in db.run_on_commit):
        applied = applied.before
    return applied


# The statement_timeout the current request's queries should run under: set by the middleware for API requests,
# 0 (the server's default) for everything else, including whatever runs outside a request.
_wanted_timeout: ContextVar[int] = ContextVar("devplat_statement_timeout", default=0)


def statement_timeout(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """An execute wrapper: before a query, the session gets the statement_timeout `_wanted_timeout` says, unless it
    has it already.

    Installed for good on a connection once it serves a request, so a query after an API request but outside any
    (a test's teardown, a signal handler) also runs with the server's default again. The SET costs one round trip
    when a connection goes between the API and the rest (admin pages, health probes), nothing on the requests in
    between, and goes straight to the driver, outside Django's query log, as the backend's own session set-up does.
    """
    db: BaseDatabaseWrapper = context["connection"]
    wanted = _wanted_timeout.get()
    current = _in_effect(db, _session_timeouts.get(db.connection))
    if (current.milliseconds if current is not None else 0) != wanted and not db.needs_rollback:
        with db.wrap_database_errors:
            if wanted:
                db.connection.execute("SELECT set_config('statement_timeout', %s, false)", [f"{wanted}ms"])
            else:
                db.connection.execute("RESET statement_timeout")
        applied = _Applied(wanted, current, pending=db.in_atomic_block)
        if applied.pending:
            db.on_commit(applied)
        _session_timeouts[db.connection] = applied
    return execute(sql, params, many, context)


class ApiGuardMiddleware:
    """What every request to the API (`/api/`, and MCP at `/mcp/`) gets before any view runs (R17).

    A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` is refused with 413 before anything reads it; a NUL character in the
    path or query (which no name or value can hold, and PostgreSQL cannot compare) is a 400, not a failed query;
    and the request's queries run under `DEVPLAT_API_STATEMENT_TIMEOUT_MS` (a cancelled one answers 503, see
    `devplat.core.api.errors`). Everything else (the admin, health probes) runs with the server's default timeout;
    Celery workers and management commands never pass through here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = is_api_path(request.path)
        if is_api and _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return problem_response(
                request,
                413,
                f"The request body is larger than this server accepts ({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} "
                "bytes). Send a smaller document.",
                code="payload_too_large",
            )
        if is_api and _has_nul(request):
            return problem_response(
                request, 400, "The URL holds a NUL character (%00), which no name or value can contain.", code="invalid"
            )
        if statement_timeout not in connection.execute_wrappers:
            connection.execute_wrappers.insert(0, statement_timeout)  # first: `execute_wrapper()` pops the last
        wanted = _wanted_timeout.set(settings.DEVPLAT_API_STATEMENT_TIMEOUT_MS if is_api else 0)
        try:
            return self.get_response(request)
        finally:
            _wanted_timeout.reset(wanted)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django treats a malformed length as no body, and so reads none


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query
