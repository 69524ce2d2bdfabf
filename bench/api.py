"""API speed: pages of 100 resources under load, next to the sandbox API server asked directly. Targets: issue 5.

Targets (2-core machine): with 100k and with 1M resources in the database, pages of 100 from /api/v1/resources/
(a) with a label selector and (b) with a kind + namespace filter, served by gunicorn with 2 workers and loaded from
a second process on loopback, at >= 300 requests/s with p99 < 60 ms each.

The inventory is what the sync would leave: sync.py's realistic objects (30 % Deployments, 40 % Pods, 15 % Crossplane
composites, 15 % managed resources, with conditions and spec/status of real size), relabelled so that an `app` label
value is shared by PER_APP Deployments and their Pods (about 140 objects: a full page), in 50 namespaces spread over
3 clusters and owned by 5 teams (identity NamespaceOwnership). Rows go in through the sync's own `Writer.write_list`
(COPY straight into the table on a first list, teams derived from namespace ownership, edges, change feed, tree
rollups), then the tables are vacuumed and analyzed, as autovacuum leaves them some time after a bulk load.

The load: wrk (one thread; `--connections`, default 4: two per worker, so a worker always has the next request
waiting) with a Lua script cycling through the questions a member of one team would ask (their apps, their
namespaces) with the `Authorization: Bearer` header of that member's read token: a non-admin user, so the permission
filter is in the path. Throttling stays on, at a rate the load cannot reach. gunicorn runs `devplat.wsgi` with
DEVPLAT_ENV=production (DEBUG off, persistent connections, statement timeout) and throwaway secrets; requests carry
`X-Forwarded-Proto: https` as the TLS proxy in front of it would. Each figure is one run of `--seconds` after a
warm-up of a fifth of that; every answer must be a 2xx, and a sample of each question is checked beforehand for a
non-empty page (and another team's app for an empty one). The machine is shared, so each figure comes with the CPUs
the server used meanwhile and those everything else on the machine used (from /proc), and the server's CPU time per
answer, which the rest of the machine moves less than the rates (it takes CPUs away, and costs the server some cache).

Baseline, in the same run: the same questions asked of the sandbox API server directly (what an agent would do
without devplat), in a child process holding the same objects, uids included (all clusters' objects in one server):
(a) `GET /api/v1/pods?labelSelector=app=...&limit=100`, one kind only (devplat's answer covers every kind and
cluster: without devplat an agent asks once per kind and cluster); (b) `GET /apis/apps/v1/namespaces/NS/deployments
?limit=100`. It runs at scales up to `--baseline-max` (all by default): the sandbox keeps every object in memory,
about 5.3 GB at 1M (and takes 100 s to load them).

Runs against DATABASE_URL/REDIS_URL when set, else devplat's embedded servers, in a throwaway database per scale
(`devplat_bench_<random>`, created, migrated and dropped here). Needs wrk (`apt-get install wrk`).
Run: `.venv/bin/python bench/api.py [--objects 100000,1000000] [--quick]`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import multiprocessing
import os
import random
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# sync.py, beside this file, gives this process the test profile (embedded servers when DATABASE_URL/REDIS_URL are
# unset); the server under load gets production settings of its own (`server_env`).
from sync import (
    NAMESPACES,
    Obj,
    bench_database,
    client_for,
    cluster_writer,
    composite,
    deployment,
    pod,
    register_cluster,
    server_settings,
)

from control_plane.sandbox.apiserver import ApiServer
from control_plane.sandbox.crossplane_kinds import PLATFORM_GROUP, crossplane_crds
from control_plane.sandbox.package import platform_xrds
from control_plane.sandbox.runner import Sandbox

if TYPE_CHECKING:  # devplat's side is imported once Django is set up
    from control_plane.models import Cluster
    from control_plane.sync.rows import TypeInfo

ROOT = Path(__file__).resolve().parents[1]
TEAMS = ("payments", "search", "checkout", "identity", "data")  # team k owns the namespaces n with n % 5 == k
CLUSTERS = (("prod-eu", "prod"), ("prod-us", "prod"), ("staging", "staging"))  # (name, env); namespace n: n % 3
MEMBER_TEAM = 2  # the load's user is a developer of TEAMS[MEMBER_TEAM], and of no other team
PER_APP = 60  # Deployments sharing one `app` label value; with their Pods about 140 objects
PAGE_SIZE = 100
CREATED = "2026-11-20T08:00:00Z"
# (group, plural) of the types the objects belong to, in the sync's order (composites before what they compose).
TYPES = (
    ("apps", "deployments"),
    ("", "pods"),
    (PLATFORM_GROUP, "databases"),
    (PLATFORM_GROUP, "caches"),
    ("rds.aws.m.upbound.io", "instances"),
    ("elasticache.aws.m.upbound.io", "replicationgroups"),
)
QUESTIONS = {"label": "label selector app=<app>", "kind_ns": "kind=Deployment & namespace"}


# The objects: sync.py's, placed in this benchmark's namespaces, apps and clusters, with the metadata a server gives.


def namespace_name(index: int) -> str:
    return f"team-{index:02d}"  # as sync.py's builders name the namespace of object `index % NAMESPACES`


def cluster_of(namespace_index: int) -> int:
    return namespace_index % len(CLUSTERS)


def app_of(index: int) -> str:
    """The `app` label of Deployment `index`: PER_APP Deployments of one namespace share it."""
    return f"web-{index // NAMESPACES // PER_APP * NAMESPACES + index % NAMESPACES}"


def _served(obj: Obj, kind: str, index: int) -> Obj:
    """`obj` with the metadata its API server gave it. The uid is derived from the kind and index, so that the
    sandbox and the database hold the very same objects, and a managed resource's owner reference can name it."""
    obj["metadata"].update(uid=_uid(kind, index), creationTimestamp=CREATED, resourceVersion=str(index + 1))
    return obj


