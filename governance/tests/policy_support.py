"""Helpers for policy tests: composites shaped as devplat renders them, and the shipped default policies."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from governance.models import Policy

API_VERSION = "platform.devplat.io/v1alpha1"
PLURALS = {"Database": "databases", "Bucket": "buckets", "App": "apps", "Cache": "caches"}


def composite(
    kind: str, spec: dict[str, Any], *, name: str = "demo", team: str = "payments", environment: str = "dev"
) -> dict[str, Any]:
    """A rendered composite: apiVersion, kind, labelled metadata in the team's namespace, and `spec`."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": f"{team}-{environment}",
            "labels": {"devplat.io/team": team, "devplat.io/environment": environment, "devplat.io/request": "42"},
        },
        "spec": spec,
    }


def request_for(obj: dict[str, Any], *, actor: str = "alice") -> dict[str, str]:
    """The keyword arguments of policy_evaluate_admission for `obj`, read from its kind and labels."""
    labels = obj["metadata"]["labels"]
    return {
        "capability": f"{PLURALS[obj['kind']]}.platform.devplat.io",
        "kind": obj["kind"],
        "team": labels["devplat.io/team"],
        "environment": labels["devplat.io/environment"],
        "actor": actor,
    }


def install_default_policies() -> None:
    """Run the data migration's function, as `migrate` does (a transactional test may have flushed its rows)."""
    importlib.import_module("governance.migrations.0004_default_policies").create(apps, None)


def only_default_policies() -> list[str]:
    """Drop every policy, then install the defaults: the names, in evaluation order."""
    Policy.objects.all().delete()
    install_default_policies()
    return list(Policy.objects.order_by("name").values_list("name", flat=True))
