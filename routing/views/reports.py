"""The usage reports page (issue 7 item 5): filters, KPIs against the previous period,
charts each followed by its table, breakdown tables, the CSV of the filtered view, and the
stored cost reports (list, build, figures, CSV).

The figures come from the daily rollups (routing.reports.dashboard, which also says when
the page refreshes today's); the charts are drawn by dashboard.js from JSON specs, and
every chart has its table, which is the truth.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from itertools import chain, islice
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.db.models import F
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from qfweb.errors import QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    paginate,
    query_without_page,
    render_page,
    staff_page,
    toast,
)
from routing.models import CostReport, ReportPeriod
from routing.reports import dashboard
from routing.reports.build import COMPARED, report_for
from routing.reports.export import safe_cell

TEMPLATE = "routing/reports.html"
CSV_TYPE = "text/csv; charset=utf-8"
TABLE_ROWS = 25  # groups shown per breakdown table; the CSV has them all
KPIS = (  # label, figure, how it is shown
    ("Spend", "cost", "usd"), ("Requests", "requests", "count"),
    ("Input tokens", "tokens_in", "count"), ("Output tokens", "tokens_out", "count"),
    ("Error rate", "error_pct", "pct"), ("Fallback rate", "fallback_pct", "pct"),
    ("p50 latency", "latency_p50_ms", "ms"), ("p95 latency", "latency_p95_ms", "ms"),
    ("p50 time to first token", "ttft_p50_ms", "ms"),
)
STATUSES = (
    ("ok", "ok"), ("fallbacks", "ok after fallback"), ("failures", "failed"), ("other", "other"),
)


@staff_page
@require_GET
def reports(request: HtmxHttpRequest) -> HttpResponse:
    # The stored reports' pagination swaps #stored; the filters swap #report; a history
    # restore (htmx asks, but wants the page) and a plain GET get everything.
    part = None
    if request.htmx and not request.htmx.history_restore_request:
        part = "stored" if request.htmx.target == "stored" else "report"
    context: dict[str, Any] = {"section": "reports"}
    if part != "stored":
        context.update(_report(request))
    if part != "report":
        context.update(_stored(request))
    response = render_page(request, TEMPLATE, context, partial=part)
    if part == "report":  # the address bar shows the filters as applied
        push_url(response, f"{reverse('routing:reports')}?{context['query']}")
    return response


@staff_page
@require_GET
def export_csv(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """One row per day x breakdown value, figures as plain numbers, cost as the exact
    decimal, text cells defused against spreadsheet formulas (RELIABILITY.md)."""
    filters, _ = dashboard.parse_filters(request.GET, timezone.localdate())
    dashboard.refresh_recent(filters, timezone.localdate())
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    rows = chain([dashboard.export_header(filters)], dashboard.export_rows(filters))
    lines = (writer.writerow(_cells(row)) for row in rows)
    response = StreamingHttpResponse(_served(request, lines), content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, dashboard.export_filename(filters))
    return response


@staff_page
@require_POST
def report_build(request: HtmxHttpRequest) -> HttpResponse:
    """Build (or rebuild) a stored cost report; a bad period or start is shown at its input."""
    period = request.POST.get("period", "")
    try:
        report = report_for(period, _start(request.POST.get("start", "")))
    except QfError as error:
        stored = _stored(request, form=request.POST, errors=field_errors(error))
        context = {"section": "reports", **stored, **({} if request.htmx else _report(request))}
        return render_page(request, TEMPLATE, context, partial="stored", status=422)
    message = f"Built the {report.period} report from {report.start}."
    if request.htmx:
        context = {"section": "reports", **_stored(request)}
        return toast(render_page(request, TEMPLATE, context, partial="stored"), message)
    messages.success(request, message)
    return HttpResponseRedirect(reverse("routing:report_detail", args=[report.pk]), status=303)


@staff_page
@require_GET
def report_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(CostReport, pk=pk)
    context = {
        "section": "reports", "report": report, "data": report.data,
        "compared": _compared(report.data),
    }
    return render_page(request, "routing/report_detail.html", context)


@staff_page
@require_GET
def report_csv(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(CostReport, pk=pk)
    response = HttpResponse(report.csv, content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, f"cost-report-{report.period}-{report.start}.csv")
    return response


# ---- context ------------------------------------------------------------------------------


def _report(request: HtmxHttpRequest) -> dict[str, Any]:
    """The filtered figures: KPIs, charts with their tables, breakdowns, reasons."""
    today = timezone.localdate()
    filters, notes = dashboard.parse_filters(request.GET, today)
    dashboard.refresh_recent(filters, today)
    totals = dashboard.totals(filters)
    tables = {name: dashboard.breakdown(filters, name) for name in dashboard.BREAKDOWNS}
    days = dashboard.daily(filters, [group["name"] for group in tables[filters.breakdown]])
    latency = sorted(tables["model"], key=lambda g: -g["requests"])[:TABLE_ROWS]
    personas = tables["persona"][:10]
    return {
        "filters": filters,
        "notes": notes,
        "query": urlencode(filters.query()),
        "filter_fields": [
            (name, str(filters.chosen().get(name, "")), options)
            for name, options in dashboard.choices(filters).items()
        ],
        "breakdowns": dashboard.BREAKDOWNS,
        "kpis": kpis(totals["current"], totals["previous"]),
        "previous": filters.previous,
        "days": days,
        "tables": [
            (name, rows[:TABLE_ROWS], len(rows), urlencode({**filters.query(), "breakdown": name}))
            for name, rows in tables.items()
        ],
        "latency": latency,
        "personas": personas,
        "reasons": dashboard.reasons(filters),
        "charts": {name: json.dumps(s) for name, s in _charts(days, latency, personas).items()},
    }


def kpis(now: dict[str, Any], before: dict[str, Any]) -> list[dict[str, str]]:
    """The KPI cards: each figure, the previous period's, and the change between them."""
    return [
        {"label": label, "value": _shown(now[name], kind), "previous": _shown(before[name], kind),
         "change": _change(now[name], before[name], kind)}
        for label, name, kind in KPIS
    ]


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "usd":
        return f"${value:,.4f}"
    if kind == "pct":
        return f"{value:.1f} %"
    return f"{value:,} ms" if kind == "ms" else f"{value:,}"


