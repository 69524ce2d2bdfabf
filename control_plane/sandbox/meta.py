"""Object metadata rules of kube-apiserver: names, generateName, uid, timestamps, generation, no-op writes."""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from typing import Any

from control_plane.kubeapi.errors import ApiError, invalid
from control_plane.sandbox.kinds import ResourceKind
from control_plane.sandbox.selectors import label_predicate

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # upstream's: no vowels, no look-alikes
DNS_LABEL_KINDS = frozenset({"Namespace", "Service"})
SYSTEM_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "selfLink")


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))


def name_problem(kind: ResourceKind, name: str) -> str | None:
    """Why `name` is not a valid object name for `kind`, or None."""
    if kind.kind in DNS_LABEL_KINDS:
        if len(name) > 63 or not _LABEL.match(name):
            return (
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                "start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
            )
        return None
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'example.com')"
        )
    return None


def check_name(kind: ResourceKind, name: str) -> None:
    problem = name_problem(kind, name)
    if problem:
        field = "metadata.name"
        raise invalid(
            kind.kind,
            name,
            [{"reason": "FieldValueInvalid", "message": f'Invalid value: "{name}": {problem}', "field": field}],
            kind.group,
        )


def check_labels(kind: ResourceKind, name: str, meta: dict[str, Any]) -> None:
    """Label keys and values follow the selector grammar; annotations must be strings."""
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str):
            raise invalid(
                kind.kind,
                name,
                [{"reason": "FieldValueTypeInvalid", "message": "must be a string", "field": f"metadata.labels.{key}"}],
                kind.group,
            )
        try:
            label_predicate(f"{key}={value}" if value else key)
        except ApiError as error:
            raise invalid(
                kind.kind,
                name,
                [{"reason": "FieldValueInvalid", "message": error.message, "field": f"metadata.labels.{key}"}],
                kind.group,
            ) from None


def spec_part(obj: dict[str, Any], kind: ResourceKind) -> dict[str, Any]:
    """What `metadata.generation` tracks: everything but metadata, and status when it has its own subresource."""
    skipped = {"metadata", "status"} if kind.status_subresource else {"metadata"}
    return {key: value for key, value in obj.items() if key not in skipped}


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what every write changes, to detect no-op writes (which the server does not persist)."""
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    fields = [{k: v for k, v in entry.items() if k != "time"} for entry in obj["metadata"].get("managedFields") or ()]
    return {**obj, "metadata": {**meta, "managedFields": fields}}
