"""Rate limits per API token (or per user for sessions, per address for anonymous calls), counted in Redis.

The rate depends on who calls (R17): a token's scope picks its rate (`read`, `provision` or `admin` in
`DEFAULT_THROTTLE_RATES`), signed-in browser sessions have `session` and anonymous calls `anon`. Each token counts
on its own, so one agent's burst never spends another token's allowance, even of the same user.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        """No rate yet: it depends on the caller, so `allow_request` picks it (as DRF's ScopedRateThrottle does)."""

    @staticmethod
    def rate_scope(request: Request) -> str:
        """The `DEFAULT_THROTTLE_RATES` key for this caller."""
        token: Any = request.auth
        if getattr(token, "key_id", None):
            return str(token.scope)
        if request.user and request.user.is_authenticated:
            return "session"
        return "anon"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = self.rate_scope(request)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        key_id = getattr(request.auth, "key_id", None)
        if key_id:
            ident = f"token:{key_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
