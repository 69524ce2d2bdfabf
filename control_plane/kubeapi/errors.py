"""Kubernetes API errors as the real server reports them: a `Status` object with reason, code and causes.

Every module of the sandbox, and the admission in `control_plane.kubeapi.schema`, raises `ApiError`; the sandbox's
HTTP layer turns it into the response body. Clients (kubectl,
the official Python client, our own sync) read `reason` and `code`, so these must match upstream exactly.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refuses. `reason` is a Kubernetes StatusReason (NotFound, Conflict, Invalid, ...)."""

    def __init__(self, code: int, reason: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(kind: str | None, name: str | None, group: str = "", causes: list[dict[str, str]] | None = None) -> dict:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', details=_details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409, "AlreadyExists", f'{qualified} "{name}" already exists', details=_details(resource, name, group)
    )


def conflict(resource: str, name: str, group: str, why: str, causes: list[dict[str, str]] | None = None) -> ApiError:
    """409 Conflict: a stale resourceVersion on update, or a server-side apply field-manager conflict."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
        details=_details(resource, name, group, causes),
    )


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> ApiError:
    """422 Invalid. Each cause is {"reason": "FieldValueRequired"|..., "message": ..., "field": "spec.x"}."""
    qualified = f"{kind}.{group}" if group else kind
    summary = ", ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details=_details(kind, name, group, causes)
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def expired(message: str) -> ApiError:
    """410 Gone with reason Expired: a compacted resourceVersion or a stale continue token. Clients must relist."""
    return ApiError(410, "Expired", message)
