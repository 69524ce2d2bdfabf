"""cel-python's evaluation errors in cel-go's words, where both dialects word them alike."""

from __future__ import annotations

from celpy.evaluation import CELEvalError


def message(error: CELEvalError) -> str:
    """cel-python's own text of the error (the first of its arguments)."""
    return str(error.args[0]) if error.args else "evaluation error"


def describe(error: CELEvalError) -> str | None:
    """cel-go's message (`no such key: x`, `index out of bounds`, `division by zero`, `integer overflow`) for
    the errors cel-python words otherwise; None for the rest, which each caller words itself."""
    text = message(error)
    cause = error.args[1] if len(error.args) > 1 else None
    details = error.args[2] if len(error.args) > 2 and error.args[2] else ()
    if text.startswith("no such member in mapping: "):
        return "no such key: " + text.removeprefix("no such member in mapping: ").strip("'")
    if text == "no such key" and details:
        return f"no such key: {details[0]}"
    if cause is IndexError:
        return "index out of bounds"
    if cause is ZeroDivisionError:
        return "division by zero"
    if text == "return error for overflow":  # any ValueError a function raised
        return "integer overflow" if not details or str(details[0]) == "overflow" else str(details[0])
    return None
