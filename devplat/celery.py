"""The Celery application. Settings come from Django's (`CELERY_*`); tasks are found in each app's `tasks.py`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devplat.settings")

app = Celery("devplat", task_cls="devplat.core.tasks:ActorTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
