"""Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which `kubectl get` asks for.

Columns are Name, a CRD version's `additionalPrinterColumns` (or Age when it declares none), as upstream's default
table convertor does. JSONPath covers what printer columns use: fields, indices and `[?(@.type=='Ready')]` filters.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from control_plane.sandbox.kinds import AGE_COLUMN, ResourceKind

_STEP = re.compile(
    r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]|\['([^']+)'\]"
)


def table_version(accept: str) -> str | None:
    """The meta.k8s.io version of Table the client accepts (v1 preferred), or None when it wants no Table."""
    offered = [part for part in accept.split(",") if "as=Table" in part]
    if not offered:
        return None
    return "v1beta1" if all("v=v1beta1" in part for part in offered) else "v1"


def jsonpath(obj: Any, path: str) -> Any:
    """Evaluate a printer-column JSONPath; None when any step is missing."""
    current = obj
    for match in _STEP.finditer(path):
        field, index, filter_key, filter_value, quoted = match.groups()
        if field is not None or quoted is not None:
            current = current.get(field or quoted) if isinstance(current, dict) else None
        elif index is not None:
            current = current[int(index)] if isinstance(current, list) and int(index) < len(current) else None
        else:
            items = current if isinstance(current, list) else []
            current = next((i for i in items if isinstance(i, dict) and str(i.get(filter_key)) == filter_value), None)
        if current is None:
            return None
    return current


def human_age(timestamp: str | None) -> str:
    """kubectl's short duration: 45s, 12m, 5h, 3d, 2y."""
    if not timestamp:
        return "<unknown>"
    created = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = max(0, int((datetime.datetime.now(datetime.UTC) - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "d" else 1):
            if unit == "d" and seconds >= 365 * 86400:
                return f"{seconds // (365 * 86400)}y"
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _columns(kind: ResourceKind) -> list[dict[str, Any]]:
    return list(kind.printer_columns) if kind.printer_columns else [AGE_COLUMN]


def _cell(obj: dict[str, Any], column: dict[str, Any]) -> Any:
    value = jsonpath(obj, column["jsonPath"])
    if column.get("type") == "date":
        return human_age(value)
    if value is None:
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


def table(
    kind: ResourceKind, objects: list[dict[str, Any]], list_meta: dict[str, Any], include: str, version: str = "v1"
) -> dict[str, Any]:
    columns = _columns(kind)
    definitions = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "priority": 0,
            "description": "Name must be unique within a namespace.",
        }
    ] + [
        {
            "name": c["name"],
            "type": "string" if c.get("type") == "date" else c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [obj["metadata"]["name"]] + [_cell(obj, c) for c in columns]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
