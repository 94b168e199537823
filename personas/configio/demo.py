"""The demo data (personas/demo.yaml), loaded through the same importer as any file."""

from __future__ import annotations

from pathlib import Path

from personas.configio.importer import import_text
from personas.configio.report import Report

DEMO_PATH = Path(__file__).resolve().parent.parent / "demo.yaml"


def demo_load(*, dry_run: bool = False) -> Report:
    """Load (or bring back) the demo configuration; running it twice changes nothing.

    Its credentials are ${ENV} references to keys a newcomer has not set yet, so unset
    variables are accepted here."""
    return import_text(
        DEMO_PATH.read_text(encoding="utf-8"),
        source="personas/demo.yaml",
        dry_run=dry_run,
        allow_unset_env=True,
        actor="demo",
    )
