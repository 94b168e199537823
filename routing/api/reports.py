"""Cost reports under /api/reports (issue 6): list, build, read, and download as CSV.

Staff sessions only: a report shows every key's and persona's spending. Building reads the
daily rollups (routing.reports.build), which the periodic task keeps; `qf report` rolls the
days up first.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Path, Query, Router, Status

from qfweb.schemas import errors
from routing.access import require_staff
from routing.models import CostReport
from routing.reports.build import report_for
from routing.reports.selectors import report_get, report_page
from routing.schemas import MAX_ID
from routing.schemas.reports import ReportFilters, ReportIn, ReportOut, ReportPageOut

router = Router(tags=["reports"])
REPORT_ID = Path(..., ge=1, le=MAX_ID)
CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "The report's tables as CSV (an attachment).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/reports", response={200: ReportPageOut, **errors(403)},
    summary="Cost reports, the latest periods first",
)
def report_list(request: HttpRequest, filters: Query[ReportFilters]) -> dict[str, Any]:
    require_staff(request.auth)
    return report_page(period=filters.period, page=filters.page, page_size=filters.page_size)


@router.post(
    "/reports", response={201: ReportOut, **errors(400, 403)},
    summary="Build (or rebuild) the report of a day, week or month from the rollups",
)
def report_create(request: HttpRequest, payload: ReportIn) -> Status[CostReport]:
    require_staff(request.auth)
    return Status(201, report_for(payload.period, payload.start))


@router.get(
    "/reports/{report_id}", response={200: ReportOut, **errors(403, 404)}, summary="One report"
)
def report_detail(request: HttpRequest, report_id: int = REPORT_ID) -> CostReport:
    require_staff(request.auth)
    return report_get(report_id)


@router.get(
    "/reports/{report_id}/csv", response={200: None, **errors(403, 404)},
    summary="One report as CSV", openapi_extra=CSV_RESPONSE,
)
def report_csv_download(request: HttpRequest, report_id: int = REPORT_ID) -> HttpResponse:
    require_staff(request.auth)
    report = report_get(report_id)
    response = HttpResponse(report.csv, content_type="text/csv; charset=utf-8")
    filename = f"cost-report-{report.period}-{report.start.isoformat()}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
