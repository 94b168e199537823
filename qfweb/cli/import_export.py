"""`qf import FILE` and `qf export`: the configuration as a file, in and out."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import OutputWrapper

from personas.configio import EXPORT_FORMATS, FORMATS, export_text, import_file
from qfweb.errors import QfError

import_help = (
    "Import a configuration file: a qfweb export, per-role YAML, a model registry JSON, "
    "multi-model YAML or a persona JSONC file (detected from the content). All or nothing."
)
export_help = (
    "Write the whole configuration as a qfweb document (credentials as ${ENV} references only)."
)


def add_import_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("file", help="the file to import")
    parser.add_argument(
        "--dry-run", action="store_true", help="check and report what would change; write nothing"
    )
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        dest="format",
        help="the file's format, when detection guesses wrong: "
        + "; ".join(f"{k} = {v}" for k, v in FORMATS.items()),
    )
    parser.add_argument(
        "--allow-unset-env",
        action="store_true",
        help="accept ${VAR} credential references to variables not set yet (keys to be set later)",
    )


def run_import(options: dict[str, Any], out: OutputWrapper) -> None:
    report = import_file(
        options["file"],
        fmt=options["format"],
        dry_run=options["dry_run"],
        allow_unset_env=options["allow_unset_env"],
        # The operator at the command line may point providers at local servers (Ollama).
        trust_private_urls=True,
        actor=f"import {Path(options['file']).name}"[:150],
    )
    out.write(report.render())


def add_export_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="yaml", dest="format")
    parser.add_argument("--output", "-o", help="write to this file instead of the standard output")


def run_export(options: dict[str, Any], out: OutputWrapper) -> None:
    text = export_text(fmt=options["format"])
    if not options["output"]:
        out.write(text, ending="")
        return
    try:
        Path(options["output"]).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise QfError(f"{options['output']}: cannot write: {exc.strerror}") from None
    out.write(f"Exported the configuration to {options['output']}")
