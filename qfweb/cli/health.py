"""`qf health [PROVIDER ...]`: probe providers now, as the periodic check does, and print
what each showed. Exits 1 when one is not well, so scripts and monitors can use it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from qfweb.cli import table
from routing import health
from routing.models import Provider
from routing.selectors import provider_find

health_help = "Probe providers now (all enabled ones by default): state, latency, error."


def add_health_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("providers", nargs="*", metavar="PROVIDER", help="provider names (default: every enabled one)")


def run_health(options: dict[str, Any], out: OutputWrapper) -> None:
    names = [provider_find(name).name for name in options["providers"]] or list(
        Provider.objects.filter(is_enabled=True).values_list("name", flat=True)
    )
    if not names:
        out.write("No enabled provider to check.")
        return
    checks = health.check_many(names)
    rows = [["provider", "state", "latency", "error"]]
    rows += [
        [c.provider.name, c.state, "-" if c.latency_ms is None else f"{c.latency_ms} ms", c.error_text]
        for c in checks
    ]
    for line in table(rows):
        out.write(line)
    failing = [c.provider.name for c in checks if not c.is_ok]
    if failing:
        raise CommandError(f"not well: {', '.join(failing)}")
