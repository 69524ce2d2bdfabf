"""Sandbox speed: bulk load, paginated LIST over HTTP, watch fan-out. Targets are in issue 3.

Targets: bulk-load 100k objects in under 5 s; serve paginated lists at >= 20k objects/s; deliver 1k watch events/s
to several watchers at once. Each figure comes with a baseline measured in the same process, so the ratio says how
close to the floor we are on whatever machine runs it:
- bulk load vs. storing the same objects in a dict by key with copied top level and metadata (what any store must
  do; the difference is uids, timestamps, history events and indexes);
- paginated LIST, served (the client reads the bytes) and decoded (the client parses every page, as the sync does)
  vs. serializing and parsing the same pages with orjson in-process (the floor without HTTP);
- watch delivery vs. how fast the writer produced the events.
Run: `.venv/bin/python bench/sandbox.py [--objects N] [--watchers N] [--events N]`.
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from control_plane.sandbox.apiserver import ApiServer, WriteOptions
from control_plane.sandbox.runner import Sandbox

PAGE = 500


def pod(index: int) -> dict:
    """A realistic Pod (about 1.5 kB of JSON): labels, owner, one container with resources, status conditions."""
    name = f"web-{index:06d}"
    namespace = f"team-{index % 20:02d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": "web", "pod-template-hash": "7d9f8c6b5", "tier": ("a", "b", "c")[index % 3]},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9f8c6b5",
                    "uid": "0d8f0c4e-2c1e-4d5b-9a55-5a3d3c1c2b10",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "ghcr.io/acme/web:1.2.3",
                    "ports": [{"containerPort": 8080}],
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                    },
                    "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
                }
            ],
            "nodeName": f"node-{index % 7}",
            "serviceAccountName": "default",
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.{index // 250 % 250}.{index % 250}",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2026-11-25T10:00:00Z"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
        },
    }


def bench_bulk_load(count: int) -> tuple[ApiServer, dict]:
    objects = [pod(i) for i in range(count)]
    started = time.perf_counter()
    floor = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): {**o, "metadata": dict(o["metadata"])} for o in objects
    }
    baseline = time.perf_counter() - started
    del floor
    api = ApiServer()
    started = time.perf_counter()
    api.bulk_load(objects)
    measured = time.perf_counter() - started
    return api, {
        "bulk_load_objects": count,
        "bulk_load_s": round(measured, 2),
        "bulk_load_store_floor_s": round(baseline, 2),
        "bulk_load_ratio": round(measured / baseline, 2),
    }


def _page_through(port: int, count: int, *, decode: bool) -> float:
    """Seconds to LIST every pod in pages of PAGE; without `decode` only the list metadata is parsed."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    seen, token = 0, ""
    while True:
        path = f"/api/v1/pods?limit={PAGE}" + (f"&continue={token}" if token else "")
        connection.request("GET", path, headers={"Accept": "application/json"})
        body = connection.getresponse().read()
        if decode:
            page = orjson.loads(body)
            seen += len(page["items"])
            token = page["metadata"].get("continue", "")
        else:
            match = re.search(rb'"continue":"([^"]*)"', body[:2048])
            token = match.group(1).decode() if match else ""
            seen += body.count(b'"phase":"Running"')
        if not token:
            break
    measured = time.perf_counter() - started
    connection.close()
    assert seen == count, f"listed {seen} of {count}"
    return measured


def bench_list(sandbox: Sandbox, count: int) -> dict:
    served = _page_through(sandbox.port, count, decode=False)
    decoded = _page_through(sandbox.port, count, decode=True)
    snapshot = sandbox.api.store.snapshot(("", "pods"))
    started = time.perf_counter()
    for begin in range(0, count, PAGE):
        orjson.loads(orjson.dumps({"items": snapshot.objects[begin : begin + PAGE]}))
    baseline = time.perf_counter() - started
    return {
        "list_served_objects_per_s": round(count / served),
        "list_decoded_objects_per_s": round(count / decoded),
        "list_serialize_floor_per_s": round(count / baseline),
        "list_decoded_ratio": round(decoded / baseline, 2),
    }


def _watcher(port: int, rv: str, expected: int, done: list[float], ready: threading.Event) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", f"/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=120")
    response = connection.getresponse()
    ready.set()
    received = 0
    while received < expected:
        line = response.readline()
        if not line:
            break
        if orjson.loads(line)["type"] == "MODIFIED":
            received += 1
    done.append(time.perf_counter())
    connection.close()


def bench_watch(sandbox: Sandbox, watchers: int, events: int) -> dict:
    api = sandbox.api
    api.bulk_load(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "counter", "namespace": "bench"},
                "data": {"n": "0"},
            }
        ]
    )
    rv = api.get(api.kind("", "v1", "configmaps"), "bench", "counter")["metadata"]["resourceVersion"]
    finished: list[float] = []
    threads = []
    for _ in range(watchers):
        ready = threading.Event()
        thread = threading.Thread(target=_watcher, args=(sandbox.port, rv, events, finished, ready))
        thread.start()
        ready.wait(10)
        threads.append(thread)
    kind = api.kind("", "v1", "configmaps")
    options = WriteOptions(field_manager="bench")
    started = time.perf_counter()
    for n in range(1, events + 1):
        api.patch(kind, "bench", "counter", {"data": {"n": str(n)}}, "application/merge-patch+json", options)
    written = time.perf_counter() - started
    for thread in threads:
        thread.join(120)
    assert len(finished) == watchers, "a watcher did not receive every event"
    slowest = max(finished) - started
    return {
        "watchers": watchers,
        "watch_events": events,
        "watch_events_per_s_per_watcher": round(events / slowest),
        "watch_writer_events_per_s": round(events / written),
        "watch_ratio": round(slowest / written, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--watchers", type=int, default=4)
    parser.add_argument("--events", type=int, default=5_000)
    args = parser.parse_args()
    api, figures = bench_bulk_load(args.objects)
    print(f"bulk load: {figures}", file=sys.stderr)
    with Sandbox(api) as sandbox:
        figures |= bench_list(sandbox, args.objects)
        print(f"list: {figures}", file=sys.stderr)
        figures |= bench_watch(sandbox, args.watchers, args.events)
    print(orjson.dumps({"bench": "sandbox", **figures}).decode())


if __name__ == "__main__":
    main()
