"""Rate limits per API token (or per user for sessions, per address for anonymous calls), counted in Redis.

The rate depends on who calls (R17): a token's scope picks its rate (`read`, `provision` or `admin` in
`DEFAULT_THROTTLE_RATES`), signed-in browser sessions have `session` and anonymous calls `anon`. Each token counts
on its own, so one agent's burst never spends another token's allowance, even of the same user.

The window slides as DRF's does (a request is allowed while fewer than N were allowed in the last period), but the
log is a Redis sorted set checked and appended by one script: one round trip of a few bytes per request, where DRF's
`SimpleRateThrottle` reads and writes back the whole pickled log (a float per request in the window, 160 kB at
300 requests/s), and two workers reading the same log at once no longer both count from the old one.
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

from django.core.cache import cache
from redis.commands.core import Script
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

# KEYS[1]: the log; ARGV: now (s), the period (s), the allowed count, a unique member. Forgets what left the window,
# then logs this request if there is room (answers -1), else answers how long until the oldest entry leaves.
_SLIDING_WINDOW = """
local now, period, allowed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < allowed then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000))
  return '-1'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + period - now)
"""


# The script on a client of each cache backend's connection pool for writes (see `_sliding_window`).
_scripts: weakref.WeakKeyDictionary[Any, Script] = weakref.WeakKeyDictionary()


def _sliding_window(key: str) -> Script:
    """The sliding-window script, on the Redis client the cache writes `key` with. Made once per cache backend:
    Django's Redis cache builds a new client (with its table of reply callbacks) on every `get_client`, which
    cost as much CPU as the script's whole round trip; the client is only a handle on the backend's connection
    pool for writes, the same one every time."""
    backend = cache._cache  # type: ignore[attr-defined]  # a script needs the Redis client itself
    script = _scripts.get(backend)
    if script is None:
        script = _scripts[backend] = backend.get_client(key, write=True).register_script(_SLIDING_WINDOW)
    return script


class TokenRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        """No rate yet: it depends on the caller, so `allow_request` picks it (as DRF's ScopedRateThrottle does)."""
        self.retry_after: float | None = None

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
        if self.num_requests is None or self.duration is None:  # no rate for this caller
            return True
        key = cache.make_and_validate_key(self.get_cache_key(request, view))
        now = self.timer()
        member = f"{now!r}:{secrets.token_hex(4)}"  # unique: two requests in the same microsecond both count
        wait = float(_sliding_window(key)(keys=[key], args=[repr(now), self.duration, self.num_requests, member]))
        self.retry_after = None if wait < 0 else wait
        return self.retry_after is None

    def wait(self) -> float | None:
        """Seconds until the oldest request in the window leaves it (DRF rounds it up for `Retry-After`)."""
        return self.retry_after

    def get_cache_key(self, request: Request, view: Any) -> str:
        key_id = getattr(request.auth, "key_id", None)
        if key_id:
            ident = f"token:{key_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
