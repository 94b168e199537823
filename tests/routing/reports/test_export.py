"""routing.reports.export: a report's CSV, safe to open in a spreadsheet (RELIABILITY.md,
CSV exports)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from routing.reports.build import report_build
from routing.reports.export import HEADER, safe_cell
from routing.reports.rollup import rollup_day
from tests.routing.reports.usage_rows import generations


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert safe_cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["", "ann", "openai:gpt-4o", "1", " =1", "x=1", "'quoted"])
def test_other_cells_are_left_alone(text):
    assert safe_cell(text) == text


@pytest.mark.django_db
def test_hostile_names_are_defused_in_a_reports_csv():
    """Model names and error codes reach the CSV: neither may become a formula."""
    noon = datetime(2025, 5, 14, 12, tzinfo=UTC)
    generations([
        {"at": noon, "status": "ok", "served_handle": "=2+5:m",
         "cost": Decimal("0.00000001")},
        {"at": noon, "status": "failed", "served_handle": "", "error_code": "@cmd",
         "attempts": ["-bad"]},
    ])
    rollup_day(date(2025, 5, 14))
    lines = list(csv.reader(io.StringIO(report_build("day", date(2025, 5, 14)).csv)))
    assert lines[0] == HEADER
    names = {(line[0], line[1]) for line in lines[1:]}
    assert ("model", "'=2+5:m") in names and ("provider", "'=2+5") in names
    assert ("failure_reason", "'@cmd") in names and ("fallback_reason", "'-bad") in names
    assert not any(cell.startswith(("=", "+", "@")) for line in lines for cell in line)
    total = dict(zip(HEADER, lines[1], strict=True))
    assert total["cost"] == "0.00000001"  # exact, never 1E-8
