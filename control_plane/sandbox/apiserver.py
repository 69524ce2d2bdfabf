"""The API server's behaviour without HTTP: every verb on every resource, as kube-apiserver's registry implements it.

`httpserver` maps requests onto these methods; tests and the seed may call them directly. Writes hold the store lock
for their whole read-modify-write, so concurrent writers serialize like etcd transactions do.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from control_plane.kubeapi import schema
from control_plane.kubeapi.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
    unsupported_media_type,
)
from control_plane.sandbox import apply, meta, patches, xrds
from control_plane.sandbox.faults import Faults
from control_plane.sandbox.kinds import CRD_STORAGE, NAMESPACE_STORAGE, Catalog, ResourceKind
from control_plane.sandbox.store import Key, Object, Storage, Store

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
METADATA_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "metadata.finalizers": apply.SET_LIST,
    "metadata.ownerReferences": ("uid",),
}


@dataclass
class WriteOptions:
    """Query parameters every write understands."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    force: bool = False


@dataclass
class WriteResult:
    object: Object
    created: bool = False
    warnings: list[str] = field(default_factory=list)


CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class ApiServer:
    """Catalog + store + fault controls. One instance is one cluster; like every cluster, it starts with the
    system namespaces (`default`, `kube-system`, ...)."""

    def __init__(self, *, max_events: int = 500_000) -> None:
        self.catalog = Catalog()
        self.store = Store(max_events=max_events)
        self.faults = Faults()
        self.bulk_load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in SYSTEM_NAMESPACES)

    # Lookups.

    def kind(self, group: str, version: str, plural: str) -> ResourceKind:
        found = self.catalog.lookup(group, version, plural)
        if found is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return found

    def kind_for(self, api_version: str, kind: str) -> ResourceKind:
        found = self.catalog.by_kind(api_version, kind)
        if found is None:
            raise bad_request(f'no matches for kind "{kind}" in version "{api_version}"')
        return found

    def _key(self, kind: ResourceKind, namespace: str | None, name: str) -> Key:
        return (namespace or "", name) if kind.namespaced else ("", name)

    def present(self, kind: ResourceKind, obj: Object) -> Object:
        """The object as served through `kind`'s version (the sandbox stores one version for all)."""
        if obj.get("apiVersion") == kind.api_version:
            return obj
        return {**obj, "apiVersion": kind.api_version}

    # Reads.

    def get(self, kind: ResourceKind, namespace: str | None, name: str) -> Object:
        obj = self.store.get(kind.storage, self._key(kind, namespace, name))
        if obj is None:
            raise not_found(kind.plural, name, kind.group)
        return self.present(kind, obj)

    # Writes.

    def create(self, kind: ResourceKind, namespace: str | None, body: Any, opts: WriteOptions) -> WriteResult:
        obj = self._decoded_object(kind, body)
        metadata = obj["metadata"]
        if kind.namespaced:
            self._check_namespace(kind, namespace, metadata)
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if not metadata.get("name"):
            if not metadata.get("generateName"):
                raise invalid(
                    kind.kind,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                    kind.group,
                )
            metadata["name"] = meta.generated_name(metadata["generateName"])
        meta.check_name(kind, metadata["name"])
        with self.store.lock:
            key = self._key(kind, namespace, metadata["name"])
            if self.store.get(kind.storage, key) is not None:
                raise already_exists(kind.plural, metadata["name"], kind.group)
            if kind.status_subresource:
                obj.pop("status", None)
            warnings = self._admit(kind, obj, opts)
            obj = self._initialize(kind, obj)
            obj = apply.track_update(
                None,
                obj,
                manager=opts.field_manager,
                api_version=kind.api_version,
                list_keys=self.list_keys(kind),
                now=meta.now_rfc3339(),
                has_status_subresource=kind.status_subresource,
            )
            stored = self._persist(kind, key, obj, None, opts)
        return WriteResult(self.present(kind, stored), created=True, warnings=warnings)

    def update(
        self, kind: ResourceKind, namespace: str | None, name: str, body: Any, opts: WriteOptions, subresource: str = ""
    ) -> WriteResult:
        obj = self._decoded_object(kind, body)
        self._check_identity(kind, namespace, name, obj)
        with self.store.lock:
            key = self._key(kind, namespace, name)
            live = self.store.get(kind.storage, key)
            if live is None:
                raise not_found(kind.plural, name, kind.group)
            wanted = obj["metadata"].get("resourceVersion")
            if not wanted and not kind.builtin:
                raise invalid(
                    kind.kind,
                    name,
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "message": "Invalid value: 0x0: must be specified for an update",
                            "field": "metadata.resourceVersion",
                        }
                    ],
                    kind.group,
                )
            _check_resource_version(kind, name, live, wanted)
            return self._write_over(kind, key, live, obj, opts, subresource)

    def patch(
        self,
        kind: ResourceKind,
        namespace: str | None,
        name: str,
        body: Any,
        content_type: str,
        opts: WriteOptions,
        subresource: str = "",
    ) -> WriteResult:
        if content_type not in PATCH_TYPES:
            raise unsupported_media_type(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(PATCH_TYPES)}"
            )
        if content_type == STRATEGIC and not kind.builtin:
            raise unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: "
                f"{JSON_PATCH}, {MERGE}, {APPLY}"
            )
        if content_type == APPLY:
            return self._apply(kind, namespace, name, body, opts, subresource)
        with self.store.lock:
            key = self._key(kind, namespace, name)
            live = self.store.get(kind.storage, key)
            if live is None:
                raise not_found(kind.plural, name, kind.group)
            current = self.present(kind, live)
            if content_type == JSON_PATCH:
                patched = patches.json_patch(current, body)
            elif content_type == MERGE:
                patched = patches.merge_patch(current, body)
            else:
                patched = patches.strategic_merge_patch(current, body, kind.kind)
            obj = self._decoded_object(kind, patched)
            self._check_identity(kind, namespace, name, obj)
            wanted = obj["metadata"].get("resourceVersion")
            _check_resource_version(kind, name, live, wanted)
            return self._write_over(kind, key, live, obj, opts, subresource)

    def _apply(
        self, kind: ResourceKind, namespace: str | None, name: str, body: Any, opts: WriteOptions, subresource: str
    ) -> WriteResult:
        if not opts.field_manager:
            raise bad_request(
                "PATCH request must specify a field manager for apply requests (fieldManager is required)"
            )
        obj = self._decoded_object(kind, body, require_type=True)
        self._check_identity(kind, namespace, name, obj)
        with self.store.lock:
            key = self._key(kind, namespace, name)
            live = self.store.get(kind.storage, key)
            if live is None and subresource:
                raise not_found(kind.plural, name, kind.group)
            if live is None:
                obj["metadata"]["name"] = name
                if kind.namespaced:
                    self._check_namespace(kind, namespace, obj["metadata"])
                    obj["metadata"]["namespace"] = namespace
                meta.check_name(kind, name)
            # Admission (schema, unknown fields) judges the merged object: a partial apply may omit required fields.
            merged = apply.server_side_apply(
                None if live is None else self.present(kind, live),
                obj,
                manager=opts.field_manager,
                force=opts.force,
                api_version=kind.api_version,
                list_keys=self.list_keys(kind),
                now=meta.now_rfc3339(),
                subresource=subresource,
                has_status_subresource=kind.status_subresource,
            )
            if live is None:
                if kind.status_subresource:
                    merged.pop("status", None)
                warnings = self._admit(kind, merged, opts)
                stored = self._persist(kind, key, self._initialize(kind, merged), None, opts)
                return WriteResult(self.present(kind, stored), created=True, warnings=warnings)
            return self._write_over(kind, key, live, merged, opts, subresource, track=False)

    def _write_over(
        self,
        kind: ResourceKind,
        key: Key,
        live: Object,
        obj: Object,
        opts: WriteOptions,
        subresource: str,
        *,
        track: bool = True,
    ) -> WriteResult:
        """Replace `live` by `obj` keeping what clients may not change; the common tail of update, patch and apply."""
        old_meta = live["metadata"]
        if subresource == "status":
            new = {**copy.deepcopy(live), "status": obj.get("status")}
            if new["status"] is None:
                new.pop("status")
            new["metadata"]["managedFields"] = obj["metadata"].get("managedFields", old_meta.get("managedFields"))
        else:
            new = obj
            if kind.status_subresource:
                if "status" in live:
                    new["status"] = copy.deepcopy(live["status"])
                else:
                    new.pop("status", None)
        new_meta = new["metadata"]
        for preserved in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
            if preserved in old_meta:
                new_meta[preserved] = old_meta[preserved]
            else:
                new_meta.pop(preserved, None)
        new_meta["name"] = old_meta["name"]
        new["apiVersion"] = live["apiVersion"]
        new["kind"] = kind.kind
        warnings = self._admit(kind, new, opts, old=live)
        new_meta = new["metadata"]  # admission rebuilt the object
        generation = old_meta.get("generation", 1)
        if meta.spec_part(new, kind) != meta.spec_part(live, kind):
            generation += 1
        new_meta["generation"] = generation
        if track:
            new = apply.track_update(
                self.present(kind, live),
                new,
                manager=opts.field_manager,
                api_version=kind.api_version,
                list_keys=self.list_keys(kind),
                now=meta.now_rfc3339(),
                subresource=subresource,
                has_status_subresource=kind.status_subresource,
            )
        new_meta = new["metadata"]
        new_meta["resourceVersion"] = old_meta["resourceVersion"]
        if meta.comparable(new) == meta.comparable(live):
            return WriteResult(self.present(kind, live), warnings=warnings)
        stored = self._persist(kind, key, new, live, opts)
        return WriteResult(self.present(kind, stored), warnings=warnings)

    def delete(
        self,
        kind: ResourceKind,
        namespace: str | None,
        name: str,
        opts: WriteOptions,
        *,
        preconditions: dict[str, str] | None = None,
        propagation: str = "Background",
    ) -> Object:
        """Delete one object; `propagation` is DeleteOptions.propagationPolicy: Background deletes dependents after
        the owner, Foreground before it (the owner waits with a `foregroundDeletion` finalizer), Orphan keeps them
        and drops their reference to it."""
        with self.store.lock:
            key = self._key(kind, namespace, name)
            live = self.store.get(kind.storage, key)
            if live is None:
                raise not_found(kind.plural, name, kind.group)
            for field_name, expected in (preconditions or {}).items():
                actual = live["metadata"].get(field_name)
                if expected and expected != actual:
                    raise conflict(
                        kind.plural,
                        name,
                        kind.group,
                        f"Precondition failed: {field_name.upper() if field_name == 'uid' else field_name} "
                        f"in precondition: {expected}, {field_name} in object meta: {actual}",
                    )
            return self.present(kind, self._delete_object(kind, key, live, opts, propagation=propagation))

    def delete_collection(
        self,
        kind: ResourceKind,
        namespace: str | None,
        predicate: Callable[[Object], bool] | None,
        opts: WriteOptions,
    ) -> list[Object]:
        with self.store.lock:
            snapshot = self.store.snapshot(kind.storage)
            deleted = []
            for key, obj in zip(snapshot.keys, snapshot.objects, strict=True):
                if kind.namespaced and namespace and key[0] != namespace:
                    continue
                if predicate is not None and not predicate(obj):
                    continue
                live = self.store.get(kind.storage, key)
                if live is not None:
                    deleted.append(self.present(kind, self._delete_object(kind, key, live, opts)))
            return deleted

    # Bulk loading for tests and benchmarks: no HTTP, no admission, one lock hold.

    def bulk_load(self, objects: Iterable[Object]) -> int:
        """Store many objects at once; returns how many.

        Metadata is filled in (a given uid and creationTimestamp are kept, so a seed can wire ownerReferences
        up front), status is kept, missing namespaces are created, and an existing object is replaced. The sandbox
        keeps the objects' nested data without copying it (that is what makes 100k objects load in seconds):
        do not change what you passed in afterwards.
        """
        count = 0
        now = meta.now_rfc3339()
        namespaces = self.kind("", "v1", "namespaces")
        with self.store.lock:
            for body in objects:
                kind = self.kind_for(body["apiVersion"], body["kind"])
                obj = {**body, "metadata": dict(body.get("metadata") or {})}
                obj_meta = obj["metadata"]
                namespace = obj_meta.get("namespace", "") if kind.namespaced else ""
                if kind.namespaced and self.store.get(NAMESPACE_STORAGE, ("", namespace)) is None:
                    self._persist(
                        namespaces,
                        ("", namespace),
                        self._initialize(namespaces, {"metadata": {"name": namespace}}, now=now),
                        None,
                        WriteOptions(),
                    )
                key = (namespace, obj_meta["name"])
                live = self.store.get(kind.storage, key)
                given = {f: obj_meta[f] for f in ("uid", "creationTimestamp") if obj_meta.get(f)}
                obj = self._initialize(kind, obj, keep_status=True, now=now)
                obj_meta.update({f: live["metadata"][f] for f in ("uid", "creationTimestamp")} if live else given)
                self._persist(kind, key, obj, live, WriteOptions())
                count += 1
        return count

    # The scale subresource (`kubectl scale`): an autoscaling/v1 Scale view of spec.replicas.

    def scale(self, kind: ResourceKind, namespace: str | None, name: str) -> Object:
        return _scale_of(self.get(kind, namespace, name))

    def rescale(
        self,
        kind: ResourceKind,
        namespace: str | None,
        name: str,
        body: Any,
        content_type: str | None,
        opts: WriteOptions,
    ) -> Object:
        """Update spec.replicas from a Scale (PUT, `content_type` None) or a patch of the Scale."""
        with self.store.lock:
            current = _scale_of(self.get(kind, namespace, name))
            if content_type is None:
                wanted = body
            elif content_type == JSON_PATCH:
                wanted = patches.json_patch(current, body)
            elif content_type in (MERGE, STRATEGIC):
                wanted = patches.merge_patch(current, body)
            else:
                raise unsupported_media_type(f"the scale subresource takes {JSON_PATCH}, {MERGE} or {STRATEGIC}")
            replicas = (wanted.get("spec") or {}).get("replicas") if isinstance(wanted, dict) else None
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid(
                    "Scale",
                    name,
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "spec.replicas",
                            "message": f"Invalid value: {replicas!r}: must be an integer >= 0",
                        }
                    ],
                    "autoscaling",
                )
            rv = (wanted.get("metadata") or {}).get("resourceVersion")
            patch = {"metadata": {"resourceVersion": rv} if rv else {}, "spec": {"replicas": replicas}}
            result = self.patch(kind, namespace, name, patch, MERGE, opts)
            return _scale_of(result.object)

    # State files: the cluster's objects survive a restart of `devplat sandbox serve --state FILE`.

    def dump(self) -> dict[str, Any]:
        """Every object and the resourceVersion counter, CRDs first (their kinds must exist to restore the rest)."""
        with self.store.lock:
            crds = list(self.store.bucket(CRD_STORAGE).objects.values())
            others = [
                obj
                for kind in {k.storage: k for k in self.catalog.all()}.values()
                if kind.storage != CRD_STORAGE
                for obj in self.store.bucket(kind.storage).objects.values()
            ]
            return {"resourceVersion": self.store.rv, "objects": crds + others}

    def restore(self, state: dict[str, Any]) -> int:
        """Replace everything by a `dump()`, exactly (uids and resourceVersions kept). History is not kept: older
        watches get 410. For a server that nobody uses yet (it replaces the store)."""
        objects = state["objects"]
        self.catalog = Catalog()
        self.store = Store(max_events=self.store.max_events)
        with self.store.lock:
            for obj in objects:
                if obj["kind"] == "CustomResourceDefinition":
                    self.catalog.register_crd(obj)
            for obj in sorted(objects, key=lambda o: int(o["metadata"]["resourceVersion"])):
                kind = self.kind_for(obj["apiVersion"], obj["kind"])
                key = self._key(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                self.store.commit(kind.storage, key, "ADDED", obj, None, int(obj["metadata"]["resourceVersion"]))
            self.store.rv = max(self.store.rv, int(state["resourceVersion"]))
            self.store.compact()
        return len(objects)

    # Internals.

    def list_keys(self, kind: ResourceKind) -> Callable[[str], tuple[str, ...] | None]:
        """Which lists are keyed maps (or sets) for field ownership: metadata's, then the schema's or built-in keys."""
        if kind.builtin:

            def builtin_keys(path: str) -> tuple[str, ...] | None:
                if path in METADATA_LIST_KEYS:
                    return METADATA_LIST_KEYS[path]
                key = patches.list_merge_key(kind.kind, path)
                return (key,) if key else None

            return builtin_keys
        keyed = {**kind.list_map_keys, **METADATA_LIST_KEYS}
        return keyed.get

    def _decoded_object(self, kind: ResourceKind, body: Any, *, require_type: bool = False) -> Object:
        if not isinstance(body, dict):
            raise bad_request(f"the body of the request is not a {kind.kind} object: expected a JSON object")
        obj = copy.deepcopy(body)
        api_version, obj_kind = obj.get("apiVersion"), obj.get("kind")
        if require_type and (not api_version or not obj_kind):
            raise bad_request("apiVersion and kind are required in an apply patch")
        if obj_kind and obj_kind != kind.kind:
            raise bad_request(f"the kind in the data ({obj_kind}) does not match the expected kind ({kind.kind})")
        if api_version and api_version != kind.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({kind.api_version})"
            )
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        metadata = obj.get("metadata")
        if metadata is None:
            metadata = obj["metadata"] = {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        meta.check_labels(kind, metadata.get("name", ""), metadata)
        return obj

    def _check_identity(self, kind: ResourceKind, namespace: str | None, name: str, obj: Object) -> None:
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        obj["metadata"]["name"] = name
        body_namespace = obj["metadata"].get("namespace")
        if kind.namespaced and body_namespace and body_namespace != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")

    def _check_namespace(self, kind: ResourceKind, namespace: str | None, metadata: dict[str, Any]) -> None:
        body_namespace = metadata.get("namespace")
        if not namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if body_namespace and body_namespace != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        holder = self.store.get(NAMESPACE_STORAGE, ("", namespace))
        if holder is None:
            raise not_found("namespaces", namespace)
        if holder["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{kind.plural} "{metadata.get("name") or metadata.get("generateName", "")}" is forbidden: unable to '
                f"create new content in namespace {namespace} because it is being terminated",
            )

    def _admit(self, kind: ResourceKind, obj: Object, opts: WriteOptions, old: Object | None = None) -> list[str]:
        """CRD schema (defaults, pruning, validation, CEL rules) and, for CRDs themselves, their own validity.

        `old` is the live object an update replaces (None on create), for the schema's transition rules."""
        if kind.storage == CRD_STORAGE:
            problems = schema.crd_problems(obj)
            if problems:
                raise invalid(kind.kind, obj["metadata"].get("name", ""), problems, kind.group)
            return []
        if kind.schema is None:
            return []
        admitted = schema.admit(
            obj, kind.schema, kind=kind.kind, group=kind.group, name=obj["metadata"].get("name", ""), old=old
        )
        unknown = [path.lstrip(".") for path in admitted.unknown_fields]
        if unknown and opts.field_validation == "Strict":
            raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{path}"' for path in unknown))
        obj.clear()
        obj.update(admitted.object)
        return [f'unknown field "{path}"' for path in unknown] if opts.field_validation == "Warn" else []

    def _initialize(self, kind: ResourceKind, obj: Object, *, keep_status: bool = False, now: str = "") -> Object:
        """Server-set metadata and defaults of a new object. Replaces nested dicts rather than changing them, so
        `bulk_load` can share the caller's nested data."""
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        obj_meta = obj["metadata"]
        for system_field in meta.SYSTEM_FIELDS:
            obj_meta.pop(system_field, None)
        obj_meta["uid"] = meta.new_uid()
        obj_meta["creationTimestamp"] = now or meta.now_rfc3339()
        obj_meta["generation"] = 1
        if kind.storage == NAMESPACE_STORAGE:
            obj_meta["labels"] = {**(obj_meta.get("labels") or {}), "kubernetes.io/metadata.name": obj_meta["name"]}
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        elif kind.storage == CRD_STORAGE:
            obj["status"] = _established_status(obj)
            if CRD_CLEANUP_FINALIZER not in obj_meta.get("finalizers", []):
                obj_meta["finalizers"] = [*obj_meta.get("finalizers", []), CRD_CLEANUP_FINALIZER]
        elif kind.kind == "Deployment" and not keep_status:
            obj["spec"] = {"replicas": 1, **(obj.get("spec") or {})}
        elif kind.kind == "Secret":
            obj.setdefault("type", "Opaque")
        elif kind.kind == "Service":
            obj["spec"] = {"type": "ClusterIP", "clusterIP": _cluster_ip(obj_meta["uid"]), **(obj.get("spec") or {})}
        return obj

    def _persist(self, kind: ResourceKind, key: Key, obj: Object, live: Object | None, opts: WriteOptions) -> Object:
        """Commit one write (unless dry-run); an object whose deletion only waited on finalizers is removed."""
        store = self.store
        obj_meta = obj["metadata"]
        if live is not None and obj_meta.get("deletionTimestamp") and not _finalizers(kind, obj):
            return self._remove(kind, key, obj, live, opts)
        if opts.dry_run:
            if live is None:
                obj_meta.pop("resourceVersion", None)
            return obj
        rv = store.next_rv()
        obj_meta["resourceVersion"] = str(rv)
        store.commit(kind.storage, key, "ADDED" if live is None else "MODIFIED", obj, live, rv)
        if kind.storage == CRD_STORAGE:
            self.catalog.register_crd(obj)
        elif kind.storage == xrds.XRD_STORAGE:
            xrds.reconcile(self, obj, WriteOptions(field_manager=xrds.MANAGER))
        return obj

    def _delete_object(
        self, kind: ResourceKind, key: Key, live: Object, opts: WriteOptions, *, propagation: str = "Background"
    ) -> Object:
        """Delete now, or mark for deletion when finalizers (or contents, for namespaces and CRDs, or dependents, in
        the foreground) must go first."""
        if kind.storage == NAMESPACE_STORAGE:
            return self._delete_namespace(kind, key, live, opts)
        if kind.storage == CRD_STORAGE:
            return self._delete_crd(kind, key, live, opts)
        uid = live["metadata"]["uid"]
        if propagation == "Orphan" and not opts.dry_run:
            for storage, dependent_key in list(self.store.dependents.get(uid, ())):
                self._drop_owner(storage, dependent_key, uid)
        if propagation == "Foreground" and self.store.dependents.get(uid):
            return self._delete_foreground(kind, key, live, opts)
        if live["metadata"].get("finalizers"):
            return self._mark_deleted(kind, key, live, opts)
        return self._remove(kind, key, live, live, opts)

    def _mark_deleted(self, kind: ResourceKind, key: Key, live: Object, opts: WriteOptions) -> Object:
        if live["metadata"].get("deletionTimestamp"):
            return live
        return self._persist(kind, key, _marked(live), live, opts)

    def _delete_foreground(self, kind: ResourceKind, key: Key, live: Object, opts: WriteOptions) -> Object:
        """The owner stays, marked and held by `foregroundDeletion`, while its dependents are deleted (in the
        foreground too); `_release_foreground` removes it once the last one is gone."""
        marked = live
        if FOREGROUND_FINALIZER not in live["metadata"].get("finalizers", []):
            marked = live if live["metadata"].get("deletionTimestamp") else _marked(live)
            marked = {**marked, "metadata": {**marked["metadata"]}}
            marked["metadata"]["finalizers"] = [*marked["metadata"].get("finalizers", []), FOREGROUND_FINALIZER]
            marked = self._persist(kind, key, marked, live, opts)
        if opts.dry_run:
            return marked
        uid = live["metadata"]["uid"]
        for storage, dependent_key in list(self.store.dependents.get(uid, ())):
            dependent = self.store.get(storage, dependent_key)
            dependent_kind = self._kind_for_storage(storage)
            if dependent is None or dependent_kind is None or dependent["metadata"].get("deletionTimestamp"):
                continue
            if self._has_other_owner(dependent, uid):
                self._drop_owner(storage, dependent_key, uid)
            else:
                self._delete_object(dependent_kind, dependent_key, dependent, WriteOptions(), propagation="Foreground")
        return self._release_foreground(uid) or self.store.get(kind.storage, key) or marked

    def _release_foreground(self, owner_uid: str) -> Object | None:
        """An owner deleted in the foreground goes (or loses that finalizer) once no dependent is left; returns it."""
        location = self.store.uids.get(owner_uid)
        if location is None or self.store.dependents.get(owner_uid):
            return None
        storage, key = location
        owner, kind = self.store.get(storage, key), self._kind_for_storage(storage)
        if owner is None or kind is None or FOREGROUND_FINALIZER not in owner["metadata"].get("finalizers", []):
            return None
        finalizers = [f for f in owner["metadata"]["finalizers"] if f != FOREGROUND_FINALIZER]
        released = {**owner, "metadata": {**owner["metadata"], "finalizers": finalizers}}
        return self._persist(kind, key, released, owner, WriteOptions())

    def _drop_owner(self, storage: Storage, key: Key, owner_uid: str) -> None:
        """What the garbage collector does to orphan a dependent: remove its reference to the owner."""
        dependent, kind = self.store.get(storage, key), self._kind_for_storage(storage)
        if dependent is None or kind is None:
            return
        references = [r for r in dependent["metadata"].get("ownerReferences") or () if r.get("uid") != owner_uid]
        metadata = {k: v for k, v in dependent["metadata"].items() if k != "ownerReferences"}
        if references:
            metadata["ownerReferences"] = references
        self._persist(kind, key, {**dependent, "metadata": metadata}, dependent, WriteOptions())

    def _has_other_owner(self, dependent: Object, owner_uid: str) -> bool:
        owners = [ref.get("uid") for ref in dependent["metadata"].get("ownerReferences") or ()]
        return any(uid != owner_uid and uid in self.store.uids for uid in owners)

    def _remove(self, kind: ResourceKind, key: Key, final: Object, live: Object, opts: WriteOptions) -> Object:
        """The object leaves storage; background garbage collection deletes dependents that have no owner left, and
        an owner deleted in the foreground that waited for this object may go now."""
        if opts.dry_run:
            return final
        store = self.store
        rv = store.next_rv()
        gone = {**final, "metadata": {**final["metadata"], "resourceVersion": str(rv)}}
        store.commit(kind.storage, key, "DELETED", gone, live, rv)
        if kind.storage == CRD_STORAGE:
            self.catalog.unregister_crd(final)
        self._collect_dependents(final["metadata"]["uid"])
        for reference in final["metadata"].get("ownerReferences") or ():
            self._release_foreground(reference.get("uid", ""))
        self._finish_containers(kind.storage, key[0])
        return gone

    def _collect_dependents(self, owner_uid: str) -> None:
        for storage, key in list(self.store.dependents.get(owner_uid, ())):
            dependent = self.store.get(storage, key)
            dependent_kind = self._kind_for_storage(storage)
            if dependent is None or dependent_kind is None or self._has_other_owner(dependent, owner_uid):
                continue
            self._delete_object(dependent_kind, key, dependent, WriteOptions())

    def _kind_for_storage(self, storage: Storage) -> ResourceKind | None:
        return next((k for k in self.catalog.all() if k.storage == storage), None)

    def _delete_namespace(self, kind: ResourceKind, key: Key, live: Object, opts: WriteOptions) -> Object:
        name = key[1]
        if opts.dry_run:
            return live
        marked = live
        if not live["metadata"].get("deletionTimestamp"):
            marked = copy.deepcopy(live)
            marked["metadata"]["deletionTimestamp"] = meta.now_rfc3339()
            marked["status"] = {"phase": "Terminating"}
            marked = self._persist(kind, key, marked, live, opts)
        for resource in self.catalog.all():
            if not resource.namespaced:
                continue
            snapshot = self.store.snapshot(resource.storage)
            for obj_key, obj in zip(snapshot.keys, snapshot.objects, strict=True):
                if obj_key[0] == name and self.store.get(resource.storage, obj_key) is obj:
                    self._delete_object(resource, obj_key, obj, opts)
        return self._finish_namespace(name) or marked

    def _delete_crd(self, kind: ResourceKind, key: Key, live: Object, opts: WriteOptions) -> Object:
        if opts.dry_run:
            return live
        marked = self._mark_deleted(kind, key, live, opts) if not live["metadata"].get("deletionTimestamp") else live
        spec = live["spec"]
        storage = (spec["group"], spec["names"]["plural"])
        served = self._kind_for_storage(storage)
        if served is not None:
            snapshot = self.store.snapshot(storage)
            for obj_key, obj in zip(snapshot.keys, snapshot.objects, strict=True):
                if self.store.get(storage, obj_key) is obj:
                    self._delete_object(served, obj_key, obj, opts)
        return self._finish_crd(key) or marked

    def _finish_crd(self, key: Key) -> Object | None:
        crd = self.store.get(CRD_STORAGE, key)
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return None
        storage = (crd["spec"]["group"], crd["spec"]["names"]["plural"])
        if self.store.bucket(storage).objects:
            return None
        crd_kind = self.kind("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        finalizers = [f for f in crd["metadata"].get("finalizers", []) if f != CRD_CLEANUP_FINALIZER]
        final = {**crd, "metadata": {**crd["metadata"], "finalizers": finalizers}}
        gone = self._remove(crd_kind, key, final, crd, WriteOptions())
        self.store.drop_storage(storage)
        return gone

    def _finish_namespace(self, name: str) -> Object | None:
        """A terminating namespace goes once nothing is left in it (the namespace controller's `kubernetes`
        finalizer, done at once); returns what was removed."""
        namespace = self.store.get(NAMESPACE_STORAGE, ("", name))
        if namespace is None or not namespace["metadata"].get("deletionTimestamp") or self.store.namespace_sizes[name]:
            return None
        final = {**namespace, "spec": {**namespace.get("spec", {}), "finalizers": []}}
        return self._remove(self.kind("", "v1", "namespaces"), ("", name), final, namespace, WriteOptions())

    def _finish_containers(self, storage: Storage, namespace: str) -> None:
        """After a removal from `storage` in `namespace`: a terminating namespace or CRD goes once it is empty."""
        if namespace:
            self._finish_namespace(namespace)
        group, plural = storage
        self._finish_crd(("", f"{plural}.{group}"))


def _scale_of(obj: Object) -> Object:
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: obj["metadata"][key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in obj["metadata"]
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def _marked(live: Object) -> Object:
    """`live` marked for deletion, as the API server marks an object whose finalizers must run first."""
    marked = copy.deepcopy(live)
    marked["metadata"]["deletionTimestamp"] = meta.now_rfc3339()
    marked["metadata"]["deletionGracePeriodSeconds"] = 0
    marked["metadata"]["generation"] = live["metadata"].get("generation", 1) + 1
    return marked


def _finalizers(kind: ResourceKind, obj: Object) -> list[str]:
    """What holds a deleted object: its finalizers, and for a namespace also the namespace controller's
    (`spec.finalizers`), which `_finish_namespace` releases once the namespace is empty."""
    held = list(obj["metadata"].get("finalizers") or ())
    if kind.storage == NAMESPACE_STORAGE:
        held += (obj.get("spec") or {}).get("finalizers") or ()
    return held


def _check_resource_version(kind: ResourceKind, name: str, live: Object, wanted: str | None) -> None:
    """Optimistic concurrency: a write that names a resourceVersion must name the current one."""
    if wanted and wanted != live["metadata"]["resourceVersion"]:
        raise conflict(
            kind.plural,
            name,
            kind.group,
            "the object has been modified; please apply your changes to the latest version and try again",
        )


def _established_status(crd: Object) -> dict[str, Any]:
    now = meta.now_rfc3339()
    names = crd.get("spec", {}).get("names", {})
    accepted = {
        key: names[key]
        for key in ("plural", "singular", "kind", "listKind", "shortNames", "categories")
        if key in names
    }
    accepted.setdefault("singular", names.get("kind", "").lower())
    accepted.setdefault("listKind", f"{names.get('kind', '')}List")
    conditions = [
        {"type": condition, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now}
        for condition, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
    ]
    stored = [v["name"] for v in crd.get("spec", {}).get("versions", []) if v.get("storage")]
    return {"acceptedNames": accepted, "conditions": conditions, "storedVersions": stored}


def _cluster_ip(uid: str) -> str:
    value = int(uid.replace("-", "")[:8], 16)
    return f"10.96.{(value >> 8) % 256}.{value % 254 + 1}"
