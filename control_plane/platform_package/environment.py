"""The environment function-environment-configs would build for a composite, from the package's EnvironmentConfigs.

Rendering a go-templating step needs the `apiextensions.crossplane.io/environment` context the earlier
environment step puts in place. This follows the function's Input (environmentconfigs.fn.crossplane.io/v1beta1):
`defaultData`, then each `environmentConfigs` entry in order, by `ref.name` or by a label `selector` whose values
are literals or come from the composite (`FromCompositeFieldPath`), merged key by key, later entries winning.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from control_plane.platform_package.documents import Document

ENVIRONMENT_CONTEXT_KEY = "apiextensions.crossplane.io/environment"
_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def field_value(obj: Any, path: str) -> Any:
    """The value at a Crossplane field path (`metadata.labels[devplat.io/env]`, `spec.items[0].name`), or None."""
    for match in _SEGMENT.finditer(path):
        name, bracket = match.groups()
        key: Any = name if name is not None else bracket
        if isinstance(obj, list) and isinstance(key, str) and key.isdigit():
            index = int(key)
            obj = obj[index] if index < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(key)
        else:
            return None
    return obj


def missing_field(schema: dict[str, Any], path: str) -> str:
    """The first part of `path` a structural schema does not define ("" when all of it is defined).

    Root metadata is the API server's (any field), as are fields under x-kubernetes-preserve-unknown-fields.
    """
    node: dict[str, Any] | None = schema
    walked = ""
    for number, match in enumerate(_SEGMENT.finditer(path)):
        name, bracket = match.groups()
        key = name if name is not None else bracket
        if node is None or node.get("x-kubernetes-preserve-unknown-fields") or (number == 0 and key == "metadata"):
            return ""
        if bracket is not None and bracket.isdigit() and "items" in node:
            node, walked = node["items"], f"{walked}[{bracket}]"
            continue
        properties = node.get("properties") or {}
        additional = node.get("additionalProperties")
        if key in properties:
            node = properties[key]
        elif additional is True or isinstance(additional, dict):
            node = additional if isinstance(additional, dict) else None
        else:
            known = ", ".join(sorted(properties)) or "none"
            return f"field {key} under {walked or 'the root'} (it has: {known})"
        walked = f"{walked}.{key}" if walked else key
    return ""


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


class EnvironmentUnresolved(Exception):
    """The environment step would fail for this composite; the message says why."""


def environment_for(step_input: dict[str, Any], composite: dict[str, Any], configs: list[Document]) -> dict[str, Any]:
    """The merged environment data for `composite`; raises EnvironmentUnresolved where the function would fail."""
    spec = step_input.get("spec") or {}
    optional = (spec.get("policy") or {}).get("resolution") == "Optional"
    environment: dict[str, Any] = copy.deepcopy(spec.get("defaultData") or {})
    for index, source in enumerate(spec.get("environmentConfigs") or []):
        try:
            for config in _selected(source, composite, configs):
                _merge(environment, config.obj.get("data") or {})
        except EnvironmentUnresolved as error:
            if not optional:
                raise EnvironmentUnresolved(f"environmentConfigs[{index}]: {error}") from None
    return environment


def _selected(source: dict[str, Any], composite: dict[str, Any], configs: list[Document]) -> list[Document]:
    if (source.get("type") or "Reference") == "Reference":
        name = (source.get("ref") or {}).get("name")
        found = [config for config in configs if config.name == name]
        if not found:
            raise EnvironmentUnresolved(f"no EnvironmentConfig named {name!r} in the package")
        return found
    selector = source.get("selector") or {}
    labels: dict[str, str] = {}
    for matcher in selector.get("matchLabels") or []:
        if (matcher.get("type") or "FromCompositeFieldPath") == "Value":
            labels[matcher["key"]] = str(matcher.get("value"))
            continue
        path = str(matcher.get("valueFromFieldPath") or "")
        value = field_value(composite, path)
        if value is None:
            if matcher.get("fromFieldPathPolicy") == "Optional":
                continue
            raise EnvironmentUnresolved(f"the composite has no {path}, which selects its EnvironmentConfig; set it")
        labels[matcher["key"]] = str(value)
    sort_path = selector.get("sortByFieldPath") or "metadata.name"
    matching = sorted(
        (c for c in configs if labels.items() <= ((c.obj.get("metadata") or {}).get("labels") or {}).items()),
        key=lambda c: str(field_value(c.obj, sort_path)),
    )
    wanted = ", ".join(f"{key}={value}" for key, value in labels.items())
    if (selector.get("mode") or "Single") == "Single":
        if not matching:
            raise EnvironmentUnresolved(f"no EnvironmentConfig in the package has the labels {wanted}")
        return matching[:1]
    if len(matching) < int(selector.get("minMatch") or 0):
        raise EnvironmentUnresolved(f"fewer than minMatch EnvironmentConfigs have the labels {wanted}")
    maximum = selector.get("maxMatch")
    return matching[: int(maximum)] if maximum is not None else matching
