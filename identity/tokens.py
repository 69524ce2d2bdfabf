"""API token format and digests: `dp_<key_id>_<secret>`, HMAC-SHA256 under a versioned pepper."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from identity.constants import TOKEN_KEY_ID_BYTES, TOKEN_PREFIX, TOKEN_SECRET_BYTES

_TOKEN = re.compile(
    rf"^{TOKEN_PREFIX}_(?P<key_id>[0-9a-f]{{{2 * TOKEN_KEY_ID_BYTES}}})_(?P<secret>[A-Za-z0-9_-]{{16,128}})$"
)


class MalformedToken(ValueError):
    pass


@dataclass(frozen=True)
class TokenParts:
    key_id: str
    secret: str

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}_{self.key_id}_{self.secret}"


def generate() -> TokenParts:
    return TokenParts(key_id=secrets.token_hex(TOKEN_KEY_ID_BYTES), secret=secrets.token_urlsafe(TOKEN_SECRET_BYTES))


def parse(raw: str) -> TokenParts:
    match = _TOKEN.match(raw.strip())
    if not match:
        raise MalformedToken("The token is malformed; devplat tokens look like dp_<16 hex>_<secret>.")
    return TokenParts(key_id=match["key_id"], secret=match["secret"])


def current_pepper_id() -> int:
    return max(settings.DEVPLAT_TOKEN_PEPPERS)


def digest(parts: TokenParts, pepper_id: int) -> str:
    """The stored form of a token. Raises KeyError when the pepper has been retired."""
    pepper = settings.DEVPLAT_TOKEN_PEPPERS[pepper_id].encode()
    return hmac.new(pepper, f"{parts.key_id}.{parts.secret}".encode(), hashlib.sha256).hexdigest()


def matches(parts: TokenParts, pepper_id: int, stored_digest: str) -> bool:
    try:
        candidate = digest(parts, pepper_id)
    except KeyError:
        return False
    return hmac.compare_digest(candidate, stored_digest)
