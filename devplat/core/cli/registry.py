"""Nouns and verbs of the `devplat` command.

A noun is a class whose methods marked with `@verb(...)` become its subcommands. Handlers take an `Invocation`
(parsed arguments, acting user, output format) and return an `Output`; they raise `CliError`, `NotFound`,
`Forbidden` or a Django `ValidationError` for anything the user must fix.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User


class CliError(Exception):
    """A failure the user can act on: the message says what to do. Exit code 1 unless given."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Arg:
    """One argparse argument: `Arg("--scope", choices=[...], help="...")`."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass
class Output:
    """What a verb returns: rows for table/json/yaml, or a message for people; `data` overrides rows in json/yaml."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: Sequence[str] = ()
    message: str = ""
    data: Any = None
    exit_code: int = 0


@dataclass
class Invocation:
    args: argparse.Namespace
    user: User | None
    output: str
    progress: Callable[[str], None]


VerbHandler = Callable[[Any, Invocation], Output]


@dataclass(frozen=True)
class VerbSpec:
    name: str
    help: str
    args: tuple[Arg, ...]
    needs_user: bool
    formats: tuple[str, ...]


def verb(
    name: str,
    help: str,
    *args: Arg,
    needs_user: bool = True,
    formats: tuple[str, ...] = ("table", "json", "yaml"),
) -> Callable[[VerbHandler], VerbHandler]:
    """Mark a noun method as a verb. `needs_user=False` for operator commands that act as no one (doctor)."""

    def mark(func: VerbHandler) -> VerbHandler:
        func.verb_spec = VerbSpec(name, help, args, needs_user, formats)  # type: ignore[attr-defined]
        return func

    return mark


class Noun:
    name: str = ""
    help: str = ""
    default_verb: str = ""  # run when the noun is given alone, e.g. `devplat doctor`
    # The noun is itself the action, kubectl-style (`devplat create Database orders-db`): its one verb's arguments
    # follow the noun directly, with no verb word.
    direct: bool = False

    def verbs(self) -> list[tuple[VerbSpec, Callable[[Invocation], Output]]]:
        found = []
        for attr in dir(type(self)):
            spec = getattr(getattr(type(self), attr), "verb_spec", None)
            if spec is not None:
                found.append((spec, getattr(self, attr)))
        return sorted(found, key=lambda pair: pair[0].name)


_NOUNS: dict[str, Noun] = {}


def register(noun: Noun) -> None:
    if noun.name in _NOUNS and type(_NOUNS[noun.name]) is not type(noun):
        raise RuntimeError(f"two apps register the devplat noun {noun.name!r}")
    _NOUNS[noun.name] = noun


def nouns() -> list[Noun]:
    return [_NOUNS[name] for name in sorted(_NOUNS)]
