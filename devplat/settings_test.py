"""Settings for the test suite: the base settings in the `test` profile.

Without DATABASE_URL/REDIS_URL the test run gets its own throwaway embedded servers; with them, pytest-django
creates a database of its own (named per run, so two runs at once on one server do not clash) and the cache and
Celery use a per-run key prefix and queue.
"""

import os
import uuid

os.environ["DEVPLAT_ENV"] = "test"
_RUN = uuid.uuid4().hex[:8]
os.environ.setdefault("DEVPLAT_CACHE_PREFIX", f"devplat-test-{_RUN}")
os.environ.setdefault("DEVPLAT_CELERY_QUEUE", f"devplat-test-{_RUN}")

from devplat.settings import *  # noqa: E402,F403
from devplat.settings import DATABASES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_devplat_{_RUN}"}
DATABASES["default"]["CONN_MAX_AGE"] = 0
