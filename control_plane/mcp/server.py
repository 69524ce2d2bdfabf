"""devplat's MCP server: the official SDK's `MCPServer` with the curated tools, spoken over streamable HTTP.

The SDK's streamable-HTTP app is an ASGI app; devplat is served by WSGI (gunicorn, runserver). Rather than a
second server or a WSGI-level fork in front of Django, `/mcp/` is an ordinary Django view (see `views.py`): the
request passes Django's middleware (allowed hosts, request id, actor) and DRF's token authentication, scopes and
throttles exactly like the REST API, and `respond` then hands the request to the SDK's own streamable-HTTP app
inside `async_to_sync`. Each request gets a fresh app in stateless JSON-response mode, so a POST is a plain
request/response: no session to keep between requests or processes, no event loop outliving the request, and the
tools' database work runs back on the request thread (see `tools.answer`).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from starlette.types import Message

from control_plane.mcp.audit import audit_tool_calls
from control_plane.mcp.tools import SCOPE_KEY, TOOLS, WRITING_TOOLS, Caller

# Where the SDK's app routes internally; the public URL is Django's.
ENDPOINT = "/mcp"
# Headers the tools never need: the token has been checked, and nothing downstream should hold it.
PRIVATE_HEADERS = frozenset({"authorization", "cookie"})

INSTRUCTIONS = (
    "devplat knows the Kubernetes and Crossplane resources of the platform's clusters, as your token's owner may "
    "see them. Find things with search_resources (health=degraded shows what is broken); ask explain_health why "
    "one is not ready and resource_tree what it is made of; follow what changes with changes_since and its "
    "cursor; list_capabilities shows what can be provisioned and request_capability requests it (a dry run unless "
    "dry_run=false; provision-scoped tokens only). Answers are compact JSON; ids link them."
)

server: MCPServer[Any] = MCPServer(
    name="devplat", title="devplat platform state", instructions=INSTRUCTIONS, middleware=[audit_tool_calls]
)
for tool in TOOLS:
    writes = tool in WRITING_TOOLS
    hints = ToolAnnotations(read_only_hint=not writes, destructive_hint=False, open_world_hint=writes)
    server.add_tool(tool, annotations=hints, structured_output=False)

# A stateless app starts and stops its session manager for every request; those INFO lines would be noise.
for noisy in ("mcp.server.streamable_http_manager", "mcp.server.streamable_http"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


def _scope(request: HttpRequest, caller: Caller) -> dict[str, Any]:
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
        if name.lower() not in PRIVATE_HEADERS
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": ENDPOINT,
        "raw_path": ENDPOINT.encode(),
        "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "server": (request.META.get("SERVER_NAME", ""), int(request.META.get("SERVER_PORT") or 0)),
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
        SCOPE_KEY: caller,
    }


async def _exchange(scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One HTTP exchange with a fresh stateless app: the request body in, the status, headers and body out."""
    app = server.streamable_http_app(
        streamable_http_path=ENDPOINT,
        stateless_http=True,
        json_response=True,
        # Django has checked the Host header against ALLOWED_HOSTS; the SDK's own allow-list defaults to localhost.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )
    status, headers, chunks = 500, [], []
    answered = anyio.Event()
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()  # the client is there until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                answered.set()

    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    return status, headers, b"".join(chunks)


def respond(request: HttpRequest, caller: Caller) -> HttpResponse:
    """Serve one MCP request (already authenticated as `caller`) with the SDK's streamable-HTTP transport."""
    status, headers, body = async_to_sync(_exchange)(_scope(request, caller), request.body)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() != b"content-length":  # Django sets its own
            response[name.decode("latin-1")] = value.decode("latin-1")
    return response
