"""A request's parameters against its capability's schema: types, enums, bounds, defaults and CEL rules.

The check is the one kube-apiserver runs on a custom resource (`control_plane.kubeapi.schema.admit`: prune,
default, validate, then the `x-kubernetes-validations` rules), so what passes here passes the cluster's own
admission, and a mistake is reported before anything is sent, naming the field and the rule. Unknown parameters are
an error here (the API server would silently prune them, and a typo would be lost).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from control_plane.kubeapi.errors import ApiError
from control_plane.kubeapi.schema import admit
from control_plane.provisioning.catalog import Offer

SPEC = "spec."


def _field(path: str) -> str:
    """Where a cause points, as the requester wrote it: `storageGB` for `spec.storageGB`."""
    return "parameters." + path.removeprefix(SPEC) if path.startswith(SPEC) else "parameters"


def _known(schema: dict[str, Any]) -> list[str]:
    spec = (schema.get("properties") or {}).get("spec") or {}
    return sorted(name for name in (spec.get("properties") or {}) if name != "crossplane")


def admit_parameters(
    offer: Offer, *, name: str, namespace: str, parameters: Any, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The composite's spec: `parameters` with the schema's defaults filled in. Raises ValidationError with one
    entry per violated field (`parameters.storageGB`) and rule. `old` is the composite an update replaces: the
    transition rules (`self >= oldSelf`: storage only grows) run against it."""
    if not isinstance(parameters, dict):
        raise ValidationError({"parameters": "Parameters must be an object of name: value pairs."})
    candidate = {
        "apiVersion": offer.api_version,
        "kind": offer.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": parameters,
    }
    try:
        admitted = admit(candidate, offer.schema, kind=offer.kind, group=offer.group, name=name, old=old)
    except ApiError as exc:
        errors: dict[str, list[str]] = {}
        for cause in (exc.details or {}).get("causes") or [{"message": exc.message}]:
            errors.setdefault(_field(cause.get("field", "")), []).append(cause.get("message", ""))
        raise ValidationError(errors) from None
    if "spec" in admitted.unknown_fields and parameters:
        raise ValidationError({"parameters": f"{offer.kind} takes no parameters: its schema declares no spec."})
    unknown = [path.removeprefix(SPEC) for path in admitted.unknown_fields if path.startswith(SPEC)]
    if unknown:
        known = ", ".join(_known(offer.schema)) or "none"
        raise ValidationError(
            {
                f"parameters.{path}": f"{offer.kind} has no parameter {path!r}; its parameters are: {known}."
                for path in unknown
            }
        )
    spec = admitted.object.get("spec")
    return spec if isinstance(spec, dict) else {}
