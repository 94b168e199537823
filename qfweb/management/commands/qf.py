"""`python manage.py qf <command> ...`: the operator's command line.

Each sub-command NAME lives in a module that defines `add_NAME_arguments(parser)`, `NAME_help` and
`run_NAME(options, out) -> None`; it parses, calls a service, and prints. Errors of the domain
(QfError) end the command with their message and exit status 1, never a traceback.
"""
from __future__ import annotations

import importlib
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qfweb.errors import QfError

SUBCOMMANDS = {
    "import": "qfweb.cli.import_export",
    "export": "qfweb.cli.import_export",
    "demo": "qfweb.cli.demo",
    "model": "qfweb.cli.model",
    "generate": "qfweb.cli.generate",
    "key": "qfweb.cli.key",
    "health": "qfweb.cli.health",
    "report": "qfweb.cli.report",
}


class Command(BaseCommand):
    help = "qfweb operator commands: " + ", ".join(SUBCOMMANDS)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=_subparser_class(parser))
        for name, path in SUBCOMMANDS.items():
            module = importlib.import_module(path)
            sub_parser = sub.add_parser(name, help=getattr(module, f"{name}_help", module.__doc__))
            getattr(module, f"add_{name}_arguments")(sub_parser)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["subcommand"]
        module = importlib.import_module(SUBCOMMANDS[name])
        try:
            getattr(module, f"run_{name}")(options, self.stdout)
        except QfError as exc:
            raise CommandError(str(exc)) from None


def _subparser_class(parent: CommandParser) -> type[ArgumentParser]:
    """Sub-parsers that report errors the way Django's own parser does."""

    class SubParser(CommandParser):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("called_from_command_line", parent.called_from_command_line)
            super().__init__(**kwargs)

    return SubParser
