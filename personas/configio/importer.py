"""Importing one configuration file: parse, read into a Plan, apply, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction

from personas.configio.apply import Applier
from personas.configio.multimodel import read_multimodel
from personas.configio.native import read_native
from personas.configio.parse import FORMATS, ParseError, detect_format, parse_text
from personas.configio.persona_file import read_persona_file
from personas.configio.plan import Plan
from personas.configio.registry import read_registry
from personas.configio.report import ImportFailed, Report
from personas.configio.roles import read_roles
from qfweb.errors import QfError

READERS: dict[str, Callable[[dict[str, Any]], Plan]] = {
    "qfweb": read_native,
    "roles": read_roles,
    "registry": read_registry,
    "multimodel": read_multimodel,
    "persona": read_persona_file,
}


class _Rollback(Exception):
    pass


def import_text(
    text: str,
    *,
    source: str,
    fmt: str | None = None,
    dry_run: bool = False,
    allow_unset_env: bool = False,
    trust_private_urls: bool = False,
    actor: str = "",
) -> Report:
    """Import `text` (named `source` in messages) in one transaction.

    Every entry is checked and every error collected; if there is any, nothing is written
    and ImportFailed lists them all. A dry run reports what would change and writes nothing.
    `trust_private_urls` lets base URLs on loopback/private hosts in (the operator's CLI).
    """
    report = Report(source=source, dry_run=dry_run)
    plan = _read(text, fmt, report)
    applier = Applier(
        report, actor=actor, allow_unset_env=allow_unset_env, trust_private_urls=trust_private_urls
    )
    try:
        with transaction.atomic():
            applier.apply(plan)  # even after reading errors, to report the rest too
            if report.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if report.errors:
        raise ImportFailed(report)
    return report


def _read(text: str, fmt: str | None, report: Report) -> Plan:
    """The file's Plan, with its reading errors and notices in `report`; a file that cannot
    be parsed at all fails here."""
    try:
        doc = parse_text(text)
        if doc is None:
            raise ParseError("the file is empty")
        fmt = fmt or detect_format(doc)
        if fmt not in READERS:
            raise ParseError(f"unknown format {fmt!r}; expected one of: {', '.join(READERS)}")
        if not isinstance(doc, dict):
            raise ParseError("the top level must be an object (a mapping)")
    except ParseError as exc:
        report.errors.append(f"{report.source}: {exc.message}")
        raise ImportFailed(report) from None
    report.format = FORMATS[fmt]
    plan = READERS[fmt](doc)
    for issue in plan.errors:
        report.error(issue.at, issue.message)
    for notice in plan.notices:
        report.notice(notice)
    return plan


def import_file(path: Path | str, **options: Any) -> Report:
    """import_text() on a file's contents; the file is named as given in every message."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QfError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise QfError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise QfError(f"{path}: cannot read: {exc.strerror}") from None
    return import_text(text, source=str(path), **options)