def _change(now: Any, before: Any, kind: str) -> str:
    """Rates change by percentage points; other figures by percent of the previous one."""
    if now is None or before is None:
        return "no comparison"
    if kind == "pct":
        return f"{now - before:+.1f} pts"
    if not before:
        return "new" if now else "no change"
    return f"{(now - before) * 100 / before:+.1f} %"


def _charts(
    days: dict[str, Any], latency: list[dict[str, Any]], personas: list[dict[str, Any]]
) -> dict[str, Any]:
    """Chart specs for dashboard.js: numbers as JSON numbers, not strings."""
    labels = [row["day"].isoformat() for row in days["rows"]]
    return {
        "spend": {
            "type": "bar", "labels": labels, "stacked": True, "unit": "USD",
            "datasets": [
                {"label": _label(name), "data": [float(row["spend"][i]) for row in days["rows"]]}
                for i, name in enumerate(days["series"])
            ],
        },
        "status": {
            "type": "bar", "labels": labels, "stacked": True, "unit": "requests",
            "datasets": [
                {"label": label, "data": [row[name] for row in days["rows"]]}
                for name, label in STATUSES
            ],
        },
        "latency": {
            "type": "bar", "labels": [_label(g["name"]) for g in latency], "unit": "ms",
            "datasets": [
                {"label": p, "data": [g[f"latency_{p}_ms"] or 0 for g in latency]}
                for p in ("p50", "p95", "p99")
            ],
        },
        "personas": {
            "type": "bar", "labels": [_label(g["name"]) for g in personas], "unit": "USD",
            "datasets": [{"label": "spend", "data": [float(g["cost"]) for g in personas]}],
        },
    }


def _label(name: str) -> str:
    return name or "(none)"


def _stored(
    request: HtmxHttpRequest, *, form: Any = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The stored cost reports, a page of them, and the build form."""
    rows = CostReport.objects.order_by("-start", "period", "-id").values(
        "id", "period", "start", "end", "created_at", totals=F("data__totals")
    )
    return {
        "page_obj": paginate(request, rows),
        "page_query": query_without_page(request),
        "periods": ReportPeriod.values,
        "build": form or {"period": ReportPeriod.WEEK},
        "build_errors": errors or {},
        "build_problems": (errors or {}).get("form", []),
    }


def _compared(data: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(figure, this period, the previous one, percent change) of a stored report."""
    previous = (data.get("previous") or {}).get("totals", {})
    change = data.get("change") or {}
    return [
        (name.replace("_", " "), data["totals"].get(name), previous.get(name),
         change.get(name, {}).get("percent"))
        for name in COMPARED
    ]


def _start(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QfError(f"must be a date as YYYY-MM-DD, not {text[:40]!r}", field="start") from None


def _cells(row: list[Any]) -> list[str]:
    return [_cell(value) for value in row]


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits: str() writes a zero cost as 0E-8
    return "" if value is None else str(value)


def _served(
    request: HtmxHttpRequest, lines: Iterator[str]
) -> Iterator[str] | AsyncIterator[str]:
    """The lines as the server wants them: under ASGI an async iterator (a sync one would be
    read whole, with Django's warning), pulling batches in the request's own sync thread,
    where its database connection and the open cursor live."""
    if not isinstance(request, ASGIRequest):
        return lines
    take = sync_to_async(lambda: "".join(islice(lines, 500)), thread_sensitive=True)

    async def pulled() -> AsyncIterator[str]:
        while chunk := await take():
            yield chunk

    return pulled()


class _Echo:
    """A file that hands back what is written: csv.writer's row becomes the response's
    next chunk (Django's "Streaming large CSV files")."""

    def write(self, value: str) -> str:
        return value


urlpatterns = [
    path("reports/", reports, name="reports"),
    path("reports/export.csv", export_csv, name="reports_export"),
    path("reports/build/", report_build, name="report_build"),
    path("reports/stored/<int:pk>/", report_detail, name="report_detail"),
    path("reports/stored/<int:pk>/csv", report_csv, name="report_csv"),
]
