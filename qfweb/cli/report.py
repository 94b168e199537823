"""`qf report --period day|week|month [--start YYYY-MM-DD]`: roll up the days a cost report
needs, build and store it, and print a summary (issue 6). Rolling up is
`routing.reports.rollup`, building `routing.reports.build`; this parses and prints."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import OutputWrapper

from qfweb.errors import QfError
from routing.models import ReportPeriod
from routing.reports.build import TOP, report_csv, report_for

report_help = "Roll up, build and store the cost report of a day, week or month; print a summary."
SHOWN = {"persona": "personas", "key": "keys", "model": "models"}  # top spenders printed


def add_report_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--period", required=True, choices=ReportPeriod.values)
    parser.add_argument(
        "--start", type=_day, metavar="YYYY-MM-DD",
        help="the period's first day (a Monday for a week, the 1st for a month); "
        "default: the last complete period",
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write the report's CSV here")
    parser.add_argument("--json", action="store_true", help="print the report's data as JSON")


def run_report(options: dict[str, Any], out: OutputWrapper) -> None:
    report = report_for(options["period"], options["start"])
    if options["csv"]:
        _write(options["csv"], report_csv(report))
    if options["json"]:
        out.write(json.dumps(report.data, indent=2))
        return
    _summary(out, report.data)
    out.write(f"Stored as report {report.pk}.")
    if options["csv"]:
        out.write(f"CSV written to {options['csv']}")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise QfError(f"cannot write {path}: {exc.strerror}", field="csv") from None


# ---- the summary ----------------------------------------------------------------------


def _summary(out: OutputWrapper, data: dict[str, Any]) -> None:
    totals, change = data["totals"], data["change"] or {}
    out.write(
        f"Cost report, {data['period']} {_span(data['start'], data['last'])} "
        f"(days in {data['time_zone']})"
    )
    requests = totals["requests"]
    out.write(
        f"Requests:  {requests:,}{_versus(change.get('requests'))}; "
        f"failures {totals['failures']:,} ({_share(totals['failures'], requests)}), "
        f"fallbacks {totals['fallbacks']:,} ({_share(totals['fallbacks'], requests)})"
    )
    out.write(f"Tokens:    {totals['tokens_in']:,} in, {totals['tokens_out']:,} out")
    out.write(f"Cost:      {totals['cost']} USD{_versus(change.get('cost'))}")
    out.write(
        f"Latency:   p50 {_ms(totals['latency_p50_ms'])}, p95 {_ms(totals['latency_p95_ms'])}; "
        f"time to first token p50 {_ms(totals['ttft_p50_ms'])}"
    )
    for dimension, title in SHOWN.items():
        groups = data["top"][dimension]
        if not groups:
            continue
        out.write(f"Top {title} by cost:")
        rows = [
            [g["name"] or "(none)", f"{g['requests']:,} requests", f"{g['cost']} USD",
             f"{g['cost_share']:.0%}"]
            for g in groups[:TOP]
        ]
        _table(out, rows)
    reasons = {"failure_reasons": "Failure reasons", "fallback_reasons": "Fallback reasons"}
    for key, title in reasons.items():
        if data[key]:
            out.write(f"{title}:")
            _table(out, [[r["reason"] or "(none)", f"{r['count']:,}"] for r in data[key]])


def _versus(change: dict[str, Any] | None) -> str:
    if not change or change["percent"] is None:
        return ""
    return f" ({change['percent']:+.1f}% on the previous period)"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value:,} ms"


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"


def _table(out: OutputWrapper, rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"must be a date YYYY-MM-DD, not {value!r}") from None
