"""The package's dependencies: the Functions and Providers it installs, and the Configuration's `dependsOn`.

Crossplane installs a Configuration's dependencies from `dependsOn`, not from loose Function and Provider manifests,
so every Function and Provider the package declares must be listed there, at a version that admits the pinned one.
Package references must be fully qualified (Crossplane v2 has no default registry) and pinned to a tag or digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from control_plane.platform_package.documents import Document, Problem

PKG_GROUP = "pkg.crossplane.io"
META_GROUP = "meta.pkg.crossplane.io"
_PACKAGE_KINDS = ("Function", "Provider")
_REFERENCE = re.compile(r"^(?P<source>[^@:]+(?::\d+)?(?:/[^@:]+)*)(?::(?P<tag>[\w][\w.-]*))?(?:@(?P<digest>.+))?$")


@dataclass(frozen=True)
class PackageRef:
    """An OCI package reference split into source (registry/org/name) and its tag or digest."""

    source: str
    tag: str
    digest: str

    @classmethod
    def parse(cls, reference: str) -> PackageRef | None:
        match = _REFERENCE.match(reference.strip())
        if match is None:
            return None
        return cls(match["source"], match["tag"] or "", match["digest"] or "")

    @property
    def repository(self) -> str:
        """The last path segment, e.g. provider-aws-rds: how a provider is recognised whatever the registry."""
        return self.source.rsplit("/", 1)[-1]

    def problems(self) -> list[str]:
        problems = []
        if "." not in self.source.split("/", 1)[0] or "/" not in self.source:
            problems.append(
                f"package {self.source} is not fully qualified; start it with the registry host "
                "(e.g. xpkg.crossplane.io/crossplane-contrib/...), Crossplane v2 has no default registry"
            )
        if not self.digest and self.tag in ("", "latest"):
            problems.append(
                f"package {self.source} is not pinned; give it a version tag (:v1.2.3) or a digest (@sha256:...)"
            )
        return problems


@dataclass(frozen=True)
class Dependency:
    """One `dependsOn` entry of the Configuration."""

    kind: str  # Function, Provider or Configuration
    package: str
    version: str


@dataclass(frozen=True)
class Installed:
    """A Function or Provider manifest of the package."""

    document: Document
    reference: PackageRef | None


class Dependencies:
    """What the package installs and what its Configuration declares, with the checks that tie them together."""

    def __init__(self, documents: list[Document]) -> None:
        self.installed: dict[tuple[str, str], Installed] = {}  # (kind, metadata.name)
        self.configurations = [d for d in documents if d.group == META_GROUP and d.kind == "Configuration"]
        self.problems: list[Problem] = []
        for document in documents:
            if document.group == PKG_GROUP and document.kind in _PACKAGE_KINDS:
                self._add_installed(document)
        self.depends_on = self._depends_on()

    def function(self, name: str) -> Installed | None:
        return self.installed.get(("Function", name))

    def providers_named(self, repository: str) -> list[Installed]:
        """The package's Providers whose package repository is `repository` (e.g. provider-aws-rds)."""
        return [
            item
            for (kind, _), item in self.installed.items()
            if kind == "Provider" and item.reference and item.reference.repository == repository
        ]

    def _add_installed(self, document: Document) -> None:
        package = str((document.obj.get("spec") or {}).get("package") or "")
        reference = PackageRef.parse(package) if package else None
        if reference is None:
            self.problems.append(
                document.problem("spec.package: give the package reference, e.g. registry/org/name:v1")
            )
        else:
            self.problems += [document.problem(f"spec.package: {message}") for message in reference.problems()]
        self.installed[(document.kind, document.name)] = Installed(document, reference)

    def _depends_on(self) -> list[Dependency]:
        if len(self.configurations) != 1:
            found = ", ".join(f"{d.path}:{d.index}" for d in self.configurations) or "none"
            self.problems.append(
                Problem(
                    "-",
                    0,
                    "Configuration",
                    "-",
                    f"the package needs exactly one {META_GROUP}/v1 Configuration (configurations/crossplane.yaml) "
                    f"listing its dependencies; found {found}",
                )
            )
        if not self.configurations:
            return []
        configuration = self.configurations[0]
        if configuration.api_version != f"{META_GROUP}/v1":
            self.problems.append(configuration.problem(f"apiVersion: write package metadata as {META_GROUP}/v1"))
        entries = (configuration.obj.get("spec") or {}).get("dependsOn") or []
        dependencies = []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            dependency = _dependency(entry if isinstance(entry, dict) else {})
            if dependency is None:
                self.problems.append(
                    configuration.problem(
                        f"spec.dependsOn[{index}]: name the package as apiVersion/kind/package (or provider:/function:)"
                        " with a version"
                    )
                )
                continue
            dependencies.append(dependency)
        return dependencies

    def dependency_problems(self) -> list[Problem]:
        """Each Function and Provider must be in dependsOn, at a version constraint its pinned tag satisfies."""
        problems: list[Problem] = []
        if not self.configurations:
            return problems
        for (kind, _), item in sorted(self.installed.items()):
            if item.reference is None:
                continue
            listed = [d for d in self.depends_on if d.kind == kind and d.package == item.reference.source]
            pinned = item.reference.tag or item.reference.digest
            if not listed:
                problems.append(
                    item.document.problem(
                        f"{kind.lower()} {item.reference.source} is not in the Configuration's dependsOn, so "
                        f"installing the Configuration would not install it; add "
                        f"{{apiVersion: {PKG_GROUP}/v1, kind: {kind}, package: {item.reference.source}, "
                        f'version: "{pinned}"}}'
                    )
                )
                continue
            if not item.reference.tag:
                continue
            for dependency in listed:
                if (message := _version_problem(item.reference.tag, dependency.version)) is not None:
                    problems.append(item.document.problem(f"{item.reference.source}: {message}"))
        return problems


def _dependency(entry: dict[str, object]) -> Dependency | None:
    version = str(entry.get("version") or "")
    if entry.get("package") and entry.get("kind"):
        return Dependency(str(entry["kind"]), str(entry["package"]), version)
    for key, kind in (("provider", "Provider"), ("function", "Function"), ("configuration", "Configuration")):
        if entry.get(key):
            return Dependency(kind, str(entry[key]), version)
    return None


_CONSTRAINT = re.compile(r"^(?P<op>>=|<=|!=|==|=|>|<)?\s*(?P<version>v?\d[\w.+-]*)$")
_COMPARE = {
    "": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _version_problem(tag: str, constraint: str) -> str | None:
    """Why pinned `tag` does not satisfy the dependsOn `constraint` (exact versions and comparisons, ANDed)."""
    if not constraint:
        return "its dependsOn entry has no version; give the pinned version"
    try:
        pinned = Version(tag.removeprefix("v"))
    except InvalidVersion:
        return f"tag {tag} is not a semantic version; dependsOn needs one to compare"
    for part in re.split(r"[,\s]+(?=[<>=!v\d])", constraint.strip()):
        match = _CONSTRAINT.match(part.strip())
        if match is None:
            return (
                f"cannot read the dependsOn version {constraint!r}; `devplat crossplane validate` understands exact "
                "versions and comparisons such as >=v1.2.0, <v2.0.0"
            )
        try:
            bound = Version(match["version"].removeprefix("v"))
        except InvalidVersion:
            return f"the dependsOn version {constraint!r} is not a semantic version"
        if not _COMPARE[match["op"] or ""](pinned, bound):
            return f"pinned at {tag}, but the Configuration's dependsOn asks for {constraint!r}; make them agree"
    return None
