"""DRF authentication with devplat API tokens: `Authorization: Bearer dp_<key_id>_<secret>`."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from identity.services import TokenRejected, token_authenticate


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        if not credentials.strip():
            raise exceptions.AuthenticationFailed(
                "No token after 'Bearer'; send Authorization: Bearer dp_<id>_<secret>."
            )
        try:
            token = token_authenticate(credentials)
        except TokenRejected as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.owner, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="devplat"'
