"""CustomResourceDefinitions to validate documents against: the upstream ones in `--crds`, plus the composite CRDs
derived from the package's own XRDs.

A document is checked the way kube-apiserver would admit it (`control_plane.kubeapi.schema.admit`: the structural
schema, defaults, list types and the CEL rules), plus what `kubectl apply --validate=strict` adds: a field the
schema does not know is an error, not silently pruned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control_plane.kubeapi.errors import ApiError
from control_plane.kubeapi.schema import admit
from control_plane.platform_package.documents import YamlProblem, group_of, parse_documents, version_of


@dataclass
class Crd:
    """What validation needs of one CRD: its names, scope and the schema of each version."""

    group: str
    kind: str
    plural: str
    scope: str
    schemas: dict[str, dict[str, Any]]  # served versions only
    versions: list[str]  # every version, served or not
    source: str  # where it came from, for messages

    @classmethod
    def from_definition(cls, crd: dict[str, Any], source: str) -> Crd:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
        return cls(
            group=str(spec.get("group") or ""),
            kind=str(names.get("kind") or ""),
            plural=str(names.get("plural") or ""),
            scope=str(spec.get("scope") or ""),
            schemas={
                str(v.get("name")): (v.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
                for v in versions
                if v.get("served")
            },
            versions=[str(v.get("name")) for v in versions],
            source=source,
        )


@dataclass(frozen=True)
class Checked:
    """The outcome of checking an object against its CRD: problems, or the admitted object (defaults applied)."""

    problems: list[str]
    admitted: dict[str, Any] | None = None


class CrdDirectoryError(Exception):
    """The `--crds` directory cannot be used; the message says why and what to pass instead."""


@dataclass
class CrdRegistry:
    """CRDs by (group, kind). Later additions do not replace earlier ones: upstream CRDs win over look-alikes."""

    crds: dict[tuple[str, str], Crd] = field(default_factory=dict)

    @classmethod
    def from_directory(cls, directory: Path) -> CrdRegistry:
        """Every CustomResourceDefinition in the YAML files below `directory`."""
        if not directory.is_dir():
            raise CrdDirectoryError(f"--crds {directory}: not a directory of CustomResourceDefinitions")
        registry = cls()
        for file in sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
            try:
                documents = list(parse_documents(file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError, YamlProblem) as error:
                raise CrdDirectoryError(f"--crds: cannot read {file}: {error}") from None
            for _, crd in documents:
                if isinstance(crd, dict) and crd.get("kind") == "CustomResourceDefinition":
                    registry.add(Crd.from_definition(crd, str(file.relative_to(directory))))
        if not registry.crds:
            raise CrdDirectoryError(f"--crds {directory}: no CustomResourceDefinitions found in its YAML files")
        return registry

    def add(self, crd: Crd) -> None:
        self.crds.setdefault((crd.group, crd.kind), crd)

    def find(self, api_version: str, kind: str) -> Crd | None:
        return self.crds.get((group_of(api_version), kind))

    def check(self, obj: dict[str, Any], *, where: str = "") -> Checked | None:
        """What the CRD of `obj`'s kind finds wrong with it, and the object as admitted (defaults applied) when
        nothing is; None when no CRD defines the kind.

        `where` prefixes field paths, for objects embedded in another document ("spec.forProvider.manifest.").
        """
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        crd = self.find(api_version, kind)
        if crd is None:
            return None
        version = version_of(api_version)
        schema = crd.schemas.get(version)
        if schema is None:
            state = "is not served" if version in crd.versions else "does not exist"
            served = ", ".join(sorted(crd.schemas)) or "none"
            message = f"version {version} of {crd.plural}.{crd.group} {state}; use a served version ({served})"
            return Checked([f"{where}apiVersion: {message}"])
        name = str((obj.get("metadata") or {}).get("name") or "") if isinstance(obj.get("metadata"), dict) else ""
        try:
            admitted = admit(obj, schema, kind=kind, group=crd.group, name=name)
        except ApiError as error:
            causes = (error.details or {}).get("causes") or [{"field": "", "message": error.message}]
            return Checked([_cause_message(cause, where) for cause in causes])
        unknown = [
            f"{where}{path}: unknown field; {crd.plural}.{crd.group}/{version} does not define it "
            "(check the spelling and the nesting)"
            for path in admitted.unknown_fields
        ]
        return Checked(unknown, None if unknown else admitted.object)


def _cause_message(cause: dict[str, str], where: str) -> str:
    path = cause.get("field") or ""
    if path in ("", "<nil>"):
        return f"{where.rstrip('.') or 'object'}: {cause['message']}"
    return f"{where}{path}: {cause['message']}"
