"""Task conventions: thin tasks, and late acknowledgement only for tasks declared idempotent.

With `acks_late`, a task whose worker dies is delivered again; that is only safe when running it twice is the same
as running it once. So `idempotent_task` is the one way to ask for late acks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task

from devplat.celery import app
from devplat.core.actor import Actor, Face, acting


class ActorTask(Task):
    """The base of every devplat task: it runs as the system actor, with the task id as the request id.

    So whatever a task audits names how it happened; a task acting for someone else (the sync) sets its own actor.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with acting(Actor(face=Face.SYSTEM, request_id=self.request.id or "")):
            return super().__call__(*args, **kwargs)


def idempotent_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A task that is safe to run twice: acknowledged after it finishes, so a lost worker's task is redelivered."""
    return app.task(acks_late=True, idempotent=True, **options)