def _uid(kind: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"devplat-bench/{kind}/{index}"))


def bench_deployment(index: int) -> Obj:
    obj = deployment(index)
    name = obj["metadata"]["name"]
    # The same dict is the pod template's labels, so the Pods made from it carry these too.
    obj["metadata"]["labels"].update(
        {"app": app_of(index), "app.kubernetes.io/name": name, "env": CLUSTERS[cluster_of(index % NAMESPACES)][1]}
    )
    obj["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": name}}
    return _served(obj, "Deployment", index)


def bench_composite(index: int) -> tuple[Obj, Obj]:
    xr, mr = composite(index)
    _served(xr, "composite", index)
    mr["metadata"]["ownerReferences"][0]["uid"] = xr["metadata"]["uid"]
    return xr, _served(mr, "managed", index)


def type_objects(count: int, key: tuple[str, str], cluster: int | None) -> Iterator[Obj]:
    """The objects of type `key` when `count` objects make up the whole inventory (sync.py's mix), in one cluster
    (an index of CLUSTERS) or, for None, in all of them. Generated as they are read: 1M objects never sit in memory."""
    deployments, pods = count * 3 // 10, count * 4 // 10
    trees = (count - deployments - pods) // 2

    def here(index: int) -> bool:  # the namespace of sync.py's object `index` is in the cluster
        return cluster is None or cluster_of(index % NAMESPACES) == cluster

    plural = key[1]
    if plural == "deployments":
        yield from (bench_deployment(index) for index in range(deployments) if here(index))
    elif plural == "pods":
        for index in range(pods):
            owner = index * 3 // 4  # as sync.py's `cluster_objects`
            if here(owner):
                yield _served(pod(bench_deployment(owner), index), "Pod", index)
    else:
        odd = plural in ("databases", "instances")  # `composite` makes a Database for an odd index, else a Cache
        managed = plural in ("instances", "replicationgroups")
        yield from (bench_composite(index)[managed] for index in range(trees) if index % 2 == odd and here(index))


