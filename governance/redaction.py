"""Redaction of audit snapshots: values under secret-looking keys never reach the log."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
# `token$` catches api_token, accessToken and token, not token_key_id; `data`/`stringData` are a Secret's contents.
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|digest|pepper|credential|private|authorization|bearer|token$|api_?key|access_?key"
    r"|^data$|^stringData$)",
    re.IGNORECASE,
)


def redact(value: Any) -> Any:
    """A copy of `value` with secret-looking keys' values replaced, at any depth (tuples are JSON lists too)."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
