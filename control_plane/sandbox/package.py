"""The platform package (`crossplane/` at the repository root) as a cluster holds it once Crossplane installed it.

Installing the package's Configuration leaves its XRDs and Compositions in the cluster, its dependencies as Provider
and Function packages, and the platform team applies its EnvironmentConfigs. The sandbox reads the same YAML files,
so the demo seed serves exactly the package's APIs (the XRD controller, `xrds`, derives the composite CRDs). Package
metadata (`meta.pkg.crossplane.io`) is not a cluster object and `examples/` are what users create, so both stay out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "crossplane"
INSTALLED_DIRS = ("providers", "functions", "xrds", "compositions", "configurations")
METADATA_GROUP = "meta.pkg.crossplane.io"


def _documents(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        raise FileNotFoundError(f"the platform package has no {directory}: the sandbox seeds from it; restore it")
    return [
        document
        for path in sorted(directory.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if isinstance(document, dict) and not str(document.get("apiVersion", "")).startswith(f"{METADATA_GROUP}/")
    ]


def platform_xrds() -> list[dict[str, Any]]:
    """The package's CompositeResourceDefinitions."""
    return _documents(PACKAGE_DIR / "xrds")


def package_objects() -> list[dict[str, Any]]:
    """Every object the installed package puts in a cluster, in an order that loads: packages, XRDs (which define
    the composite kinds), Compositions, EnvironmentConfigs."""
    return [document for directory in INSTALLED_DIRS for document in _documents(PACKAGE_DIR / directory)]