def questions(count: int) -> dict[str, tuple[list[str], list[str]]]:
    """Per question, the paths asked of devplat and of the sandbox: the member's team's apps and namespaces, shuffled
    (the same order for both)."""
    own = [n for n in range(NAMESPACES) if n % len(TEAMS) == MEMBER_TEAM]
    apps = list(dict.fromkeys(app_of(index) for index in range(count * 3 // 10) if index % NAMESPACES in own))
    spread = random.Random(5)
    spread.shuffle(apps)
    spread.shuffle(own)
    return {
        "label": (
            [f"/api/v1/resources/?label_selector=app%3D{app}&page_size={PAGE_SIZE}" for app in apps],
            [f"/api/v1/pods?labelSelector=app%3D{app}&limit={PAGE_SIZE}" for app in apps],
        ),
        "kind_ns": (
            [f"/api/v1/resources/?kind=Deployment&namespace={namespace_name(n)}&page_size={PAGE_SIZE}" for n in own],
            [f"/apis/apps/v1/namespaces/{namespace_name(n)}/deployments?limit={PAGE_SIZE}" for n in own],
        ),
    }


def foreign_path() -> str:
    """A label question about another team's app: the member must get an empty page."""
    other = next(n for n in range(NAMESPACES) if n % len(TEAMS) != MEMBER_TEAM)
    return f"/api/v1/resources/?label_selector=app%3D{app_of(other)}&page_size={PAGE_SIZE}"


# The baseline: the sandbox in a child process.


def _serve(count: int, conn: Connection) -> None:
    """The child: load the objects (the CRDs first), serve them until told to stop."""
    api = ApiServer()
    started = time.perf_counter()
    objects = (type_objects(count, key, None) for key in TYPES)
    api.bulk_load(itertools.chain(crossplane_crds(), platform_xrds(), *objects))
    loaded = time.perf_counter() - started
    with Sandbox(api) as sandbox:
        conn.send((sandbox.port, loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        conn.recv()


class SandboxProcess:
    """The sandbox holding `count` objects, in a spawned child: by the second scale this process has set up Django
    and holds connections a forked child would share. It loads while the parent loads the database."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(count, child), name="bench-api-sandbox", daemon=True)
        self.process.start()
        child.close()  # so that a child dying before it answers is an EOFError here, not a hang
        self.port = 0
        self.load_seconds = self.rss_mb = 0.0

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process.pid else []

    def wait(self) -> SandboxProcess:
        self.port, self.load_seconds, self.rss_mb = self.conn.recv()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# devplat's side: teams, the member and their token, clusters and their types, the inventory.


@contextlib.contextmanager
def discovery_server() -> Iterator[str]:
    """A sandbox serving only the CRDs, so that each cluster's types are found by the sync's own discovery."""
    api = ApiServer()
    api.bulk_load([*crossplane_crds(), *platform_xrds()])
    with Sandbox(api) as sandbox:
        yield sandbox.url


def make_world(server_url: str) -> tuple[str, list[tuple[Cluster, dict[tuple[str, str], TypeInfo]]]]:
    """Teams owning the namespaces, the member's read token, and the clusters with their discovered types."""
    from django.contrib.auth import get_user_model

    from control_plane import services
    from control_plane.sync.types import added_keys, reconcile_types, type_info
    from identity import services as identity

    teams = [identity.team_create(name=name) for name in TEAMS]
    for index in range(NAMESPACES):
        identity.namespace_assign(team=teams[index % len(TEAMS)], namespace=namespace_name(index))
    member = get_user_model().objects.create_user(username="bench-member")
    identity.membership_set(team=teams[MEMBER_TEAM], user=member, role="developer")
    token = identity.token_create(owner=member, description="bench/api.py").plaintext
    clusters = []
    for name, _ in CLUSTERS:
        cluster = register_cluster(name, server_url)
        services.resource_type_add(cluster=cluster, key="pods")
        active, _ = reconcile_types(cluster, client_for(cluster).discover(added_keys(cluster)))
        clusters.append((cluster, {(row.group, row.plural): type_info(row) for row in active}))
    return token, clusters


def _pages(objects: Iterator[Obj]) -> Iterator[Obj]:
    """`objects` as the list pages the sync reads."""
    from control_plane.sync.engine import LIST_PAGE_SIZE

    while items := list(itertools.islice(objects, LIST_PAGE_SIZE)):
        yield {"metadata": {"resourceVersion": "1"}, "items": items}


def load_inventory(count: int, clusters: list[tuple[Cluster, dict[tuple[str, str], TypeInfo]]]) -> dict[str, Any]:
    """Every cluster's objects through the sync's writer, type after type, as a first sync writes them."""
    rows = 0
    started = time.perf_counter()
    for index, (cluster, types) in enumerate(clusters):
        with cluster_writer(cluster) as writer, writer.rollups_deferred():
            for key in TYPES:
                rows += writer.write_list(types[key], _pages(type_objects(count, key, index))).added
    elapsed = time.perf_counter() - started
    return {"rows": rows, "load_s": round(elapsed, 1), "load_per_s": round(rows / elapsed)}


def settle() -> dict[str, Any]:
    """VACUUM and ANALYZE the inventory, as autovacuum leaves it some time after a bulk load (visibility map and
    hint bits set, statistics gathered); then its size."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) control_plane_resource, control_plane_resourceedge, control_plane_resourcechange"
        )
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT pg_total_relation_size('control_plane_resource')")
        size = cursor.fetchone()[0]
    return {"vacuum_analyze_s": round(elapsed, 1), "table_mb": round(size / 2**20)}


# The server under load.


def server_env(database: str) -> dict[str, str]:
    """Production settings for gunicorn, on this run's database and Redis, with throwaway secrets (the peppers and
    cluster keys this process wrote the token and clusters with); throttling at a rate the load cannot reach."""
    from django.conf import settings

    database_url = urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{database}"))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "devplat.settings",
        "DEVPLAT_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEVPLAT_TOKEN_PEPPERS": ",".join(f"{pid}:{pepper}" for pid, pepper in settings.DEVPLAT_TOKEN_PEPPERS.items()),
        "DEVPLAT_CLUSTER_KEYS": ",".join(settings.DEVPLAT_CLUSTER_KEYS),
        "DEVPLAT_CACHE_PREFIX": f"devplat-{database}",
        "DEVPLAT_API_RATE_READ": "1000000/min",
        "DEVPLAT_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    """`gunicorn devplat.wsgi --workers 2` on loopback, until `stop()`; its log goes to a temporary file, shown when
    it fails to start."""

    def __init__(self, env: dict[str, str], headers: dict[str, str]) -> None:
        self.port = _free_port()
        self.log = Path(tempfile.mkstemp(prefix="bench-api-gunicorn-", suffix=".log")[1])
        command = [sys.executable, "-m", "gunicorn", "devplat.wsgi", "--workers", "2"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(self.log)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            self._wait_ready(headers)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, headers: dict[str, str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status, _ = get(self.port, "/api/v1/clusters/", headers)
                if status == 200:
                    return
                raise RuntimeError(f"gunicorn answered {status} to a signed-in request")
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not start; its log ({self.log}):\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.unlink(missing_ok=True)


# Asking and loading.


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "application/json", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Target:
    """A server under load: its name in the figures, its port, the headers of its requests, the key of a page's rows
    in its answers, and the processes that serve it (for the CPU figures; asked after the warm-up)."""

    side: str
    port: int
    headers: dict[str, str]
    items: str
    serving: Callable[[], list[int]]


def sample(target: Target, paths: list[str]) -> dict[str, Any]:
    """Ask the first paths once each: every answer must be a non-empty page (else the figures measure nothing);
    returns the mean rows per page and bytes per answer."""
    rows = size = 0
    asked = paths[:10]
    for path in asked:
        status, body = get(target.port, path, target.headers)
        assert status == 200, f"{path} answered {status}: {body[:500]!r}"
        found = len(orjson.loads(body)[target.items])
        assert found, f"{path} answered an empty page"
        rows, size = rows + found, size + len(body)
    return {"rows_per_page": round(rows / len(asked)), "bytes_per_answer": round(size / len(asked))}


LUA = """
local paths = {%(paths)s}
local n = 0
%(headers)s
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n - 1) %% #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p50_ms\\": %%.2f, \\"p90_ms\\": %%.2f, \\"p99_ms\\": %%.2f, "
    .. "\\"max_ms\\": %%.2f, \\"status_errors\\": %%d, \\"socket_errors\\": %%d, \\"timeouts\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status, e.connect + e.read + e.write, e.timeout))
end
"""


def run_wrk(target: Target, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """wrk cycling through `paths` for `--seconds` with `--connections` connections (one thread), after a warm-up of
    a fifth of that: requests/s and latency percentiles (from request sent to response read, as wrk measures them),
    and the CPUs used meanwhile by the `serving` processes (and their CPU time per answer), by wrk and by
    everything else on this shared machine (Redis, which the throttle asks, and PostgreSQL's background processes
    count as everything else)."""
    script = LUA % {
        "paths": ", ".join(orjson.dumps(path).decode() for path in paths),
        "headers": "\n".join(
            f"wrk.headers[{orjson.dumps(k).decode()}] = {orjson.dumps(v).decode()}" for k, v in target.headers.items()
        ),
    }
    with tempfile.NamedTemporaryFile("w", prefix="bench-api-", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        found: dict[str, Any] = {}
        for seconds in (max(1, args.seconds // 5), args.seconds):  # whole seconds: wrk reads no fractions
            command = [args.wrk, "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s"]
            command += ["-s", lua.name, f"http://127.0.0.1:{target.port}"]
            pids = target.serving()  # after the warm-up, the server's connections are open
            before = _cpu_seconds(pids)
            done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
            after = _cpu_seconds(pids)
            line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH ")), None)
            assert line is not None, f"wrk printed no figures:\n{done.stdout}\n{done.stderr}"
            found = orjson.loads(line.removeprefix("BENCH "))
    errors = found["status_errors"] + found["socket_errors"] + found["timeouts"]
    assert errors == 0, f"{errors} of {found['requests']} requests failed: {found}"
    elapsed, machine, server, generator = (later - earlier for earlier, later in zip(before, after, strict=True))
    return {
        "rps": _rounded(found["requests"] / found["seconds"]),
        "p50_ms": round(found["p50_ms"], 1),
        "p90_ms": round(found["p90_ms"], 1),
        "p99_ms": round(found["p99_ms"], 1),
        "max_ms": round(found["max_ms"], 1),
        "cpu_server": round(server / elapsed, 2),
        "cpu_ms_per_request": round(1000 * server / found["requests"], 2),
        "cpu_wrk": round(generator / elapsed, 2),
        "cpu_others": round(max(0.0, machine - server - generator) / elapsed, 2),
    }


def _rounded(rate: float) -> float:
    return round(rate) if rate >= 10 else round(rate, 1)  # the sandbox answers some questions in seconds


# CPU accounting from /proc (Linux): CPU-seconds of processes and of the machine.

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(serving: list[int]) -> tuple[float, float, float, float]:
    """(now, the machine's busy CPU-seconds, the `serving` processes', this process's ended children's: wrk)."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        time.monotonic(),
        (user + nice + system + irq + softirq) / TICK,
        sum(_process_cpu(pid) for pid in serving),
        children.ru_utime + children.ru_stime,
    )


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime and stime, the 14th and 15th fields


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`: gunicorn's workers."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def backend_pids() -> list[int]:
    """The PostgreSQL backends of this database other than this process's own: the server's connections."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


# One scale.


def scale_name(count: int) -> str:
    return f"{count // 1_000_000}m" if count >= 1_000_000 and count % 1_000_000 == 0 else f"{count // 1000}k"


def bench_scale(count: int, args: argparse.Namespace) -> dict[str, Any]:
    """Load `count` objects, then ask each question of devplat and, up to `--baseline-max`, of the sandbox."""
    found: dict[str, Any] = {}
    pg: dict[str, Any] = {}
    asked = questions(count)
    sandbox = SandboxProcess(count) if count <= args.baseline_max else None
    try:
        with bench_database() as database, discovery_server() as discovery:
            token, clusters = make_world(discovery)
            found |= load_inventory(count, clusters)
            print(f"{scale_name(count)}: {found}", file=sys.stderr)
            found |= settle()
            pg = server_settings()
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
            server = Gunicorn(server_env(database), headers)
            try:
                status, body = get(server.port, foreign_path(), headers)
                assert status == 200 and not orjson.loads(body)["results"], "another team's app is visible"
                devplat = Target(
                    "devplat",
                    server.port,
                    headers,
                    "results",
                    lambda: [*_children(server.process.pid), *backend_pids()],
                )
                for question, (paths, _) in asked.items():
                    found |= measure(devplat, question, paths, args)
            finally:
                server.stop()
        if sandbox is not None:
            sandbox.wait()
            found |= {"sandbox_load_s": round(sandbox.load_seconds, 1), "sandbox_rss_mb": round(sandbox.rss_mb)}
            baseline = Target("sandbox", sandbox.port, {}, "items", sandbox.pids)
            for question, (_, paths) in asked.items():
                found |= measure(baseline, question, paths, args)
    finally:
        if sandbox is not None:
            sandbox.stop()
    return {**pg, **{f"{scale_name(count)}_{key}": value for key, value in found.items()}}


def measure(target: Target, question: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """One question of one server: a checked sample, then the load."""
    figures = sample(target, paths) | run_wrk(target, paths, args)
    print(f"{question} {target.side}: {figures}", file=sys.stderr)
    return {f"{question}_{target.side}_{key}": value for key, value in figures.items()}


# Report.


def print_table(figures: dict[str, Any], counts: list[int], args: argparse.Namespace) -> None:
    settings = ", ".join(f"{name.removeprefix('pg_')}={value}" for name, value in figures.items() if name[:3] == "pg_")
    print(
        f"{figures['cpus']} CPUs, load average {figures['loadavg_before']} -> {figures['loadavg_after']}; "
        f"PostgreSQL {settings}; gunicorn 2 workers; wrk 1 thread, {args.connections} connections, "
        f"{args.seconds} s per figure. CPUs: used by the server / by everything else on the machine meanwhile; "
        "ms/req: the server's CPU time per answer."
    )
    side = f"{'req/s':>6} {'p50 / p99 ms':>16} {'rows':>5} {'CPUs':>11} {'ms/req':>7}"
    print(f"{'scale':<6} {'question':<28} {'target':<17} devplat: {side}   sandbox: {side}")
    for count in counts:
        name = scale_name(count)
        rows, seconds, size = (figures[f"{name}_{key}"] for key in ("rows", "load_s", "table_mb"))
        print(f"{name:<6} {rows} rows loaded in {seconds} s; the table takes {size} MB")
        for question, label in QUESTIONS.items():
            cells = []
            for side in ("devplat", "sandbox"):
                found = {k.removeprefix(f"{name}_{question}_{side}_"): v for k, v in figures.items()}
                if "rps" not in found:
                    cells.append(f"{'not run':>50}")
                    continue
                latency = f"{found['p50_ms']} / {found['p99_ms']}"
                cpus = f"{found['cpu_server']} / {found['cpu_others']}"
                cells.append(
                    f"{found['rps']:>6} {latency:>16} {found['rows_per_page']:>5} {cpus:>11} "
                    f"{found['cpu_ms_per_request']:>7}"
                )
            print(f"{'':<6} {label:<28} {'>= 300, p99 < 60':<17} {cells[0]:>59}   {cells[1]:>59}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="100000,1000000", help="comma-separated scales (objects in all)")
    parser.add_argument(
        "--baseline-max", type=int, default=1_000_000, help="largest scale the sandbox serves too (5.3 GB at 1M)"
    )
    parser.add_argument("--seconds", type=int, default=10, help="load per figure, after a warm-up of a fifth")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="10k objects, 3 s per figure: a smoke run")
    args = parser.parse_args()
    counts = [10_000] if args.quick else [int(value) for value in args.objects.split(",")]
    if args.quick:
        args.seconds = 3
    args.wrk = shutil.which("wrk")
    if args.wrk is None:
        parser.error("wrk is needed to load the servers: apt-get install wrk")
    import django

    django.setup()
    figures: dict[str, Any] = {"objects": counts, "cpus": os.cpu_count(), "loadavg_before": _load_average()}
    for count in counts:
        figures |= bench_scale(count, args)
    figures["loadavg_after"] = _load_average()
    print_table(figures, counts, args)
    print(orjson.dumps({"bench": "api", **figures}).decode())


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


if __name__ == "__main__":
    main()
