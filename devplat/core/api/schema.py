"""OpenAPI helpers: the bearer-token scheme, the problem+json error responses every operation documents, and the
schema class and hook that fill in what agents need and drf-spectacular leaves out."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import get_view_model
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from devplat.core.api.errors import PROBLEM_CONTENT_TYPE

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "instance": serializers.CharField(required=False),
        "errors": serializers.DictField(required=False, child=serializers.ListField(child=serializers.CharField())),
    },
)


def _problem(description: str, status: int, code: str, detail: str) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "type": f"https://devplat.dev/problems/{code.replace('_', '-')}",
                    "title": description,
                    "status": status,
                    "detail": detail,
                    "code": code,
                },
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


ERRORS: dict[int, OpenApiResponse] = {
    400: _problem("Bad Request", 400, "invalid", "The request is invalid: name: This field is required."),
    401: _problem("Unauthorized", 401, "not_authenticated", "Authentication credentials were not provided."),
    403: _problem("Forbidden", 403, "permission_denied", "You do not have permission to perform this action."),
    404: _problem("Not Found", 404, "not_found", "No Team matches the given query."),
    409: _problem(
        "Conflict",
        409,
        "conflict",
        "Database/orders-db already exists in team-checkout on prod; change it with an update or delete it first.",
    ),
    429: _problem("Too Many Requests", 429, "throttled", "Request was throttled. Expected available in 12 seconds."),
    503: _problem(
        "Service Unavailable",
        503,
        "query_timeout",
        "The database took too long to answer and the query was cancelled. Narrow the request (filters, a "
        "smaller page_size) or retry after the time in Retry-After.",
    ),
}
# Every operation can be refused these: 401/403 by the permission check, 429 by the token's rate, 503 by the
# statement timeout (R17). Operations name the others they can answer.
ALWAYS = (401, 403, 429, 503)
PAYLOAD_TOO_LARGE = {
    "description": "Content Too Large",
    "content": {
        PROBLEM_CONTENT_TYPE: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "examples": {
                "PayloadTooLarge": {
                    "value": {
                        "type": "https://devplat.dev/problems/payload-too-large",
                        "title": "Request Entity Too Large",
                        "status": 413,
                        "detail": "The request body is larger than this server accepts (2097152 bytes). Send a "
                        "smaller document.",
                        "code": "payload_too_large",
                    },
                    "summary": "payload_too_large",
                }
            },
        }
    },
}
RETRY_AFTER = {
    "description": "Seconds to wait before sending the request again.",
    "schema": {"type": "integer", "minimum": 0},
}


def errors(*codes: int) -> dict[Any, OpenApiResponse]:
    """The documented error responses for an operation: those in `ALWAYS`, plus `codes`. Keyed by status and media
    type, so the schema says what the API sends: `application/problem+json`."""
    return {(code, PROBLEM_CONTENT_TYPE): ERRORS[code] for code in sorted({*ALWAYS, *codes})}


def limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Spectacular postprocessing hook for what R17 adds to every operation: each documented 429 and 503 declares
    its `Retry-After` header, so an agent knows how long to back off, and each operation that takes a body documents
    the 413 a body over the limit gets."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status in ("429", "503"):
                    response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER
            if "requestBody" in operation and "413" not in responses:
                responses["413"] = PAYLOAD_TOO_LARGE
    return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.TokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dp_<id>_<secret>",
            "description": "An API token created with `devplat tokens create` or POST /api/v1/tokens/.",
        }


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema with every parameter described, so an agent never has to guess what one means: a
    lookup in the path says which object it names, a filter (without a description of its own) what it keeps."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if not (parameter.get("description") or "").strip():
                parameter["description"] = self._describe(parameter["name"], parameter["in"])
        return operation

    def _describe(self, name: str, location: str) -> str:
        model = get_view_model(self.view, emit_warnings=False)
        lookup = getattr(self.view, "lookup_url_kwarg", None) or getattr(self.view, "lookup_field", None)
        field = _model_field(model, "pk" if name == "id" else name)
        what = str(field.verbose_name) if field is not None else name.replace("_", " ")
        if model is None:
            return f"The {what}."
        noun = model._meta.verbose_name
        if location == "path":
            if name == lookup or (name == "id" and lookup == "pk"):
                return f"The {what} of the {noun}, as its list shows it."
            return f"The {what} this operation acts on."
        if field is not None and field.help_text:
            return str(field.help_text)
        return f"Only {model._meta.verbose_name_plural} whose {what} is this value."


def _model_field(model: Any, name: str) -> Any:
    if model is None:
        return None
    if name == "pk":
        return model._meta.pk
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
