"""URL routes. Apps are named only by string (`include("identity.api.urls")`), so this module imports no domain app."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from devplat.core.api.errors import problem_response
from devplat.core.health import healthz, readyz

admin.site.site_header = "devplat operator console"
admin.site.site_title = "devplat"
admin.site.index_title = "Platform administration"

api_v1 = [
    path("", include("identity.api.urls")),
    path("", include("control_plane.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("control_plane.mcp.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, 404, "No API route matches this URL. See /api/docs/ for the routes.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest, *args: Any) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, 500, "The server failed to handle this request; it has been logged.")
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, 400, str(exception) or "The request could not be understood.")
    return defaults.bad_request(request, exception)
