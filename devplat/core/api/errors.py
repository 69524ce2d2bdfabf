"""Every API error in one shape: RFC 9457 problem details (`application/problem+json`).

DRF's exceptions go through `problem_exception_handler`; Django's own 404 and 500 under `/api/` go through
`problem_response`, so a client never has to parse an HTML error page.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from psycopg.errors import QueryCanceled
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from devplat.core.errors import Conflict as ServiceConflict
from devplat.core.errors import Forbidden, NotFound, Unavailable

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://devplat.dev/problems/"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this server accepts. Send a smaller document."
    default_code = "payload_too_large"


class QueryTimeout(exceptions.APIException):
    """A query ran past the API's statement timeout (R17) and PostgreSQL cancelled it: a load problem, not a bug
    in the request, so it is a 503 with a Retry-After rather than a 500."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The database took too long to answer and the query was cancelled. Narrow the request (filters, a "
        "smaller page_size) or retry after the time in Retry-After."
    )
    default_code = "query_timeout"
    wait = 5  # seconds, sent as Retry-After


class ClusterUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A cluster this request needs could not be reached. Retry after the time in Retry-After."
    default_code = "cluster_unavailable"
    wait = 10  # seconds, sent as Retry-After


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


def problem(status_code: int, detail: str, *, code: str = "", instance: str = "", **extra: Any) -> dict[str, Any]:
    """A problem-details document; `type` is a stable URI per error code that agents can branch on."""
    code = code or HTTPStatus(status_code).phrase.lower().replace(" ", "_")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def _flatten(detail: Any) -> str:
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    return str(detail)


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Errors as one flat map of field path to messages, whatever their nesting (a list's items, a nested object):
    `depends_on.2` for the third item. Agents read one shape; the schema documents that one."""
    if isinstance(detail, dict):
        items = [(str(key), value) for key, value in detail.items()]
    elif isinstance(detail, list) and any(isinstance(value, dict | list) for value in detail):
        items = [(str(index), value) for index, value in enumerate(detail) if value]
    else:
        return {
            prefix or "non_field_errors": [
                str(message) for message in (detail if isinstance(detail, list) else [detail])
            ]
        }
    flat: dict[str, list[str]] = {}
    for key, value in items:
        flat.update(_field_errors(value, f"{prefix}.{key}" if prefix else key))
    return flat


def _as_api_exception(exc: Exception) -> Exception:
    """Django's and the services' own exceptions, as the DRF exceptions with the same meaning."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        return QueryTimeout()
    if isinstance(exc, NotFound | Http404):
        return exceptions.NotFound(str(exc) or None)
    if isinstance(exc, Forbidden | DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ServiceConflict):
        return Conflict(str(exc))
    if isinstance(exc, Unavailable):
        return ClusterUnavailable(str(exc))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    return exc


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler answers with a problem document
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = _field_errors(
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
        detail = "The request is invalid: " + _flatten(exc.detail)
        code = "invalid"
    elif isinstance(exc, exceptions.APIException):
        detail = _flatten(exc.detail)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    wait = getattr(exc, "wait", None)
    if wait is not None:
        # DRF sends Retry-After as the whole seconds of `wait`; the body rounds up so waiting it is always enough.
        extra["retry_after"] = int(wait) + 1 if isinstance(exc, exceptions.Throttled) else int(wait)
    response.data = problem(response.status_code, detail, code=str(code), instance=instance, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    if request is not None:
        # A problem is JSON even from a view that renders something else on success (the schema's YAML).
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    return response


def problem_response(request: HttpRequest, status_code: int, detail: str, *, code: str = "") -> JsonResponse:
    """A problem document for errors raised outside DRF (Django's 400/404/500 handlers, middleware)."""
    return JsonResponse(
        problem(status_code, detail, code=code, instance=request.get_full_path()),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
