"""Every MCP tool call leaves an audit row under the caller's token, whatever became of it.

The row is written by a middleware of the SDK's server, around `tools/call`, so calls that never reach a tool
(an unknown tool name, arguments the input schema refuses) are recorded as well as answered and failed ones. It
names the tool, the arguments as the agent sent them and the outcome; the actor (user, token key id, face MCP,
request id) is the one the view authenticated. If the row cannot be written the call fails: no answer without
its record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from control_plane.mcp.tools import Caller, caller_of
from devplat.core.actor import acting
from governance.services import audit_record

ACTION = "mcp.tool.call"
TARGET_TYPE = "mcp.tool"
# The audit log keeps what was asked, not whatever an agent pastes into an argument.
ARGUMENTS_CHARS = 2000
ERROR_CHARS = 500


def _arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    arguments = params.get("arguments")
    if not isinstance(arguments, dict):
        return {}
    size = len(json.dumps(arguments, default=str))
    return arguments if size <= ARGUMENTS_CHARS else {"truncated": True, "chars": size}


def _error_of(result: HandlerResult) -> str:
    """The error text of a tool result ("" when it succeeded)."""
    data = result.model_dump(by_alias=True, mode="json") if isinstance(result, BaseModel) else result or {}
    if not data.get("isError"):
        return ""
    texts = [block.get("text", "") for block in data.get("content") or [] if isinstance(block, dict)]
    return " ".join(texts)[:ERROR_CHARS] or "error"


def _record(caller: Caller, tool: str, arguments: dict[str, Any], error: str) -> None:
    after: dict[str, Any] = {"arguments": arguments, "outcome": "error" if error else "ok"}
    if error:
        after["error"] = error
    with acting(caller.actor), transaction.atomic():
        audit_record(action=ACTION, target_type=TARGET_TYPE, target_id=tool, target_repr=tool, after=after)


async def audit_tool_calls(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: pass everything through, and write one audit row per `tools/call` once it is answered
    (on the request thread, like the tools' own reads)."""
    if ctx.method != "tools/call":
        return await call_next(ctx)
    caller = caller_of(ctx.request)
    params = ctx.params or {}
    tool = str(params.get("name", ""))[:64]
    error = "internal error"  # what is recorded when the call raises anything but a protocol error
    try:
        result = await call_next(ctx)
        error = _error_of(result)
        return result
    except MCPError as exc:
        error = exc.message[:ERROR_CHARS] or "protocol error"
        raise
    finally:
        await sync_to_async(_record, thread_sensitive=True)(caller, tool, _arguments(params), error)
