"""Function-level authorization: signed in, and a token's scopes allow what the request does."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsAuthenticatedWithScope(BasePermission):
    """Safe methods need the `read` scope; anything else the view's `write_scope` (default `admin`).

    Session users are not scope-limited: scopes narrow what a token may do, never what its owner may do.
    """

    message = "This token's scopes do not allow this request. Create a token with the scope it needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if not hasattr(token, "allows"):
            return True
        needed = "read" if request.method in SAFE_METHODS else getattr(view, "write_scope", "admin")
        return bool(token.allows(needed))
