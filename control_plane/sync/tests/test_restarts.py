"""R9: memory and threads stay flat however often watches are cut and restarted."""

from __future__ import annotations

import gc
import threading
import time
import tracemalloc

import pytest

from control_plane.models import Resource
from control_plane.sync.tests.support import configmap, create
from control_plane.sync.tests.test_engine import running_window, wait_for, watches_of

pytestmark = pytest.mark.timeout(300)


def test_a_hundred_watch_restarts_leave_memory_and_threads_flat(sandbox, cluster, settings):
    settings.DEVPLAT_SYNC_BACKOFF_CAP = 0.05  # cuts in a row grow the backoff (R6); here they come on purpose
    with running_window(cluster, seconds=240):
        time.sleep(0.5)
        gc.collect()
        threads_before = threading.active_count()
        tracemalloc.start()
        baseline, _ = tracemalloc.get_traced_memory()
        for round_ in range(100):
            seen = len(watches_of(sandbox, "configmaps"))
            sandbox.api.faults.drop_watches()
            assert wait_for(lambda seen=seen: len(watches_of(sandbox, "configmaps")) > seen, timeout=20), round_
            time.sleep(0.1)  # the new stream is logged before it starts following drops; let it start
            if round_ % 10 == 0:
                create(sandbox, configmap(f"cm-{round_}"))
        obj = create(sandbox, configmap("last"))
        assert wait_for(lambda: Resource.objects.filter(uid=obj["metadata"]["uid"]).exists(), timeout=20)
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert threading.active_count() <= threads_before + 2
        assert current - baseline < 5 * 1024 * 1024, f"{(current - baseline) / 1e6:.1f} MB retained"
    assert Resource.objects.filter(kind="ConfigMap", deleted_at__isnull=True).count() == 11
