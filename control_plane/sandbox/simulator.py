"""A SIMULATED reconciler for demos: it is not Crossplane and provisions nothing.

When it is on (`devplat sandbox serve --seed demo` turns it on; tests leave it off and drive status themselves), a
composite resource that has been waiting `delay` seconds without a Ready condition gets composed children like the
demo seed's (an RDS instance and security group for a Database, a Deployment and Service for an App, a replication
group for a Cache), its resource references, and Synced/Ready conditions. Everything it writes carries the
annotation `devplat.io/simulated: "true"` so nobody mistakes it for real provisioning.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from control_plane.sandbox import seed
from control_plane.sandbox.apiserver import ApiServer, WriteOptions
from control_plane.sandbox.errors import ApiError

logger = logging.getLogger(__name__)
MANAGER = "sandbox-simulator"
SIMULATED = {"devplat.io/simulated": "true"}


def _age_seconds(obj: dict[str, Any]) -> float:
    created = datetime.datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    return (datetime.datetime.now(datetime.UTC) - created).total_seconds()


def _is_ready(obj: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" for c in (obj.get("status") or {}).get("conditions") or ())


def _children(xr: dict[str, Any]) -> list[dict[str, Any]]:
    """What the demo compositions would compose for this composite, owned by it."""
    meta, spec = xr["metadata"], xr.get("spec") or {}
    namespace, name = meta.get("namespace", ""), meta["name"]
    if xr["kind"] == "Database":
        built = seed.database(namespace, name, engine_version=str(spec.get("engineVersion", "16")))
    elif xr["kind"] == "App":
        built = seed.app(
            namespace,
            name,
            spec.get("image", "nginx:stable"),
            database_name=(spec.get("databaseRef") or {}).get("name", ""),
        )
    elif xr["kind"] == "Cache":
        built = seed.cache(namespace, name)
    else:
        return []
    children = []
    for child in built[1:]:
        child_meta = child["metadata"]
        child_meta.pop("creationTimestamp")  # now; uids stay the seed's name-derived ones, which wire the chain
        child_meta.setdefault("annotations", {}).update(SIMULATED)
        for reference in child_meta.get("ownerReferences") or ():
            if reference["name"] == name and reference["kind"] == xr["kind"]:
                reference["uid"] = meta["uid"]
        if child["kind"] in ("Instance", "ReplicationGroup", "SecurityGroup"):
            child["status"] = {"conditions": seed.READY}
        children.append(child)
    return children


class Simulator:
    """Polls composites every `interval` seconds; thread-safe through the ApiServer's own locking."""

    def __init__(self, api: ApiServer, *, delay: float = 3.0, interval: float = 0.5) -> None:
        self.api = api
        self.delay = delay
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reconcile_once()
            except Exception:
                logger.exception("simulated reconciler: a pass failed")

    def reconcile_once(self) -> int:
        """Make every composite that has waited long enough Ready; returns how many it made Ready."""
        done = 0
        for kind in self.api.catalog.all():
            if "composite" not in kind.categories:
                continue
            for xr in self.api.store.snapshot(kind.storage).objects:
                if _is_ready(xr) or xr["metadata"].get("deletionTimestamp") or _age_seconds(xr) < self.delay:
                    continue
                try:
                    self._reconcile(kind, xr)
                    done += 1
                except ApiError as error:  # deleted or changed meanwhile: the next pass sees the new state
                    logger.info("simulated reconciler: %s/%s skipped: %s", xr["kind"], xr["metadata"]["name"], error)
        return done

    def _reconcile(self, kind: Any, xr: dict[str, Any]) -> None:
        children = _children(xr)
        self.api.bulk_load(children)
        namespace = xr["metadata"].get("namespace")
        name = xr["metadata"]["name"]
        refs = [seed.ref(child) for child in children if child["kind"] not in ("ReplicaSet", "Pod")]
        options = WriteOptions(field_manager=MANAGER)
        if refs:
            # v2 composites are namespaced and keep their machinery under spec.crossplane; v1 ones are cluster-scoped.
            machinery: dict[str, Any] = {"resourceRefs": refs}
            if kind.namespaced:
                machinery = {"crossplane": machinery}
            self.api.patch(
                kind,
                namespace,
                name,
                {"metadata": {"annotations": SIMULATED}, "spec": machinery},
                "application/merge-patch+json",
                options,
            )
        ready = [
            seed.condition("Synced", "True", "ReconcileSuccess", minutes=0),
            seed.condition("Ready", "True", "Available", minutes=0),
        ]
        self.api.patch(
            kind,
            namespace,
            name,
            {"status": {"conditions": ready}},
            "application/merge-patch+json",
            options,
            subresource="status",
        )
        logger.info("simulated reconciler: %s %s/%s is Ready (simulation)", kind.kind, namespace or "-", name)
