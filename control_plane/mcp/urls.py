"""The MCP endpoint. Included at the root by devplat.urls; `/mcp` and `/mcp/` both answer, since MCP clients are
configured with either and a redirect would lose a POST."""

from django.urls import re_path

from control_plane.mcp.views import McpView

app_name = "mcp"

urlpatterns = [re_path(r"^mcp/?$", McpView.as_view(), name="endpoint")]
