"""`devplat doctor`: is this installation healthy? One line per check, each with a verdict."""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from devplat.celery import app as celery_app
from devplat.core.cli.registry import Invocation, Noun, Output, verb
from devplat.tasks import HEARTBEAT_KEY, heartbeat

OK, WARN, FAIL = "ok", "warn", "FAIL"
Check = Callable[[], tuple[str, str]]


def check_database() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return OK, f"PostgreSQL {version} at {connection.settings_dict.get('HOST') or 'local socket'}"


def check_redis() -> tuple[str, str]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    version = client.info("server")["redis_version"]
    return OK, f"Redis {version}"


def check_worker() -> tuple[str, str]:
    """A worker counts only if it consumes our queue: on a shared Redis, other installations' workers answer too."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    replies = celery_app.control.inspect(timeout=1.5).active_queues() or {}
    if not replies:
        return FAIL, "no Celery worker answered; start one with `celery -A devplat worker` (make run does)"
    serving = sorted(name for name, queues in replies.items() if any(q.get("name") == queue for q in queues or ()))
    if not serving:
        return FAIL, (
            f"{len(replies)} worker(s) answered but none consumes the queue {queue!r}; "
            f"start one with `celery -A devplat worker -Q {queue}`"
        )
    return OK, f"{len(serving)} worker(s) on queue {queue}: " + ", ".join(serving)


def check_migrations() -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return FAIL, f"{len(pending)} migration(s) not applied; run `python manage.py migrate`"
    return OK, "all migrations applied"


def check_beat() -> tuple[str, str]:
    from django_celery_beat.models import PeriodicTask

    scheduled = PeriodicTask.objects.filter(task=heartbeat.name, enabled=True).exists()
    if not scheduled:
        return FAIL, "the heartbeat schedule is missing or disabled; re-enable it in the admin (Periodic tasks)"
    beat = cache.get(HEARTBEAT_KEY)
    if not beat:
        return WARN, "schedule present, but no heartbeat yet: is `celery -A devplat beat` running?"
    at = parse_datetime(beat["at"])
    age = (timezone.now() - at).total_seconds() if at else float("inf")
    if age > 120:
        return WARN, f"last heartbeat {age:.0f} s ago: beat or the workers have stopped"
    return OK, f"heartbeat {age:.0f} s ago from {beat.get('worker', '?')}"


CHECKS: list[tuple[str, Check]] = [
    ("database", check_database),
    ("redis", check_redis),
    ("migrations", check_migrations),
    ("worker", check_worker),
    ("beat", check_beat),
]


class DoctorNoun(Noun):
    name = "doctor"
    help = "Check that this devplat installation is healthy."
    default_verb = "check"

    @verb("check", "Run every check and print a verdict per line; exit 1 if any fails.", needs_user=False)
    def check(self, inv: Invocation) -> Output:
        rows = []
        for name, check in CHECKS:
            try:
                verdict, detail = check()
            except Exception as exc:  # a broken dependency is the finding, not a crash of the doctor
                verdict, detail = (
                    FAIL,
                    f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}",
                )
            rows.append({"check": name, "verdict": verdict, "detail": detail})
        failed = [row["check"] for row in rows if row["verdict"] == FAIL]
        message = f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else "all checks passed"
        return Output(rows=rows, columns=("check", "verdict", "detail"), message=message, exit_code=1 if failed else 0)
