"""Orchestration with a real Celery worker: beat's sweep applies a waiting request once its dependency is Ready
and its connection secret exists, and not before."""

from __future__ import annotations

import pytest

from control_plane.choices import RequestStatusChoices
from control_plane.provisioning import services
from control_plane.provisioning.tests.conftest import Platform, mark_ready
from control_plane.sync.tests.test_workers import ready_workers
from control_plane.tasks import provisioning_sweep
from devplat.tests.conftest import own_cache_and_queue  # noqa: F401 (a fixture)

NS = "team-checkout"


@pytest.mark.timeout(120)
def test_the_sweep_in_a_worker_applies_a_waiting_request_once_its_dependency_is_ready(
    platform: Platform,
    own_cache_and_queue,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    _, queue = own_cache_and_queue
    database = services.capability_request(
        user=platform.alice, capability="Database", name="orders-db", team="checkout"
    ).request
    app = services.capability_request(
        user=platform.alice,
        capability="App",
        name="orders",
        team="checkout",
        parameters={"image": "ghcr.io/acme/orders:1.4.2", "databaseRef": {"name": "orders-db"}},
        depends_on=["Database/orders-db"],
    ).request

    with ready_workers(queue, tmp_path, count=1):
        # The queue is named explicitly: the app read its default queue before this test chose its own.
        assert provisioning_sweep.apply_async(queue=queue).get(timeout=30) == {"waiting": 1}
        assert not platform.exists("apps", NS, "orders")

        mark_ready(platform, "databases", NS, "orders-db", secret=database.connection_secret)
        assert provisioning_sweep.apply_async(queue=queue).get(timeout=30) == {"applied": 1}

    app.refresh_from_db()
    assert (app.status, app.waiting_for) == (RequestStatusChoices.APPLIED, [])
    assert platform.live("apps", NS, "orders")["spec"]["databaseRef"] == {"name": "orders-db"}
