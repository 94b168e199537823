"""Reads of the stored cost reports: one query or two, whatever their size."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from qfweb.errors import NotFound
from routing.models import CostReport

LISTED = ("id", "period", "start", "end", "created_at")


def report_page(*, period: str | None, page: int, page_size: int) -> dict[str, Any]:
    """`{"count", "items"}`, the latest periods first; each item with its totals only."""
    reports = CostReport.objects.all()
    if period is not None:
        reports = reports.filter(period=period)
    first = (page - 1) * page_size
    rows = reports.order_by("-start", "period", "-id").values(*LISTED, totals=F("data__totals"))
    return {"count": reports.count(), "items": list(rows[first:first + page_size])}


def report_get(report_id: int) -> CostReport:
    report = CostReport.objects.filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"unknown report {report_id}", field="report_id")
    return report
