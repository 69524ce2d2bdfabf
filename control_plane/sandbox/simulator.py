"""A SIMULATED reconciler for demos: it is not Crossplane and provisions nothing.

When it is on (`devplat sandbox serve --seed demo` turns it on; tests leave it off or call `reconcile_once`), it
does for the platform's composites what Crossplane and its providers would, in the seed's shapes (`seed.database`,
`seed.app`, ...): a composite that has waited `delay` seconds without a Ready condition gets its composition
(`spec.crossplane.compositionRef`, the XRD's default or a Composition matching its selector), its composed
children, their resource references, its status fields and Synced/Ready conditions. After that:

- a composite whose spec changed (its Ready condition's `observedGeneration` is behind `metadata.generation`) is
  composed again on the next pass: children are updated to match, and children it no longer composes are deleted;
- an App whose Database (`spec.databaseRef`) is not Ready, or whose connection Secret `<name>-conn` does not exist,
  stays not Ready, its pods unable to start, until the next pass that finds both.

Only what changed is written, so a waiting App costs nothing per pass. Everything it writes carries the annotation
`devplat.io/simulated: "true"` so nobody mistakes it for real provisioning. Composites the seed left not Ready
(the failing database, the cache being created) stay as they are until someone changes them.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from control_plane.kubeapi.errors import ApiError
from control_plane.sandbox import meta, seed, xrds
from control_plane.sandbox.apiserver import MERGE, ApiServer, WriteOptions
from control_plane.sandbox.crossplane_kinds import PLATFORM_GROUP
from control_plane.sandbox.kinds import ResourceKind
from control_plane.sandbox.store import Key, Object, Storage

logger = logging.getLogger(__name__)
MANAGER = "sandbox-simulator"
SIMULATED = {"devplat.io/simulated": "true"}
ENVIRONMENT_LABEL = "devplat.io/environment"
COMPOSITIONS = ("apiextensions.crossplane.io", "compositions")


def _age_seconds(obj: Object) -> float:
    created = datetime.datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    return (datetime.datetime.now(datetime.UTC) - created).total_seconds()


def _condition(obj: Object, kind: str) -> Object | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or () if c.get("type") == kind), None)


def _is_ready(obj: Object | None) -> bool:
    return obj is not None and (_condition(obj, "Ready") or {}).get("status") == "True"


def _simulated(obj: Object) -> bool:
    return (obj["metadata"].get("annotations") or {}).get("devplat.io/simulated") == SIMULATED["devplat.io/simulated"]


def _contains(live: Any, wanted: Any) -> bool:
    """Whether `live` already holds everything `wanted` says, ignoring transition times (and what the server added,
    such as defaults): the test for "this write would change nothing"."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            key == "lastTransitionTime" or (key in live and _contains(live[key], value))
            for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(_contains(have, want) for have, want in zip(live, wanted, strict=True))
        )
    return bool(live == wanted)


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
        """One pass over every composite; returns how many it changed (composed, updated or reported on)."""
        done = 0
        for kind in self.api.catalog.all():
            if "composite" not in kind.categories:
                continue
            snapshot = self.api.store.snapshot(kind.storage)
            for key in snapshot.keys:
                # One composite at a time under the store lock, against its live state: writes from clients wait,
                # and nothing is composed for a composite deleted since the snapshot.
                with self.api.store.lock:
                    xr = self.api.store.get(kind.storage, key)
                    if xr is None or not self._due(xr):
                        continue
                    try:
                        done += self._reconcile(kind, xr)
                    except ApiError as error:  # e.g. a child kind whose CRD is gone: say so, try again next pass
                        logger.info("simulated reconciler: %s/%s skipped: %s", xr["kind"], key[1], error)
        return done

    def _due(self, xr: Object) -> bool:
        """New and old enough, changed since its conditions were set, or left waiting by this simulator."""
        xr_meta = xr["metadata"]
        if xr_meta.get("deletionTimestamp"):
            return False
        ready = _condition(xr, "Ready")
        if ready is None:
            return _age_seconds(xr) >= self.delay
        generation = xr_meta.get("generation", 1)
        if ready.get("observedGeneration", generation) < generation:
            return True
        return ready.get("status") != "True" and _simulated(xr)

    # Composing.

    def _compose(self, xr: Object) -> list[Object]:
        """The seed builder's output for this composite: its own view (status, conditions) first, then children."""
        xr_meta, spec = xr["metadata"], xr.get("spec") or {}
        namespace, name = xr_meta.get("namespace", ""), xr_meta["name"]
        if xr["apiVersion"] != f"{PLATFORM_GROUP}/v1alpha1":
            return []
        if xr["kind"] == "Database":
            return seed.database(namespace, name, spec)
        if xr["kind"] == "App":
            waiting, secret_missing = self._database_wait(namespace, spec)
            return seed.app(namespace, name, spec, waiting=waiting, secret_missing=secret_missing)
        if xr["kind"] == "Cache":
            return seed.cache(namespace, name, spec, ready=True)
        if xr["kind"] == "Bucket":
            return seed.bucket(namespace, name, spec)
        if xr["kind"] == "TeamEnvironment":
            environment = (xr_meta.get("labels") or {}).get(ENVIRONMENT_LABEL, "dev")
            return seed.team_environment(namespace, name, spec, environment=environment)
        return []

    def _database_wait(self, namespace: str, spec: Object) -> tuple[str, bool]:
        """Why the App's database is not usable yet ("" when it is), and whether its connection secret is missing."""
        database = (spec.get("databaseRef") or {}).get("name")
        if not database:
            return "", False
        store = self.api.store
        found = store.get((PLATFORM_GROUP, "databases"), (namespace, database))
        secret = f"{database}-conn"
        missing = store.get(("", "secrets"), (namespace, secret)) is None
        if found is None:
            return f"waiting for Database {database}, which does not exist in {namespace}", missing
        if not _is_ready(found):
            return f"waiting for Database {database} to become Ready", missing
        if missing:
            return f"waiting for Secret {secret}, the connection secret of Database {database}", missing
        return "", False

    def _reconcile(self, kind: ResourceKind, xr: Object) -> int:
        built = self._compose(xr)
        view = built[0] if built else {"status": {"conditions": seed.READY}}
        children = [self._simulated(child, xr) for child in built[1:]]
        changed = self._write(children)
        changed |= self._remove_stale(xr, children)
        xr_meta = xr["metadata"]
        namespace, name = xr_meta.get("namespace"), xr_meta["name"]
        options = WriteOptions(field_manager=MANAGER)
        spec_patch = self._machinery(kind, xr, view)
        current = xr
        if spec_patch is not None:
            patch = {"metadata": {"annotations": SIMULATED}, "spec": spec_patch}
            current = self.api.patch(kind, namespace, name, patch, MERGE, options).object
            changed = True
        status = self._status(current, view)
        if not _contains(current.get("status") or {}, status):
            body = {"status": status}
            self.api.patch(kind, namespace, name, body, MERGE, options, subresource="status")
            changed = True
        if changed:
            ready = "Ready" if _is_ready({"status": status}) else "not Ready"
            logger.info("simulated reconciler: %s %s/%s is %s (simulation)", kind.kind, namespace or "-", name, ready)
        return int(changed)

    def _simulated(self, child: Object, xr: Object) -> Object:
        """A child as the simulator writes it: annotated, owned by the live composite (whose uid is not the seed's)."""
        child_meta = child["metadata"]
        child_meta.pop("creationTimestamp")  # now; uids stay the seed's name-derived ones, which wire the chain
        child_meta.setdefault("annotations", {}).update(SIMULATED)
        for reference in child_meta.get("ownerReferences") or ():
            if reference["name"] == xr["metadata"]["name"] and reference["kind"] == xr["kind"]:
                reference["uid"] = xr["metadata"]["uid"]
        return child

    def _write(self, children: list[Object]) -> bool:
        """Store the children that are new or differ from what the cluster has; True when there were any."""
        outdated = []
        for child in children:
            kind = self.api.kind_for(child["apiVersion"], child["kind"])
            child_meta = child["metadata"]
            key = (child_meta.get("namespace", "") if kind.namespaced else "", child_meta["name"])
            live = self.api.store.get(kind.storage, key)
            kept = {k: v for k, v in child_meta.items() if k not in ("uid", "namespace", "name")}
            wanted = {**child, "metadata": kept}
            if live is None or not _contains(live, wanted):
                outdated.append(child)
        if outdated:
            self.api.bulk_load(outdated)
        return bool(outdated)

    def _remove_stale(self, xr: Object, children: list[Object]) -> bool:
        """Delete what the composite (or what it composed) owns but no longer composes, like dropped pods or an
        Ingress whose host was removed; garbage collection takes their dependents."""
        wanted = {
            (child["kind"], child["metadata"].get("namespace", ""), child["metadata"]["name"]) for child in children
        }
        removed = False
        for storage, key in self._descendants(xr["metadata"]["uid"]):
            found = self.api.store.get(storage, key)
            if found is None or (found["kind"], *key) in wanted:
                continue
            kind = self.api.kind_for(found["apiVersion"], found["kind"])
            try:
                self.api.delete(kind, key[0] or None, key[1], WriteOptions())
                removed = True
            except ApiError:  # already gone with its owner
                continue
        return removed

    def _descendants(self, uid: str) -> list[tuple[Storage, Key]]:
        """Everything the object with `uid` owns, directly or through what it owns."""
        store, found, pending = self.api.store, dict[tuple[Storage, Key], None](), [uid]
        while pending:
            for location in sorted(store.dependents.get(pending.pop(), ())):
                obj = store.get(*location)
                if obj is not None and location not in found:
                    found[location] = None
                    pending.append(obj["metadata"]["uid"])
        return list(found)

    def _machinery(self, kind: ResourceKind, xr: Object, view: Object) -> Object | None:
        """The spec patch that sets the composition and resource references, or None when both are current.
        v2 composites keep them under spec.crossplane, legacy ones directly under spec."""
        spec = xr.get("spec") or {}
        modern = "crossplane" in (((kind.schema or {}).get("properties") or {}).get("spec") or {}).get("properties", {})
        machinery = (spec.get("crossplane") or {}) if modern else spec
        wanted: Object = {}
        refs = ((view.get("spec") or {}).get("crossplane") or {}).get("resourceRefs")
        if refs is not None and machinery.get("resourceRefs") != refs:
            wanted["resourceRefs"] = refs
        if not machinery.get("compositionRef"):
            composition = self._composition(kind, xr, machinery)
            if composition:
                wanted["compositionRef"] = {"name": composition}
        if not wanted and _simulated(xr):
            return None
        return {"crossplane": wanted} if modern else wanted

    def _composition(self, kind: ResourceKind, xr: Object, machinery: Object) -> str:
        """Crossplane's choice: the one matching `compositionSelector`, else the XRD's default, else the only one
        for the composite's type."""
        xrd = self.api.store.get(xrds.XRD_STORAGE, ("", kind.qualified))
        candidates = [
            composition
            for composition in self.api.store.snapshot(COMPOSITIONS).objects
            if (composition.get("spec") or {}).get("compositeTypeRef")
            == {"apiVersion": xr["apiVersion"], "kind": xr["kind"]}
        ]
        selector = (machinery.get("compositionSelector") or {}).get("matchLabels")
        if selector:
            for composition in candidates:
                labels = composition["metadata"].get("labels") or {}
                if all(labels.get(key) == value for key, value in selector.items()):
                    return str(composition["metadata"]["name"])
        default = ((xrd or {}).get("spec") or {}).get("defaultCompositionRef") or {}
        if default.get("name"):
            return str(default["name"])
        return str(candidates[0]["metadata"]["name"]) if len(candidates) == 1 else ""

    def _status(self, xr: Object, view: Object) -> Object:
        """The composite's status: the builder's fields and conditions for the current generation, a condition
        keeping its transition time while its status does not change."""
        generation = xr["metadata"].get("generation", 1)
        status = dict(view.get("status") or {})
        live = {c.get("type"): c for c in (xr.get("status") or {}).get("conditions") or ()}
        conditions = []
        for wanted in status.get("conditions") or ():
            previous = live.get(wanted["type"]) or {}
            entry = {**wanted, "observedGeneration": generation}
            if previous.get("status") == wanted["status"]:
                entry["lastTransitionTime"] = previous["lastTransitionTime"]
            else:
                entry["lastTransitionTime"] = meta.now_rfc3339()
            conditions.append(entry)
        return {**status, "conditions": conditions}
