"""Cursor pagination by id: stable under concurrent inserts and cheap at any depth.

`?page_size=` is capped at `DEVPLAT_MAX_PAGE_SIZE` (R17): a larger number is served at the cap, not refused, so an
agent asking for "everything" gets the biggest page there is. A size that is not a positive whole number, or a
cursor this API never gave out, is a 400 naming the parameter, not a silent fallback a client would misread.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        """Read per request, so the setting (and a test's override of it) applies without a restart."""
        return int(settings.DEVPLAT_MAX_PAGE_SIZE)

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"Give a whole number from 1; at most {self.max_page_size} are sent."]}
            )
        return min(size, self.max_page_size)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: [
                        "Not a cursor this API gave out: follow a page's `next` link, or start again without it."
                    ]
                }
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}); larger values are served at the cap, "
                    f"{self.max_page_size}."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "Where the page starts: the `cursor` of a previous page's `next` link."
        return parameters
