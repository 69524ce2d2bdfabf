"""What of a Kubernetes object devplat may keep, and the parts the inventory stores as columns.

Secret material must never reach PostgreSQL, the API or the logs (RELIABILITY.md R10): `data`, `stringData` and
`binaryData` go from every object (only their key names stay, as `dataKeys`), and so do `managedFields` and the
last-applied annotation, which can hold a whole earlier manifest. provider-kubernetes `Object`s embed a manifest
(often a Secret) in `spec.forProvider.manifest` and echo it in `status.atProvider.manifest`; those get the same
treatment. Oversized annotations and parts are replaced by markers so one huge object cannot bloat a row.

`sanitize` runs on every object on the hot path, so it mutates the freshly decoded object in place and serialises
the object at most once unless it is large.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

TRUNCATED_KEY: Final = "devplat.io/truncated"
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
DATA_FIELDS: Final = ("data", "stringData", "binaryData")
# Where provider-kubernetes keeps the manifest it applies and the object it observed.
_EMBEDDED_MANIFESTS: Final = (("spec", "forProvider"), ("status", "atProvider"))
_NOT_SPEC: Final = frozenset({"apiVersion", "kind", "metadata", "status"})


def sanitize(obj: dict[str, Any], *, max_part_bytes: int = 262144, max_annotation_bytes: int = 4096) -> dict[str, Any]:
    """Strip secret material and cap sizes; mutates and returns `obj`, which the caller owns."""
    _strip(obj, max_annotation_bytes)
    for part, key in _EMBEDDED_MANIFESTS:
        holder = obj.get(part)
        inner = holder.get(key) if isinstance(holder, dict) else None
        manifest = inner.get("manifest") if isinstance(inner, dict) else None
        if isinstance(manifest, dict):
            _strip(manifest, max_annotation_bytes)
    # Parts are only measured when the whole object is large: one serialisation for the common case.
    if len(orjson.dumps(obj)) > max_part_bytes:
        for part in ("spec", "status"):
            if part in obj:
                size = len(orjson.dumps(obj[part]))
                if size > max_part_bytes:
                    obj[part] = {TRUNCATED_KEY: True, "bytes": size}
    return obj


def _strip(obj: dict[str, Any], max_annotation_bytes: int) -> None:
    """Drop managed fields, the last-applied annotation and data values; truncate long annotations."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and annotations:
            annotations.pop(LAST_APPLIED, None)
            for name, value in annotations.items():
                # A str of n characters is at most 4n utf-8 bytes: encode only the ones that might be too long.
                if isinstance(value, str) and len(value) * 4 > max_annotation_bytes:
                    size = len(value.encode("utf-8", "surrogatepass"))
                    if size > max_annotation_bytes:
                        annotations[name] = f"[truncated by devplat: {size} bytes]"
    keys: set[str] = set()
    for field in DATA_FIELDS:
        values = obj.pop(field, None)
        if isinstance(values, dict):
            keys.update(values)
    if keys:
        obj["dataKeys"] = sorted(keys)


def object_parts(obj: dict[str, Any]) -> dict[str, Any]:
    """The parts of a sanitized object that the inventory stores as separate columns.

    Kinds without a `spec` (ConfigMap, Secret, ...) keep their other top-level fields as the spec, so a Secret's
    type and key names are still queryable.
    """
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    if "spec" in obj:
        spec = obj["spec"]
    else:
        spec = {key: value for key, value in obj.items() if key not in _NOT_SPEC} or None
    return {
        "labels": metadata.get("labels") or {},
        "annotations": metadata.get("annotations") or {},
        "owner_references": metadata.get("ownerReferences") or [],
        "finalizers": metadata.get("finalizers") or [],
        "deletion_timestamp": metadata.get("deletionTimestamp") or None,
        "spec": spec,
        "status": obj.get("status"),
    }
