"""Parameters from the command line: `-f values.yaml` and `--set key.path=value`, typed by the capability's schema.

`--set storageGB=50` gives an integer and `--set engineVersion=16` a string because the schema says so, not because
of how the text looks (Helm's guessing turns a version "16" into a number the schema refuses). Where the schema is
silent the value is read as YAML.
"""

from __future__ import annotations

from typing import Any

import yaml
from django.core.exceptions import ValidationError

TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _node(schema: dict[str, Any], path: list[str]) -> dict[str, Any]:
    node = (schema.get("properties") or {}).get("spec") or {}
    for part in path:
        node = (node.get("properties") or {}).get(part) or {}
    return node


def _typed(raw: str, node: dict[str, Any], key: str) -> Any:
    kind = node.get("type")
    try:
        if kind == "string":
            return raw
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.lower() not in (*TRUE, *FALSE):
                raise ValueError(raw)
            return raw.lower() in TRUE
        return yaml.safe_load(raw) if raw else ""
    except (ValueError, yaml.YAMLError):
        raise ValidationError({f"parameters.{key}": f"{raw!r} is not a valid {kind or 'value'}."}) from None


def apply_set(parameters: dict[str, Any], assignment: str, schema: dict[str, Any]) -> None:
    """Apply one `key.path=value` to `parameters`, creating the objects on the way."""
    key, equals, raw = assignment.partition("=")
    path = [part for part in key.strip().split(".") if part]
    if not equals or not path:
        raise ValidationError({"set": f"{assignment!r} is not KEY=VALUE, e.g. --set storageGB=50."})
    target = parameters
    for part in path[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValidationError({f"parameters.{key}": f"{part!r} is not an object, so it has no fields to set."})
        target = child
    target[path[-1]] = _typed(raw, _node(schema, path), key)


def load_values(text: str, source: str) -> dict[str, Any]:
    """A values document: the parameters mapping itself, or a whole composite whose `spec` is taken."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError({"file": f"{source} is not valid YAML: {exc}"}) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValidationError({"file": f"{source} must hold a mapping of parameters, e.g. `size: medium`."})
    if "apiVersion" in loaded and "kind" in loaded:
        spec = loaded.get("spec") or {}
        return dict(spec) if isinstance(spec, dict) else {}
    return loaded
