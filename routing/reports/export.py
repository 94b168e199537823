"""The CSV of a cost report: the report's tables in one sheet, one row per line of a table
(STACK.md B4/B5: the table is the source of truth, and it is also the CSV).

Money is written as the exact decimal string, numbers as numbers, missing values as empty
cells. Text cells that a spreadsheet would run as a formula are defused (RELIABILITY.md,
CSV exports): names come from users, error codes from upstreams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = [
    "section", "name", "requests", "fallbacks", "failures", "tokens_in", "tokens_out", "cost",
    "cost_share", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "count",
]
FIGURES = HEADER[2:-1]  # a row's figures, from a totals or group entry of the data
TOP_SECTIONS = ("persona", "task", "model", "provider", "key")


def safe_cell(text: str) -> str:
    """`text`, with a leading apostrophe if a spreadsheet would read it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def data_csv(data: dict[str, Any]) -> str:
    """The CSV of a report's data (as routing.reports.build stores it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_cells(row) for row in _rows(data))
    return buffer.getvalue()


def _rows(data: dict[str, Any]) -> Iterable[Sequence[Any]]:
    yield _figures("total", _span(data["start"], data["last"]), data["totals"])
    previous = data["previous"]
    if previous is not None:
        yield _figures("previous", _span(previous["start"], previous["last"]), previous["totals"])
    for day in data["days"]:
        yield _figures("day", day["day"], day)
    for section in TOP_SECTIONS:
        for group in data["top"][section]:
            yield _figures(section, group["name"], group)
    for section in ("failure_reason", "fallback_reason"):
        for reason in data[f"{section}s"]:
            yield [section, reason["reason"], *[None] * len(FIGURES), reason["count"]]


def _figures(section: str, name: str, figures: dict[str, Any]) -> list[Any]:
    return [section, name, *(figures.get(figure) for figure in FIGURES), None]


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"


def _cells(row: Sequence[Any]) -> list[str]:
    section, name, *numbers = row
    return [safe_cell(section), safe_cell(name), *("" if n is None else str(n) for n in numbers)]
