"""Output formats: a table for people, JSON and YAML for scripts (kubectl's `-o`)."""

from __future__ import annotations

import datetime
import enum
import io
import json
from collections.abc import Sequence
from typing import Any, Protocol

import yaml
from rich import box
from rich.console import Console
from rich.table import Table

from devplat.core.cli.registry import Output


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...


def _plain(value: Any) -> Any:
    """Values YAML's safe dumper accepts: choices (str enums such as an argparse default) become their value."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: list[dict[str, Any]], columns: Sequence[str], stream: Writer) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, highlight=False, soft_wrap=True, color_system=None)
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        grid.add_column(column.upper().replace("_", " "), overflow="fold")
    for row in rows:
        grid.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(grid)
    stream.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


def render(result: Output, output: str, stream: Writer) -> None:
    if output in ("json", "yaml"):
        data = _plain(result.data if result.data is not None else result.rows)
        if output == "json":
            stream.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        else:
            stream.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
        return
    if result.columns:
        if result.rows:
            table(result.rows, result.columns, stream)
        elif not result.message:
            stream.write("No resources found.\n")
    if result.message:
        stream.write(result.message.rstrip("\n") + "\n")
