"""The package's YAML documents, and the problems found in them.

Every check reports a `Problem` against the document it found it in, so the output points at a file and the
document's position in it (1 for the first document; 0 for the file or the package as a whole).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where it is (`path`, `document`), what it is about (`kind`/`name`) and the fix."""

    path: str
    document: int
    kind: str
    name: str
    message: str

    def __post_init__(self) -> None:
        # One line per problem: multi-line upstream messages (CEL compile errors with a caret) are joined.
        object.__setattr__(self, "message", " | ".join(line.rstrip() for line in self.message.splitlines()))

    def line(self) -> str:
        return f"{self.path}:{self.document}: {self.kind}/{self.name}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "document": self.document,
            "kind": self.kind,
            "name": self.name,
            "message": self.message,
        }


@dataclass(frozen=True)
class Document:
    """One YAML document of a package file: the parsed object and where it came from."""

    path: str  # as shown to the user
    index: int  # 1-based position in its file
    obj: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def group(self) -> str:
        return group_of(self.api_version)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        metadata = self.obj.get("metadata")
        return str(metadata.get("name") or "") if isinstance(metadata, dict) else ""

    @property
    def label(self) -> str:
        """`<namespace>/<name>` for namespaced objects, else the name: how the user names it."""
        metadata = self.obj.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return f"{namespace}/{self.name}" if namespace else self.name

    def problem(self, message: str) -> Problem:
        return Problem(self.path, self.index, self.kind or "-", self.name or "-", message)


def group_of(api_version: str) -> str:
    """The API group of an apiVersion (`apps/v1` -> apps, `v1` -> the core group "")."""
    return api_version.rpartition("/")[0]


def version_of(api_version: str) -> str:
    return api_version.rpartition("/")[2]


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys: the API server rejects them, PyYAML would keep the last one."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}; a key may appear once per mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class YamlProblem(ValueError):
    """A text that is not valid YAML; the message says where."""


def parse_documents(text: str) -> Iterator[tuple[int, Any]]:
    """(1-based index, value) for each YAML document in `text`, empty documents included as None."""
    try:
        yield from enumerate(yaml.load_all(text, Loader=_StrictLoader), start=1)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise YamlProblem(f"not valid YAML: {where}{reason}") from None


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is below it, so output lines can be pasted into editors."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def load_documents(root: Path) -> tuple[list[Document], list[Problem]]:
    """Every object in the `*.yaml`/`*.yml` files below `root`, in path order; unreadable documents are problems."""
    documents: list[Document] = []
    problems: list[Problem] = []
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for file in files:
        shown = display_path(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(shown, 0, "-", "-", f"cannot read the file: {error}"))
            continue
        try:
            for index, value in parse_documents(text):
                if value is None:
                    continue
                if not isinstance(value, dict) or not value.get("apiVersion") or not value.get("kind"):
                    problems.append(
                        Problem(shown, index, "-", "-", "not a Kubernetes object: it needs apiVersion and kind")
                    )
                    continue
                documents.append(Document(shown, index, value))
        except YamlProblem as error:
            problems.append(Problem(shown, 0, "-", "-", str(error)))
    return documents, problems
