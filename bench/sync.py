"""Sync speed: initial sync, no-op relist, watch apply, change latency and memory. Targets are in issue 4.

Targets (2-core machine): initial sync end to end >= 0.6 x the COPY rate; a no-op relist >= 30k objects/s writing
0 rows; watch events applied at >= 3k/s; p99 from a change in the sandbox to its row being visible < 1 s at 1k
changes/s; peak RSS < 400 MB while syncing 100k objects. Baselines measured in the same run, on the same rows:
- PostgreSQL COPY of the rows the writer wrote (its column set, jsonb included) into an empty table with the
  inventory's indexes (the physical limit of getting them into PostgreSQL);
- Django `update_or_create` per object on a subset, extrapolated (rows derived beforehand, so only writes count);
- the official client's typed models: `ApiClient().deserialize` of the same list pages (V1PodList, V1DeploymentList),
  next to orjson decoding them.

The cluster is a sandbox in a child process (forked before Django is set up), so the RSS figure is the sync's own
and the server does not compete with the sync for this process's GIL (it still shares the machine's CPUs). It serves
`--objects` realistic objects: 30 % Deployments, 40 % Pods (not on the default allow-list: added to the sync as an
operator would), 15 % Crossplane composites and 15 % managed resources wired to them, with Ready/Synced conditions.

The planner needs statistics on the inventory tables, which autovacuum gathers some time after a bulk load, or never
on a server running without it. Watch apply is therefore measured as the engine leaves the tables, then again after
an ANALYZE; the latency comes after that ANALYZE. Latency: the sandbox updates objects' status at 1k/s while a window
runs; each update counts from when the sandbox returned it to the first poll of the change feed that shows it
(`FeedPoller`); one not shown within GRACE_SECONDS counts as infinitely late.

Runs against DATABASE_URL/REDIS_URL when set, else devplat's embedded servers, in a throwaway database
(`devplat_bench_<random>`) created, migrated and dropped here.
Run: `.venv/bin/python bench/sync.py [--objects N] [--quick]`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The test profile: DEBUG off (DEBUG keeps every SQL statement, which would swamp the RSS figure), throwaway
# embedded servers when DATABASE_URL/REDIS_URL are unset, and per-run Redis key prefixes.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devplat.settings_test")

from control_plane.sandbox.apiserver import ApiServer, WriteOptions
from control_plane.sandbox.crossplane_kinds import PLATFORM_GROUP, crossplane_crds
from control_plane.sandbox.package import platform_xrds
from control_plane.sandbox.runner import Sandbox

if TYPE_CHECKING:  # devplat's side is imported once Django is set up, after the sandbox has forked
    from control_plane.kube.client import KubeClient
    from control_plane.models import Cluster
    from control_plane.sync.rows import TypeInfo
    from control_plane.sync.writer import Writer

PAGE = 500
NAMESPACES = 50
Obj = dict[str, Any]


# The cluster's objects.


def _condition(kind: str, status: str, reason: str, message: str = "") -> Obj:
    found = {"type": kind, "status": status, "reason": reason, "lastTransitionTime": "2026-11-25T10:00:00Z"}
    if message:
        found["message"] = message
    return found


def deployment(index: int) -> Obj:
    """A Deployment of about 1.5 kB: labels, annotations, a container with probes and resources, status."""
    name, namespace = f"svc-{index:06d}", f"team-{index % NAMESPACES:02d}"
    labels = {"app": name, "tier": ("web", "worker", "api")[index % 3], "app.kubernetes.io/part-of": "shop"}
    container = {
        "name": "app",
        "image": f"ghcr.io/acme/{name}:1.{index % 40}.3",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "OTEL_SERVICE_NAME", "value": name}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
    }
    available = index % 50 != 7  # 2 % unavailable
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "3"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2 if available else 0,
            "availableReplicas": 2 if available else 0,
            "conditions": [
                _condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}-7d9f8c6b5" has successfully progressed.',
                ),
                _condition(
                    "Available",
                    "True" if available else "False",
                    "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                    "Deployment has minimum availability."
                    if available
                    else "Deployment does not have minimum availability.",
                ),
            ],
        },
    }


def pod(owner: Obj, index: int) -> Obj:
    """A Pod of `owner`'s template, owned by its ReplicaSet, as the controllers leave it."""
    template = owner["spec"]["template"]
    name, namespace = owner["metadata"]["name"], owner["metadata"]["namespace"]
    ready = owner["status"]["readyReplicas"] > 0
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-7d9f8c6b5-{index:06d}",
            "namespace": namespace,
            "labels": {**template["metadata"]["labels"], "pod-template-hash": "7d9f8c6b5"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{name}-7d9f8c6b5",
                    "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, owner["metadata"]["uid"])),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {**template["spec"], "nodeName": f"node-{index % 7}", "serviceAccountName": "default"},
        "status": {
            "phase": "Running" if ready else "Pending",
            "podIP": f"10.{index // 62500 % 250}.{index // 250 % 250}.{index % 250}",
            "conditions": [
                _condition(kind, "True" if ready or kind == "PodScheduled" else "False", "")
                for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
        },
    }


def composite(index: int) -> tuple[Obj, Obj]:
    """A v2 composite (a Database or a Cache) and the managed resource it composes; 3 % fail deep down."""
    namespace = f"team-{index % NAMESPACES:02d}"
    failing = index % 33 == 5
    ready = _condition("Ready", "True", "Available")
    synced = _condition("Synced", "True", "ReconcileSuccess")
    if index % 2:
        kind, name = "Database", f"db-{index:06d}"
        parameters: Obj = {"engine": "postgres", "engineVersion": "16", "size": "small", "storageGB": 20}
        managed_api, managed_kind = "rds.aws.m.upbound.io/v1beta1", "Instance"
        for_provider: Obj = {
            "engine": "postgres",
            "engineVersion": "16",
            "instanceClass": "db.t3.micro",
            "allocatedStorage": 20,
            "region": "eu-west-1",
        }
    else:
        kind, name = "Cache", f"cache-{index:06d}"
        parameters = {"size": "small"}
        managed_api, managed_kind = "elasticache.aws.m.upbound.io/v1beta1", "ReplicationGroup"
        for_provider = {"region": "eu-west-1", "nodeType": "cache.t3.micro", "numCacheClusters": 2}
    xr_uid, mr_name = str(uuid.uuid4()), f"{name}-5xq8n"
    xr = {
        "apiVersion": f"{PLATFORM_GROUP}/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": xr_uid,
            "generation": 1,
            "labels": {"devplat.io/team": namespace},
        },
        "spec": {
            **parameters,
            "crossplane": {
                "compositionRef": {"name": f"{kind.lower()}s-aws"},
                "resourceRefs": [
                    {"apiVersion": managed_api, "kind": managed_kind, "name": mr_name, "namespace": namespace}
                ],
            },
        },
        "status": {
            "conditions": [
                synced,
                _condition("Ready", "False", "Creating", f"Unready resources: {managed_kind.lower()}")
                if failing
                else ready,
            ]
        },
    }
    mr = {
        "apiVersion": managed_api,
        "kind": managed_kind,
        "metadata": {
            "name": mr_name,
            "namespace": namespace,
            "generation": 1,
            "labels": {"crossplane.io/composite": name},
            "annotations": {
                "crossplane.io/external-name": mr_name,
                "crossplane.io/composition-resource-name": managed_kind.lower(),
            },
            "ownerReferences": [
                {
                    "apiVersion": xr["apiVersion"],
                    "kind": kind,
                    "name": name,
                    "uid": xr_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "finalizers": ["finalizer.managedresource.crossplane.io"],
        },
        "spec": {
            "forProvider": for_provider,
            "providerConfigRef": {"kind": "ProviderConfig", "name": "default"},
            "writeConnectionSecretToRef": {"name": f"{name}-conn"},
        },
        "status": {
            "atProvider": {"arn": f"arn:aws:rds:eu-west-1:123456789012:db:{mr_name}", "status": "available"},
            "conditions": [
                _condition("Synced", "False", "ReconcileError", "create failed: InvalidParameterCombination")
                if failing
                else synced,
                _condition("Ready", "False", "Creating") if failing else ready,
            ],
        },
    }
    return xr, mr


def cluster_objects(count: int) -> list[Obj]:
    """`count` objects, 30 % Deployments, 40 % Pods, 15 % composites, 15 % managed; the CRDs and XRDs they need
    first."""
    deployments = [deployment(i) for i in range(count * 3 // 10)]
    pods = [pod(deployments[i * 3 // 4], i) for i in range(count * 4 // 10)]
    trees = [composite(i) for i in range((count - len(deployments) - len(pods)) // 2)]
    objects = [*crossplane_crds(), *platform_xrds(), *deployments, *pods]
    objects += [xr for xr, _ in trees] + [mr for _, mr in trees]
    return objects


def toggled(status: Obj, now: str) -> Obj:
    """`status` with its readiness condition (Ready, or a Deployment's Available) flipped at `now`: what a
    controller's status update looks like to the sync (a condition transition, a health change)."""
    conditions = []
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Ready", "Available"):
            flipped = "False" if condition.get("status") == "True" else "True"
            condition = {**condition, "status": flipped, "lastTransitionTime": now}
        conditions.append(condition)
    return {**status, "conditions": conditions}


# The sandbox, in a child process.

CHURN_KINDS = (
    ("", "v1", "pods"),
    ("apps", "v1", "deployments"),
    (PLATFORM_GROUP, "v1alpha1", "databases"),
    (PLATFORM_GROUP, "v1alpha1", "caches"),
    ("rds.aws.m.upbound.io", "v1beta1", "instances"),
    ("elasticache.aws.m.upbound.io", "v1beta1", "replicationgroups"),
)


@dataclass
class Churn:
    """What `_churn` did: (uid, new resourceVersion, time.monotonic() when the update returned) per update, how
    long it took, and the CPU seconds the sandbox process spent meanwhile (updating and serving the watches).
    CLOCK_MONOTONIC is system-wide on Linux, so the parent compares these times with its own."""

    written: list[tuple[str, str, float]]
    seconds: float
    cpu_seconds: float


def _serve(count: int, conn: Connection) -> None:
    """The child: load the cluster, serve it, and change objects when asked (`churn`) until told to stop."""
    api = ApiServer()
    started = time.perf_counter()
    api.bulk_load(cluster_objects(count))
    loaded = time.perf_counter() - started
    with Sandbox(api) as sandbox:
        conn.send((sandbox.port, loaded))
        while True:
            command, *args = conn.recv()
            if command != "churn":
                break
            conn.send(_churn(api, *args))


def _churn(api: ApiServer, rate: float, seconds: float) -> Churn:
    """Status updates of distinct objects at `rate` per second for `seconds`, paced against the clock."""
    targets = [
        (kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for kind in (api.kind(*key) for key in CHURN_KINDS)
        for obj in api.store.snapshot(kind.storage).objects
    ]
    random.Random(4).shuffle(targets)
    options = WriteOptions(field_manager="bench-controller")
    written = []
    cpu = _cpu_seconds()
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kind, namespace, name = targets[n % len(targets)]
        live = api.get(kind, namespace, name)
        body = {**live, "status": toggled(live["status"], _now())}
        stored = api.update(kind, namespace, name, body, options, "status").object
        written.append((stored["metadata"]["uid"], stored["metadata"]["resourceVersion"], time.monotonic()))
    return Churn(written, time.monotonic() - started, _cpu_seconds() - cpu)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class SandboxProcess:
    """The sandbox serving `count` objects from a forked child; fork before Django is set up, so the child holds
    no database connection and the parent's memory holds no cluster."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(count, child), name="bench-sandbox", daemon=True)
        self.port = 0
        self.load_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def churn(self, rate: float, seconds: float) -> Churn:
        self.conn.send(("churn", rate, seconds))
        return self.conn.recv()

    def __enter__(self) -> SandboxProcess:
        self.process.start()
        self.port, self.load_seconds = self.conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("stop",))
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# devplat's side: a throwaway database, the cluster registered in it.


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A new database on the configured server, migrated, used as Django's default, dropped afterwards."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from psycopg import sql

    name = f"devplat_bench_{uuid.uuid4().hex[:8]}"
    admin = {**connections["default"].get_connection_params(), "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connections["default"].close()
    settings.DATABASES["default"]["NAME"] = connections["default"].settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0)
        yield name
    finally:
        connections.close_all()
        with psycopg.connect(**admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def register_cluster(name: str, url: str) -> Cluster:
    from control_plane import services
    from control_plane.kube.kubeconfig import build_credentials

    credentials = build_credentials(server=url, token="bench-token-0001")  # noqa: S106 (the sandbox has no auth)
    return services.cluster_register(name=name, credentials=credentials)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synced_types(cluster: Cluster, plurals: tuple[str, ...] = ()) -> list[TypeInfo]:
    """TypeInfo of the cluster's listed types (all, or those with the given plurals), in sync order."""
    from control_plane.models import ResourceType
    from control_plane.sync.types import sync_order, type_info

    rows = ResourceType.objects.filter(cluster=cluster, served=True, watched=True).exclude(cursor="")
    if plurals:
        rows = rows.filter(plural__in=plurals)
    return [type_info(row) for row in sorted(rows, key=sync_order)]


@contextlib.contextmanager
def cluster_writer(cluster: Cluster) -> Iterator[Writer]:
    """The engine's Writer for `cluster`, under its lease and acting as the sync, as a window sets it up."""
    from control_plane.sync.lease import Lease
    from control_plane.sync.lookups import Lookups
    from control_plane.sync.writer import Writer
    from devplat.core.actor import Actor, Face, acting, new_request_id

    lease = Lease.try_acquire(cluster.pk, holder="bench")
    assert lease is not None, "another sync holds the bench cluster's lease"
    with lease, acting(Actor(face=Face.SYNC, request_id=new_request_id())):
        lookups = Lookups(cluster.pk)
        yield Writer(cluster.pk, lease=lease, namespaced=lookups.namespaced)


def client_for(cluster: Cluster) -> KubeClient:
    from control_plane.kube.client import connect

    return connect(cluster.name, cluster.credentials())


def resource_tuples_written() -> int:
    """Rows inserted plus rows updated in the inventory table so far, this session's pending counts flushed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # counts are flushed when the statement ends
        cursor.execute("SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = 'control_plane_resource'")
        return int(cursor.fetchone()[0])


# The measurements.


def bench_initial_sync(cluster: Cluster) -> dict[str, Any]:
    """One `once` window on an empty database: discovery, then every type listed (HTTP, decode, derive, write)
    and watched briefly. The window's time includes the short watches `once` ends with (about 1 s), so the list
    phase, from the ledger, is given too."""
    from control_plane.models import SyncRun
    from control_plane.sync.engine import sync_window

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    report = sync_window(cluster, once=True)
    elapsed = time.perf_counter() - started
    assert report is not None and not report.errors, f"the initial sync failed: {report}"
    objects = report.total.added
    runs = SyncRun.objects.filter(cluster=cluster, mode="list").values_list("started_at", "finished_at")
    listing = sum((end - begin).total_seconds() for begin, end in runs if end is not None)
    return {
        "initial_sync_objects": objects,
        "initial_sync_s": round(elapsed, 2),
        "initial_sync_per_s": round(objects / elapsed),
        "initial_list_phase_per_s": round(objects / listing),
        "rss_before_sync_mb": round(rss_before),
        "rss_peak_sync_mb": round(peak_rss_mb()),
    }


def bench_list_floor(cluster: Cluster) -> dict[str, Any]:
    """Every type listed and decoded by devplat's client, nothing written: the floor under a relist."""
    from control_plane.sync.engine import LIST_PAGE_SIZE
    from control_plane.sync.types import served_type

    client = client_for(cluster)
    objects = 0
    started = time.perf_counter()
    for rt in synced_types(cluster):
        for page in client.iter_list(served_type(rt), limit=LIST_PAGE_SIZE):
            objects += len(page.get("items") or [])
    return {"list_floor_per_s": round(objects / (time.perf_counter() - started))}


def bench_relist(cluster: Cluster, mode: str) -> dict[str, Any]:
    """A full list of every type through `Writer.write_list` with nothing changed in the cluster. A relist skips
    objects by resourceVersion before any SQL; a resync compares every row's digest. Both must write nothing."""
    from control_plane.sync.engine import LIST_PAGE_SIZE
    from control_plane.sync.types import served_type
    from control_plane.sync.writer import Counts

    client = client_for(cluster)
    counts = Counts()
    with cluster_writer(cluster) as writer:
        before = resource_tuples_written()
        started = time.perf_counter()
        for rt in synced_types(cluster):
            counts += writer.write_list(rt, client.iter_list(served_type(rt), limit=LIST_PAGE_SIZE), mode=mode)
        elapsed = time.perf_counter() - started
        written = resource_tuples_written() - before
    objects = counts.unchanged + counts.changed
    return {
        f"{mode}_objects": objects,
        f"{mode}_per_s": round(objects / elapsed),
        f"{mode}_rows_written": written,
    }


def bench_copy(cluster: Cluster) -> dict[str, Any]:
    """The floor: COPY of the rows the sync wrote (the writer's columns, as text) into an empty table with the
    inventory table's indexes. The rows are exported first, so only PostgreSQL's side is timed."""
    from django.db import connection, transaction

    from control_plane.sync.writer import RESOURCE_COLUMNS

    columns = ", ".join(RESOURCE_COLUMNS)
    with tempfile.TemporaryFile() as dump:
        with connection.cursor() as cursor:
            export = f"COPY (SELECT {columns} FROM control_plane_resource WHERE cluster_id = %s) TO STDOUT"  # noqa: S608
            with cursor.copy(export, [cluster.pk]) as copy:
                for data in copy:
                    dump.write(data)
            cursor.execute("CREATE TABLE bench_copy (LIKE control_plane_resource INCLUDING ALL)")
        size = dump.tell()
        dump.seek(0)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
                while chunk := dump.read(1 << 20):
                    copy.write(chunk)
        elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_copy")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy")
    return {"copy_rows": rows, "copy_mb": round(size / 2**20), "copy_per_s": round(rows / elapsed)}


def _pages(port: int, path: str) -> Iterator[bytes]:
    """The raw bodies of a paginated LIST."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    token = ""
    try:
        while True:
            query = f"?limit={PAGE}" + (f"&continue={token}" if token else "")
            connection.request("GET", path + query, headers={"Accept": "application/json"})
            body = connection.getresponse().read()
            yield body
            token = orjson.loads(body)["metadata"].get("continue", "")
            if not token:
                return
    finally:
        connection.close()


def bench_typed_models(port: int, limit: int) -> dict[str, Any]:
    """The official client's typed models on the same list pages, next to orjson (what devplat decodes with)."""
    from kubernetes.client import ApiClient

    api = ApiClient()
    typed = raw = 0.0
    objects = 0
    for path, model in (("/api/v1/pods", "V1PodList"), ("/apis/apps/v1/deployments", "V1DeploymentList")):
        seen = 0
        for body in _pages(port, path):
            started = time.perf_counter()
            items = api.deserialize(body.decode(), model, "application/json").items
            typed += time.perf_counter() - started
            started = time.perf_counter()
            assert len(orjson.loads(body)["items"]) == len(items)
            raw += time.perf_counter() - started
            seen += len(items)
            if seen >= limit // 2:
                break
        objects += seen
    return {
        "typed_objects": objects,
        "typed_models_per_s": round(objects / typed),
        "orjson_per_s": round(objects / raw),
    }


def _round_robin(iterators: list[Iterator[Any]]) -> Iterator[Any]:
    while iterators:
        for iterator in list(iterators):
            item = next(iterator, None)
            if item is None:
                iterators.remove(iterator)
            else:
                yield item


def bench_watch_apply(cluster: Cluster, events: int, *, run: int, budget: float = 30.0) -> dict[str, Any]:
    """MODIFIED events (a status update each, distinct objects) through `Writer.write_events` in batches of one
    list page (500) of one type, the types taking turns, until `events` or `budget` seconds of writing; only the
    writer is timed. Each `run` makes its own versions and transition times, so every event is a real change;
    the versions are made up and no cursor takes them."""
    from control_plane.sync.engine import LIST_PAGE_SIZE
    from control_plane.sync.types import served_type
    from control_plane.sync.writer import Counts, TypeBatch

    client = client_for(cluster)
    types = synced_types(cluster, tuple(key[2] for key in CHURN_KINDS))
    pages = _round_robin(
        [((rt, page) for page in client.iter_list(served_type(rt), limit=LIST_PAGE_SIZE)) for rt in types]
    )
    counts, applied, elapsed, when = Counts(), 0, 0.0, f"2027-01-{run:02d}T00:00:00Z"
    with cluster_writer(cluster) as writer:
        for rt, page in pages:
            batch = TypeBatch(first_received=time.monotonic())
            for obj in page["items"]:
                obj["status"] = toggled(obj["status"], when)
                obj["metadata"]["resourceVersion"] += f"-bench{run}"
                batch.events.append({"type": "MODIFIED", "object": obj})
            started = time.perf_counter()
            counts += writer.write_events({rt: batch})[rt.id]
            elapsed += time.perf_counter() - started
            applied += len(batch.events)
            if applied >= events or elapsed >= budget:
                break
    assert counts.modified == applied, f"{counts.modified} of {applied} events were written"
    return {f"watch{run}_events": applied, f"watch{run}_apply_per_s": round(applied / elapsed)}


def analyze_inventory() -> dict[str, Any]:
    """ANALYZE the tables the sync writes, as autovacuum does on a default server some time after a bulk load
    (this benchmark's server may run without autovacuum: see `server_settings`)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE control_plane_resource, control_plane_resourceedge, control_plane_resourcechange, "
            "control_plane_resourcetype"
        )
    return {"analyze_s": round(time.perf_counter() - started, 2)}


def server_settings() -> dict[str, Any]:
    """The PostgreSQL settings the figures depend on: whether autovacuum analyzes new rows, and commit cost."""
    from django.db import connection

    names = ("server_version", "autovacuum", "synchronous_commit", "shared_buffers")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names)
        return {f"pg_{name}": value for name, value in zip(names, cursor.fetchone(), strict=True)}


class FeedPoller(threading.Thread):
    """Notes when each (uid, resourceVersion) first shows in the change feed, polling on its own connection.

    A change-feed row commits in the same transaction as the resource row it describes, so the poll that first
    returns it bounds from above when the row became visible (by at most one poll interval plus the query). The
    feed is read by its increasing id; with one writer committing one transaction at a time, ids commit in order,
    so reading past the last id seen misses nothing.
    """

    INTERVAL = 0.02  # an upper bound 20 ms late at most; polling faster takes CPU the sync needs

    def __init__(self, cluster_id: int) -> None:
        super().__init__(name="bench-feed-poller", daemon=True)
        from django.db import connections

        self.params = {**connections["default"].get_connection_params(), "autocommit": True}
        self.cluster_id = cluster_id
        self.seen: dict[tuple[str, str], float] = {}
        self.listening = threading.Event()
        self.halted = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(**self.params) as conn:
            (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM control_plane_resourcechange").fetchone() or (0,)
            self.listening.set()
            while not self.halted.wait(self.INTERVAL):
                rows = conn.execute(
                    "SELECT c.id, r.uid, c.resource_version FROM control_plane_resourcechange c "
                    "JOIN control_plane_resource r ON r.id = c.resource_id "
                    "WHERE c.cluster_id = %s AND c.id > %s ORDER BY c.id",
                    [self.cluster_id, last],
                ).fetchall()
                now = time.monotonic()
                for change_id, uid, version in rows:
                    self.seen.setdefault((uid, version), now)
                    last = change_id


GRACE_SECONDS = 10.0  # how long after the last update rows may take to show


def bench_latency(cluster: Cluster, sandbox: SandboxProcess, rate: float, seconds: float) -> dict[str, Any]:
    """A window runs (watching from the cursors) while the sandbox updates `rate` objects per second; each update's
    latency runs from when the sandbox returned it to when its row showed in PostgreSQL (`FeedPoller`)."""
    from django.db import connections

    from control_plane.sync.engine import sync_window

    stop = threading.Event()
    failure: list[BaseException] = []

    def run_window() -> None:
        try:
            sync_window(cluster, seconds=60, stop=stop)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            connections.close_all()

    window = threading.Thread(target=run_window, name="bench-window")
    poller = FeedPoller(cluster.pk)
    window.start()
    poller.start()
    poller.listening.wait(10)
    time.sleep(2)  # the window's discovery and watches start
    churn = sandbox.churn(rate, seconds)
    written = churn.written
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any((uid, version) not in poller.seen for uid, version, _ in written):
        time.sleep(0.1)
    poller.halted.set()
    stop.set()
    poller.join(10)
    window.join(30)
    if failure:
        raise failure[0]
    # An update never seen within the grace counts as infinitely late, so a backlog cannot flatter the percentiles.
    latencies = sorted(poller.seen.get((uid, version), math.inf) - at for uid, version, at in written)
    return {
        "latency_changes": len(written),
        "latency_change_rate_per_s": round(len(written) / churn.seconds),
        "latency_sandbox_cpu_share": round(churn.cpu_seconds / churn.seconds, 2),
        "latency_missing": sum(1 for latency in latencies if latency == math.inf),
        "latency_p50_ms": _milliseconds(latencies, 0.50),
        "latency_p99_ms": _milliseconds(latencies, 0.99),
        "latency_max_ms": _milliseconds(latencies, 1.0),
    }


def _milliseconds(ordered: list[float], fraction: float) -> int | None:
    """The nearest-rank percentile in ms; None when it falls on an update that never showed."""
    value = ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
    return None if value == math.inf else round(value * 1000)


def bench_update_or_create(cluster: Cluster, subset: int, total: int) -> dict[str, Any]:
    """Django `update_or_create` per object (one transaction each) for `subset` objects of the same types, into
    the same table under a second cluster, extrapolated to `total`. Rows are derived beforehand: only writes count."""
    from django.utils import timezone

    from control_plane.models import Resource, ResourceType
    from control_plane.sync.engine import LIST_PAGE_SIZE
    from control_plane.sync.lookups import Lookups
    from control_plane.sync.rows import build_row
    from control_plane.sync.types import served_type, type_info

    client = client_for(cluster)
    types = synced_types(cluster, tuple(key[2] for key in CHURN_KINDS))
    other = register_cluster("bench-orm", cluster.server)
    copies = {
        rt.id: ResourceType.objects.create(
            cluster=other,
            group=rt.group,
            version=rt.version,
            kind=rt.kind,
            plural=rt.plural,
            namespaced=rt.namespaced,
            category=rt.category,
        )
        for rt in types
    }
    lookups = Lookups(other.pk)
    pages = _round_robin(
        [((rt, page) for page in client.iter_list(served_type(rt), limit=LIST_PAGE_SIZE)) for rt in types]
    )
    rows = []
    for rt, page in pages:
        own = type_info(copies[rt.id])
        rows += [(own, build_row(obj, own, namespaced=lookups.namespaced)) for obj in page["items"]]
        if len(rows) >= subset:
            break
    now = timezone.now()
    started = time.perf_counter()
    for rt, row in rows:
        Resource.objects.update_or_create(
            cluster=other,
            uid=row.uid,
            defaults={
                "resource_type_id": rt.id,
                "api_group": rt.group,
                "api_version": row.api_version,
                "kind": rt.kind,
                "namespace": row.namespace,
                "name": row.name,
                "labels": row.parts["labels"] or {},
                "annotations": row.parts["annotations"] or {},
                "spec": row.parts["spec"],
                "status": row.parts["status"],
                "owner_references": row.parts["owner_references"] or [],
                "finalizers": row.parts["finalizers"] or [],
                "conditions": row.conditions,
                "deleting_since": row.deleting_since,
                "resource_version": row.resource_version,
                "generation": row.generation,
                "observed_generation": row.observed_generation,
                "ready": row.health.ready,
                "synced": row.health.synced,
                "health": row.health.health,
                "health_reason": row.health.reason,
                "content_hash": row.digest,
                "created_at_k8s": row.created_at,
                "first_seen_at": now,
                "last_seen_at": now,
            },
        )
    elapsed = time.perf_counter() - started
    rate = len(rows) / elapsed
    return {
        "update_or_create_objects": len(rows),
        "update_or_create_per_s": round(rate),
        "update_or_create_extrapolated_s": round(total / rate),
    }


# Report.

ROWS = (
    ("initial sync, end to end (objects/s)", ">= 0.6 x COPY", "initial_sync_per_s", "initial_sync_copy_ratio"),
    ("  list phase only (objects/s)", "", "initial_list_phase_per_s", None),
    ("no-op relist (objects/s, rows written)", ">= 30k/s, 0 rows", "relist_per_s", "relist_rows_written"),
    ("  list + decode only, nothing written (objects/s)", "", "list_floor_per_s", None),
    ("resync, every row compared (objects/s, rows written)", "0 rows", "resync_per_s", "resync_rows_written"),
    ("watch apply, batches of 500 (events/s)", ">= 3k/s", "watch1_apply_per_s", None),
    ("  the same, tables analyzed (events/s)", ">= 3k/s", "watch2_apply_per_s", None),
    ("change -> row visible p50 / p99 (ms), analyzed", "p99 < 1000", "latency_p50_ms", "latency_p99_ms"),
    ("  at changes/s (missing)", "1000", "latency_change_rate_per_s", "latency_missing"),
    ("peak RSS during initial sync (MB; before it)", "< 400", "rss_peak_sync_mb", "rss_before_sync_mb"),
    ("baseline: COPY into an empty indexed table (rows/s)", "", "copy_per_s", None),
    ("baseline: update_or_create per object (objects/s)", "", "update_or_create_per_s", None),
    ("  extrapolated to all objects (s)", "", "update_or_create_extrapolated_s", None),
    ("baseline: typed client models (objects/s)", "", "typed_models_per_s", None),
    ("  orjson on the same pages (objects/s)", "", "orjson_per_s", None),
)


def print_table(figures: dict[str, Any]) -> None:
    settings = ", ".join(f"{name.removeprefix('pg_')}={value}" for name, value in figures.items() if name[:3] == "pg_")
    print(f"{figures['objects']} objects, {figures['cpus']} CPUs, PostgreSQL {settings}")
    print(f"{'figure':<54} {'target':<18} measured")
    for label, target, first, second in ROWS:
        measured = " / ".join(_shown(figures[key]) for key in (first, second) if key)
        print(f"{label:<54} {target:<18} {measured}")


def _shown(value: Any) -> str:
    return "not seen" if value is None else str(value)  # a latency percentile that fell on a lost update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10k objects, for a smoke run")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.objects
    with SandboxProcess(count) as sandbox:
        print(f"sandbox: {count} objects loaded in {sandbox.load_seconds:.1f} s", file=sys.stderr)
        import django

        django.setup()
        from control_plane import services
        from control_plane.choices import SyncModeChoices

        with bench_database():
            cluster = register_cluster("bench", sandbox.url)
            services.resource_type_add(cluster=cluster, key="pods")
            figures: dict[str, Any] = {"objects": count, "cpus": os.cpu_count(), **server_settings()}
            steps = (
                lambda: bench_initial_sync(cluster),
                lambda: bench_list_floor(cluster),
                lambda: bench_relist(cluster, SyncModeChoices.RELIST),
                lambda: bench_relist(cluster, SyncModeChoices.RESYNC),
                lambda: bench_copy(cluster),
                lambda: bench_typed_models(sandbox.port, min(count, 20_000)),
                lambda: bench_watch_apply(cluster, min(count, 20_000), run=1),
                analyze_inventory,
                lambda: bench_watch_apply(cluster, min(count, 20_000), run=2),
                lambda: bench_latency(cluster, sandbox, rate=1000, seconds=10),
                lambda: bench_update_or_create(cluster, min(10_000, count // 10), count),
            )
            for step in steps:
                found = step()
                print(found, file=sys.stderr)
                figures |= found
            figures["initial_sync_copy_ratio"] = round(figures["initial_sync_per_s"] / figures["copy_per_s"], 2)
    print_table(figures)
    print(orjson.dumps({"bench": "sync", **figures}).decode())


if __name__ == "__main__":
    main()
