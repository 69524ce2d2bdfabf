"""Task conventions: thin tasks, and late acknowledgement only for tasks declared idempotent.

With `acks_late`, a task whose worker dies is delivered again; that is only safe when running it twice is the same
as running it once. So `idempotent_task` is the one way to ask for late acks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devplat.celery import app


def idempotent_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A task that is safe to run twice: acknowledged after it finishes, so a lost worker's task is redelivered."""
    return app.task(acks_late=True, idempotent=True, **options)
