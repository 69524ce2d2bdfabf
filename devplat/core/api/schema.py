"""OpenAPI helpers: the bearer-token scheme and the problem+json error responses every operation documents."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

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
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses for an operation (401 and 403 always apply)."""
    return {code: ERRORS[code] for code in sorted({401, 403, *codes})}


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
