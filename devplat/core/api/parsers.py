"""The API's JSON parser: DRF's, refusing text PostgreSQL cannot store.

A NUL character or a lone surrogate (`"\\u0000"`, `"\\ud800"`) is valid JSON but can be neither stored nor
compared in PostgreSQL: left in, it fails deep in a query as a 500. Refused here, it is a 400 saying where.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def unstorable(value: Any, where: str = "") -> str | None:
    """Where in a parsed JSON document a string PostgreSQL cannot hold is (its key path), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "the body"
        return (where or "the body") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{where}.{key}" if where else str(key)
        found = unstorable(key, path) if isinstance(key, str) else None
        found = found or unstorable(item, path)
        if found:
            return found
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        where = unstorable(data)
        if where:
            raise ParseError(
                f"JSON parse error - {where} holds a NUL character or a lone surrogate, which no field can store."
            )
        return data
