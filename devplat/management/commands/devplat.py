"""`manage.py devplat <noun> <verb>`: the developer and operator CLI.

Dispatches to the nouns each app registers. Every verb accepts `-o table|json|yaml` and `--as USER` (or
`DEVPLAT_USER`). Errors are one line on stderr that says what to do, with exit code 1 (2 for usage errors); only
success exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from devplat.core.actor import Face, acting, actor_for
from devplat.core.cli.registry import CliError, Invocation, nouns
from devplat.core.cli.render import render
from devplat.core.errors import Conflict, Forbidden, NotFound, Unavailable

AS_HELP = "Act as this user (default: $DEVPLAT_USER)."


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """A usage error is one line like every other error (no usage dump), pointing at the help; exit code 2."""
    parser.exit(2, f"error: {message}; see `{parser.prog} --help`.\n")


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _usage_error(self, message)


class Command(BaseCommand):
    help = "devplat's command line: `devplat <noun> <verb> [options]`. Try `devplat teams --help`."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.error = lambda message: _usage_error(parser, message)  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        common = _ArgumentParser(add_help=False)
        common.add_argument("--as", dest="acting_as", metavar="USER", help=AS_HELP)
        noun_parsers = parser.add_subparsers(dest="noun", metavar="<noun>", required=True, parser_class=_ArgumentParser)
        for noun in nouns():
            noun_parser = noun_parsers.add_parser(noun.name, help=noun.help, description=noun.help)
            if noun.direct:
                ((spec, handler),) = noun.verbs()
                self._add_verb_arguments(noun_parser, spec, handler)
                noun_parser.add_argument("--as", dest="acting_as", metavar="USER", help=AS_HELP)
                continue
            verb_parsers = noun_parser.add_subparsers(dest="verb", metavar="<verb>", required=not noun.default_verb)
            for spec, handler in noun.verbs():
                verb_parser = verb_parsers.add_parser(
                    spec.name, help=spec.help, description=spec.help, parents=[common]
                )
                self._add_verb_arguments(verb_parser, spec, handler)
                if spec.name == noun.default_verb:
                    self._add_verb_arguments(noun_parser, spec, handler)
                    noun_parser.add_argument("--as", dest="acting_as", metavar="USER", help=argparse.SUPPRESS)

    @staticmethod
    def _add_verb_arguments(parser: argparse.ArgumentParser, spec: Any, handler: Any) -> None:
        parser.add_argument("-o", "--output", choices=spec.formats, default=spec.formats[0], help="Output format.")
        for argument in spec.args:
            parser.add_argument(*argument.flags, **argument.options)
        parser.set_defaults(handler=handler, spec=spec)

    def handle(self, *args: Any, **options: Any) -> None:
        spec, handler = options["spec"], options["handler"]
        namespace = argparse.Namespace(**options)
        try:
            user = self._acting_user(options.get("acting_as")) if spec.needs_user else None
            with acting(actor_for(user, face=Face.CLI)):
                result = handler(
                    Invocation(args=namespace, user=user, output=options["output"], progress=self._progress)
                )
        except CliError as exc:
            self._fail(str(exc), exc.exit_code)
        except (NotFound, Forbidden, Conflict, Unavailable) as exc:
            self._fail(str(exc), 1)
        except ValidationError as exc:
            self._fail(_validation_message(exc), 1)
        except DatabaseError as exc:
            self._fail(f"the database refused the request: {str(exc).strip().splitlines()[0]}", 1)
        render(result, options["output"], self.stdout)
        if result.exit_code:
            sys.exit(result.exit_code)

    def _progress(self, message: str) -> None:
        self.stderr.write(message)

    def _fail(self, message: str, code: int) -> None:
        self.stderr.write(f"error: {message}")
        sys.exit(code)

    def _acting_user(self, name: str | None) -> User:
        name = name or os.environ.get("DEVPLAT_USER", "")
        if not name:
            raise CliError("say who is acting: pass --as USERNAME or set DEVPLAT_USER.")
        user = User.objects.filter(username=name).first()
        if user is None:
            raise CliError(f"no user named {name!r}; check --as/DEVPLAT_USER, or create the user in the admin.")
        if not user.is_active:
            raise CliError(f"user {name!r} is inactive; a platform admin can reactivate them in the admin.")
        return user
