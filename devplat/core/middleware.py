"""Request-scoped actor context: face from the URL, request id from `X-Request-ID` or a new one."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from devplat.core.actor import Face, acting, actor_for, new_request_id

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
