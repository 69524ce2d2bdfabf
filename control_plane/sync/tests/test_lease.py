"""The sync lease (R22) on real PostgreSQL: one holder per cluster, takeover when a holder's session dies, fencing.

These tests need committed rows visible to the lease's own connections, so they run with `transactional_db`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection, connections, transaction

from control_plane.models import Cluster
from control_plane.sync.lease import APPLICATION_NAME, Lease, LeaseLost, held_cluster_ids
from control_plane.tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db(transaction=True)

Take = Callable[[Cluster, str], Lease | None]


@pytest.fixture
def take() -> Iterator[Take]:
    """try_acquire for a cluster; every lease taken is released when the test ends."""
    taken: list[Lease] = []

    def take_(cluster: Cluster, holder: str) -> Lease | None:
        lease = Lease.try_acquire(cluster.pk, holder=holder)
        if lease is not None:
            taken.append(lease)
        return lease

    yield take_
    for lease in taken:
        lease.release()


def kill_session(lease: Lease) -> None:
    """What a worker's death looks like to PostgreSQL: its lease session ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s", [lease.backend_pid])
        assert cursor.fetchone() == (APPLICATION_NAME,)
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [lease.backend_pid])


def test_one_holder_per_cluster_until_it_releases(take):
    cluster = ClusterFactory()
    first = take(cluster, "worker-1")
    assert first is not None
    assert take(cluster, "worker-2") is None
    assert cluster.pk in held_cluster_ids()
    cluster.refresh_from_db()
    assert (cluster.lease_epoch, cluster.lease_holder) == (first.epoch, "worker-1")
    assert cluster.lease_acquired_at is not None

    first.release()
    assert cluster.pk not in held_cluster_ids()
    second = take(cluster, "worker-2")
    assert second is not None
    assert second.epoch == first.epoch + 1
    assert cluster.pk in held_cluster_ids()


def test_a_killed_holder_loses_the_lease_to_the_next_worker(take):
    cluster = ClusterFactory()
    first = take(cluster, "worker-1")
    assert first is not None and first.alive()

    kill_session(first)
    assert not first.alive()
    deadline = time.monotonic() + 1
    second = take(cluster, "worker-2")
    while second is None and time.monotonic() < deadline:
        time.sleep(0.05)
        second = take(cluster, "worker-2")
    assert second is not None
    assert second.epoch > first.epoch
    first.release()  # on a dead session: no error, and the new holder keeps its lock
    assert cluster.pk in held_cluster_ids()
    assert second.alive()


def test_a_stale_holder_cannot_commit_after_another_took_over(take):
    cluster = ClusterFactory()
    stale = take(cluster, "stalled-worker")
    assert stale is not None
    with transaction.atomic():
        stale.check()  # still the holder: passes

    kill_session(stale)  # it stalls; PostgreSQL ends its session and another worker takes over
    current = take(cluster, "new-worker")
    assert current is not None and current.epoch == stale.epoch + 1

    with pytest.raises(LeaseLost, match=f"cluster {cluster.pk}: another worker took over"), transaction.atomic():
        Cluster.objects.filter(pk=cluster.pk).update(last_error="written by the stale worker")
        stale.check()
    with transaction.atomic():
        current.check()
        Cluster.objects.filter(pk=cluster.pk).update(last_contact_at="2024-01-01T00:00:00Z")
    cluster.refresh_from_db()
    assert cluster.last_error == ""
    assert cluster.last_contact_at is not None


def test_an_epoch_bump_waits_for_a_transaction_that_passed_the_check(take):
    """The FOR SHARE row lock: a takeover cannot slip in between a holder's check and its commit."""
    cluster = ClusterFactory()
    lease = take(cluster, "worker-1")
    assert lease is not None
    params = connections["default"].get_connection_params()
    table = Cluster._meta.db_table
    with psycopg.connect(**params, autocommit=True) as other, transaction.atomic():
        lease.check()
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute(f"UPDATE {table} SET lease_epoch = lease_epoch + 1 WHERE id = %s", [cluster.pk])  # noqa: S608


def test_check_outside_a_transaction_is_refused(take):
    lease = take(ClusterFactory(), "worker-1")
    assert lease is not None
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
        lease.check()


def test_leases_of_different_clusters_are_independent(take):
    one, two = ClusterFactory(), ClusterFactory()
    lease_one = take(one, "worker-1")
    lease_two = take(two, "worker-2")
    assert lease_one is not None and lease_two is not None
    assert {one.pk, two.pk} <= held_cluster_ids()

    lease_one.release()
    lease_one.release()  # idempotent
    assert one.pk not in held_cluster_ids()
    assert two.pk in held_cluster_ids()
    assert take(two, "worker-3") is None


def test_the_context_manager_releases(take):
    cluster = ClusterFactory()
    lease = take(cluster, "worker-1")
    assert lease is not None
    with lease:
        assert cluster.pk in held_cluster_ids()
    assert cluster.pk not in held_cluster_ids()
    assert not lease.alive()


def test_no_lease_on_a_cluster_that_does_not_exist():
    with pytest.raises(Cluster.DoesNotExist):
        Lease.try_acquire(987654, holder="worker-1")
    assert 987654 not in held_cluster_ids()
