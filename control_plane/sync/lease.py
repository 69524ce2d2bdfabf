"""One sync per cluster (R22): a PostgreSQL session advisory lock on a dedicated connection, plus a fencing epoch.

The lock lives exactly as long as its session, so a worker that dies (SIGKILL, OOM, lost network) frees its clusters
as soon as PostgreSQL notices the session is gone; TCP keepalives on both ends bound how long that takes. It is held
on a connection of its own, never Django's: Django closes and reopens its connection between requests and tasks
(CONN_MAX_AGE), which would drop the lock mid-sync, and a transaction pooler (PgBouncer) must not sit in between.

A lock alone cannot stop a worker that stalled (GC pause, frozen VM) from writing after its session died and another
worker took over. So taking the lease bumps `Cluster.lease_epoch`, and every sync transaction calls `Lease.check()`
before it commits: a stale epoch rolls the transaction back (fencing, as in Kleppmann's "How to do distributed
locking").
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import psycopg
from django.db import connection, connections

from control_plane.models import Cluster

# The first half of every two-int advisory key devplat sync leases take ("devs"), the cluster id is the second half.
# Positive on purpose: pg_locks shows the halves as unsigned oids, so a negative key would not read back as itself.
KEY = 0x64657673
APPLICATION_NAME = "devplat-sync-lease"
_TABLE = Cluster._meta.db_table
_HOLDER_MAX_LENGTH = Cluster._meta.get_field("lease_holder").max_length or 200
# How fast a dead peer is noticed: the client checks the server (keepalives while idle, tcp_user_timeout while a query
# is unanswered, so alive() cannot hang), and the server (these GUCs) checks the worker so a vanished worker's
# session, and with it the lock, ends within about 25 s instead of the kernel's two hours.
_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 25_000,
}
_SERVER_KEEPALIVES = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"


class LeaseLost(Exception):
    """Another worker took the cluster's lease: this worker's transaction must roll back and its sync stop."""

    def __init__(self, cluster_id: int, epoch: int) -> None:
        super().__init__(
            f"Lost the sync lease of cluster {cluster_id}: another worker took over (this worker held epoch {epoch}), "
            "so this transaction was not committed."
        )
        self.cluster_id = cluster_id
        self.epoch = epoch


class Lease:
    """The right to sync one cluster, held until `release()` or until the dedicated connection dies."""

    def __init__(self, *, cluster_id: int, epoch: int, holder: str, session: psycopg.Connection[Any]) -> None:
        self.cluster_id = cluster_id
        self.epoch = epoch
        self.holder = holder
        self._session = session

    def __repr__(self) -> str:
        return f"<Lease cluster={self.cluster_id} epoch={self.epoch} holder={self.holder!r}>"

    @classmethod
    def try_acquire(cls, cluster_id: int, *, holder: str) -> Lease | None:
        """Take the cluster's lease without waiting: a new Lease with the next epoch, or None if another holds it.

        Raises Cluster.DoesNotExist (after letting the lock go) when the cluster is gone.
        """
        holder = holder[:_HOLDER_MAX_LENGTH]
        session = _connect()
        try:
            locked = session.execute("SELECT pg_try_advisory_lock(%s::int4, %s::int4)", [KEY, cluster_id]).fetchone()
            if not (locked and locked[0]):
                session.close()
                return None
            # Waits for any transaction that passed check() under the old epoch, so nothing commits after this.
            bumped = session.execute(
                f"UPDATE {_TABLE} SET lease_epoch = lease_epoch + 1, lease_holder = %s, lease_acquired_at = now() "  # noqa: S608 (the model's table name)
                "WHERE id = %s RETURNING lease_epoch",
                [holder, cluster_id],
            ).fetchone()
        except BaseException:
            session.close()
            raise
        if bumped is None:
            session.close()
            raise Cluster.DoesNotExist(f"Cluster {cluster_id} does not exist, so it has no sync lease to take.")
        return cls(cluster_id=cluster_id, epoch=bumped[0], holder=holder, session=session)

    @property
    def backend_pid(self) -> int:
        """The PostgreSQL backend process of the dedicated session (what pg_terminate_backend takes)."""
        return self._session.info.backend_pid

    def check(self) -> None:
        """Fence the caller's open transaction: raise LeaseLost if another worker has taken the lease since.

        Call it inside the Django transaction that writes sync rows, before it commits. The row lock (FOR SHARE) makes
        a new holder's epoch bump wait until this transaction ends, so what commits here committed under this lease.
        """
        if not connection.in_atomic_block:
            raise RuntimeError(
                "Lease.check() fences nothing outside a transaction: call it inside the transaction.atomic() block "
                "that writes the sync rows."
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {_TABLE} WHERE id = %s AND lease_epoch = %s FOR SHARE",  # noqa: S608 (the model's table name)
                [self.cluster_id, self.epoch],
            )
            if cursor.fetchone() is None:
                raise LeaseLost(self.cluster_id, self.epoch)

    def alive(self) -> bool:
        """Whether the dedicated session still answers, that is whether this worker still holds the lock."""
        if self._session.closed:
            return False
        try:
            self._session.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        """Let the lease go and close the session. Idempotent; on a dead session the lock is already gone."""
        if self._session.closed:
            return
        try:
            self._session.execute("SELECT pg_advisory_unlock(%s::int4, %s::int4)", [KEY, self.cluster_id])
        except psycopg.Error:
            pass  # the session died, and PostgreSQL released its locks with it
        finally:
            self._session.close()

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


def held_cluster_ids() -> set[int]:
    """The clusters whose sync lease some session holds right now, in this database (the beat tick skips them).

    A two-int advisory lock shows in pg_locks as classid = first key, objid = second key, objsubid = 2. Advisory locks
    are per database, so the filter on `database` keeps other databases on the same server out.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid = %s::bigint::oid "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [KEY],
        )
        return {row[0] for row in cursor.fetchall()}


def _connect() -> psycopg.Connection[Any]:
    """A new session with Django's settings for the default database, in autocommit, that notices dead peers."""
    params = connections["default"].get_connection_params()
    params["options"] = f"{params.get('options', '')} {_SERVER_KEEPALIVES}".strip()
    params.setdefault("connect_timeout", 5)
    return psycopg.connect(**{**params, **_KEEPALIVES, "application_name": APPLICATION_NAME, "autocommit": True})
