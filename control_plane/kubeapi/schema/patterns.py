"""Schema `pattern`s translated from Go's RE2 syntax to Python's `re`.

Kept apart because both compiled schema nodes (enforcing patterns) and CRD checks (rejecting broken ones) use it.
"""

from __future__ import annotations

import re

_MULTILINE_FLAG = re.compile(r"\(\?[a-zA-Z]*m")


def _compile_pattern(source: str) -> tuple[re.Pattern[str] | None, str | None]:
    """`(compiled, None)`, `(None, error)` for a broken pattern, `(None, None)` for none or Go-only syntax.

    Rewritten towards Go's RE2: ASCII character classes, `\\z`, and `$` matching only at the very end
    (Python's `$` also matches before a trailing newline) unless the pattern turns multi-line mode on.
    """
    if not source:
        return None, None
    try:
        return re.compile(_go_pattern(source), re.ASCII), None
    except re.error as error:
        if str(error).startswith("bad escape"):
            return None, None
        return None, str(error)


def _go_pattern(source: str) -> str:
    if _MULTILINE_FLAG.search(source):
        return source.replace("\\z", "\\Z")
    out: list[str] = []
    escaped = in_class = False
    for char in source:
        if escaped:
            out.append("Z" if char == "z" else char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]"
        elif char == "$":
            out.append("\\Z")
        else:
            out.append(char)
            in_class = char == "["
    return "".join(out)
