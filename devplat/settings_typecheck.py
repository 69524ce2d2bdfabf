"""Settings for mypy's Django plugin: the test settings with placeholder URLs, so type checking starts no servers.

Without URLs the test settings start throwaway embedded PostgreSQL and Redis, which a mypy run would leave behind.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck@db.invalid/devplat")
os.environ.setdefault("REDIS_URL", "redis://redis.invalid:6379/0")

from devplat.settings_test import *  # noqa: F403
