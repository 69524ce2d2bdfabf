"""Who is acting, through which face, under which request id.

Set once per request, command or task and read by the audit service, so services never take an `actor` argument
they would have to thread through every call.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


class Face:
    """The ways into devplat; every audit row names one."""

    ADMIN = "admin"
    API = "api"
    CLI = "cli"
    MCP = "mcp"
    SYNC = "sync"
    SYSTEM = "system"
    CHOICES = [(v, v) for v in (ADMIN, API, CLI, MCP, SYNC, SYSTEM)]


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    username: str = ""
    token_key_id: str = ""
    face: str = Face.SYSTEM
    request_id: str = ""


NOBODY = Actor()
_current: ContextVar[Actor] = ContextVar("devplat_actor", default=NOBODY)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_actor() -> Actor:
    return _current.get()


def actor_for(user: Any, *, face: str, token_key_id: str = "", request_id: str = "") -> Actor:
    authenticated = bool(getattr(user, "is_authenticated", False))
    return Actor(
        user_id=user.pk if authenticated else None,
        username=user.get_username() if authenticated else "",
        token_key_id=token_key_id,
        face=face,
        request_id=request_id or new_request_id(),
    )


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Run a block as `actor`; the previous actor is restored afterwards."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def update_actor(**changes: Any) -> None:
    """Refine the current actor in place, e.g. once the API has authenticated the caller."""
    _current.set(replace(_current.get(), **changes))
