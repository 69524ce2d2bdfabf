"""`/mcp/`: MCP over streamable HTTP, behind the same token authentication, scopes and throttles as the REST API.

DRF does the gatekeeping (identity.authentication.TokenAuthentication, IsAuthenticatedWithScope, TokenRateThrottle),
so a missing or bad token is a 401 problem+json with `WWW-Authenticate: Bearer`, a throttled token a 429, exactly
as on /api/v1/. What passes is handed to the SDK's transport (`server.respond`), which answers in JSON-RPC.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from control_plane.mcp.server import respond
from control_plane.mcp.tools import Caller
from devplat.core.actor import Face, current_actor
from devplat.core.api.viewsets import note_caller
from identity.authentication import TokenAuthentication


@extend_schema(exclude=True)  # MCP describes itself (tools/list); it is not part of the REST API's OpenAPI schema
class McpView(APIView):
    # Tokens only: MCP clients send a bearer token, and without sessions there is no CSRF to defend against.
    authentication_classes = [TokenAuthentication]
    # Every MCP message is a POST: a `read` token may use the reading tools; request_capability checks for
    # `provision` itself.
    write_scope = "read"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        note_caller(request, Face.MCP)  # the audit rows the tools write name this user and token

    def post(self, request: Request) -> HttpResponse:
        may_provision = bool(getattr(request.auth, "allows", lambda scope: False)("provision"))
        return respond(request._request, Caller(user=request.user, actor=current_actor(), may_provision=may_provision))
