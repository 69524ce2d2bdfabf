"""Cursor pagination by id: stable under concurrent inserts and cheap at any depth."""

from django.conf import settings
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = settings.DEVPLAT_MAX_PAGE_SIZE
