"""Liveness and readiness probes for load balancers and Kubernetes."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests; says nothing of its dependencies."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    cache.get("devplat:readyz")
    return "ok"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: PostgreSQL and Redis both answer. 503 with the failing check otherwise."""
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure of a dependency means not ready; say which and why
            checks[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)
