"""`validate_package`: every check of the platform package, in the order later checks depend on.

1. Load every YAML document below the package root.
2. XRDs: Crossplane v2's rules, and the composite CRD each one implies joins the registry.
3. Every document against its CRD (upstream ones from `--crds`, composite ones from step 2) or, for Kubernetes
   kinds, kubernetes-validate; composites (the examples) come out admitted, defaults applied.
4. Functions, Providers and the Configuration's dependsOn.
5. Compositions: their XRD, functions, providers and everything they render.
6. Per XRD: its default composition exists and it has at least one example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from control_plane.kubeapi.xrds import composite_crd
from control_plane.platform_package.compositions import (
    Package,
    composite_key,
    composition_problems,
    composition_target,
    is_composition,
)
from control_plane.platform_package.crds import Crd, CrdRegistry
from control_plane.platform_package.dependencies import Dependencies
from control_plane.platform_package.documents import Document, Problem, load_documents
from control_plane.platform_package.rendered import object_problems
from control_plane.platform_package.xrds import REWORDED_UPSTREAM, is_xrd, xrd_problems


@dataclass(frozen=True)
class Report:
    """The problems found, and how much was checked (for the summary line)."""

    problems: list[Problem]
    documents: int
    files: int
    crds: int


def validate_package(root: Path, crds: Path) -> Report:
    """Check the package below `root` against the CRDs below `crds`; raises CrdDirectoryError if `crds` is unusable."""
    registry = CrdRegistry.from_directory(crds)
    upstream = len(registry.crds)
    documents, problems = load_documents(root)
    xrds = [document for document in documents if is_xrd(document)]
    for xrd in xrds:
        problems += [xrd.problem(message) for message in xrd_problems(xrd)]
        registry.add(Crd.from_definition(composite_crd(xrd.obj), xrd.path))
    package = Package(registry=registry, dependencies=Dependencies(documents))
    for xrd in xrds:
        package.xrds.setdefault(composite_key(xrd), xrd)
    for document in documents:
        problems += [document.problem(message) for message in _document_problems(document, package)]
    package.environment_configs = [d for d in documents if d.kind == "EnvironmentConfig"]
    problems += package.dependencies.problems + package.dependencies.dependency_problems()
    compositions = [document for document in documents if is_composition(document)]
    for composition in compositions:
        problems += [composition.problem(message) for message in composition_problems(composition, package)]
    for (group, kind), xrd in package.xrds.items():
        problems += [xrd.problem(message) for message in _coverage_problems(xrd, group, kind, compositions, package)]
    files = len({document.path for document in documents} | {p.path for p in problems if p.path != "-"})
    return Report(sorted(problems, key=lambda p: (p.path, p.document)), len(documents), files, upstream)


def _document_problems(document: Document, package: Package) -> list[str]:
    """The document against its schema; composites (examples) are also recorded, admitted, for rendering."""
    key = (document.group, document.kind)
    if key in package.xrds:
        checked = package.registry.check(document.obj)
        if checked is not None and checked.admitted is not None:
            package.examples.setdefault(key, []).append((document, checked.admitted))
        return checked.problems if checked else []
    problems = object_problems(document.obj, package.registry)
    if is_xrd(document):
        problems = [p for p in problems if not p.endswith(REWORDED_UPSTREAM)]
    return problems


def _coverage_problems(
    xrd: Document, group: str, kind: str, compositions: list[Document], package: Package
) -> list[str]:
    problems = []
    default = ((xrd.obj.get("spec") or {}).get("defaultCompositionRef") or {}).get("name")
    targets = {c.name for c in compositions if composition_target(c) == (group, kind)}
    if not targets:
        problems.append(f"no Composition in the package composes {kind}; add one to compositions/")
    elif default and default not in targets:
        problems.append(
            f"spec.defaultCompositionRef: no Composition named {default} composes {kind} "
            f"(compositions for it: {', '.join(sorted(targets))})"
        )
    if not package.examples.get((group, kind)):
        problems.append(
            f"no valid example {kind} in the package; add one to examples/ (it documents the API, and "
            "go-templating compositions are checked by rendering it)"
        )
    return problems
