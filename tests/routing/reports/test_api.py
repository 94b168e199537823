"""/api/reports: staff sessions list, build, read and download cost reports; nobody else."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from routing.models import CostReport, DailyRollup
from routing.reports.build import report_build
from routing.reports.rollup import rollup_day
from tests.factories import bearer, issue_key
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db
MAY = date(2025, 5, 1)


@pytest.fixture
def rolled_up(db):
    generations([
        {"at": datetime(2025, 5, 2, 9, tzinfo=UTC), "status": "ok", "persona_slug": "ann",
         "served_handle": "openai:gpt-4o", "cost": Decimal("0.125"), "latency_ms": 400},
        {"at": datetime(2025, 5, 2, 9, tzinfo=UTC), "status": "failed", "persona_slug": "ann",
         "served_handle": "", "error_code": "timeout"},
    ])
    rollup_day(date(2025, 5, 2))


@pytest.fixture
def reports(rolled_up):
    return {
        "month": report_build("month", MAY),
        "week": report_build("week", date(2025, 4, 28)),
        "day": report_build("day", date(2025, 5, 2)),
    }


def test_staff_builds_a_report(admin_client, rolled_up):
    response = admin_client.post(
        "/api/reports", {"period": "month", "start": "2025-05-01"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == CostReport.objects.get().pk
    assert (body["period"], body["start"], body["end"]) == ("month", "2025-05-01", "2025-06-01")
    totals = body["data"]["totals"]
    assert totals["requests"] == 2 and totals["failures"] == 1 and totals["cost"] == "0.12500000"
    assert body["data"]["failure_reasons"] == [{"reason": "timeout", "count": 1}]
    assert len(body["data"]["days"]) == 31


def test_building_rolls_up_the_days_first(admin_client):
    generations([{"at": datetime(2025, 5, 3, 9, tzinfo=UTC), "status": "ok", "persona_slug": "bo",
                  "served_handle": "openai:gpt-4o", "cost": Decimal("0.5"), "latency_ms": 300}])
    assert not DailyRollup.objects.exists()

    response = admin_client.post(
        "/api/reports", {"period": "day", "start": "2025-05-03"}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["data"]["totals"]["cost"] == "0.50000000"


def test_building_again_replaces_the_report(admin_client, reports):
    response = admin_client.post(
        "/api/reports", {"period": "month", "start": "2025-05-01"}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["id"] == reports["month"].pk and CostReport.objects.count() == 3


def test_staff_lists_reports_latest_first_with_their_totals(admin_client, reports):
    body = admin_client.get("/api/reports").json()
    assert body["count"] == 3
    assert [(i["period"], i["start"]) for i in body["items"]] == [
        ("day", "2025-05-02"), ("month", "2025-05-01"), ("week", "2025-04-28")
    ]
    assert body["items"][1]["totals"]["cost"] == "0.12500000"
    assert "data" not in body["items"][0]


def test_it_filters_and_pages_the_list(admin_client, reports):
    body = admin_client.get("/api/reports?period=week").json()
    assert body["count"] == 1 and body["items"][0]["id"] == reports["week"].pk
    page = admin_client.get("/api/reports?page=2&page_size=2").json()
    assert page["count"] == 3 and [i["period"] for i in page["items"]] == ["week"]


def test_staff_reads_one_report(admin_client, reports):
    body = admin_client.get(f"/api/reports/{reports['day'].pk}").json()
    data = body["data"]
    assert data["totals"]["requests"] == 2 and data["top"]["persona"][0]["name"] == "ann"
    assert body["data"]["totals"]["latency_p50_ms"] is not None


def test_staff_downloads_the_csv(admin_client, reports):
    response = admin_client.get(f"/api/reports/{reports['month'].pk}/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    disposition = 'attachment; filename="cost-report-month-2025-05-01.csv"'
    assert response["Content-Disposition"] == disposition
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert lines[0]["section"] == "total" and lines[0]["cost"] == "0.12500000"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/reports"), ("post", "/api/reports"), ("get", "/api/reports/{id}"),
     ("get", "/api/reports/{id}/csv")],
)
def test_a_client_key_is_refused_and_an_anonymous_caller_unauthenticated(
    client, reports, method, path
):
    path = path.format(id=reports["month"].pk)
    body = {"period": "day", "start": "2025-05-02"} if method == "post" else None
    kwargs = {"content_type": "application/json", "data": body} if body else {}
    key = issue_key(may_write=True)
    refused = getattr(client, method)(path, **kwargs, **bearer(key))
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "scope"
    assert getattr(client, method)(path, **kwargs).status_code == 401
    assert CostReport.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"period": "year", "start": "2025-05-01"}, "period", "day"),
        ({"period": "week", "start": "2025-05-01"}, "start", "Monday"),
        ({"period": "month", "start": "2025-05-02"}, "start", "1st"),
        ({"period": "month", "start": "2025-13-01"}, "start", "date"),
        ({"period": "day", "start": "9999-12-31"}, "start", "too late"),
        ({"period": "day"}, "start", "required"),
        ({"period": "day", "start": "2025-05-01", "extra": 1}, "extra", "not permitted"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(admin_client, body, field, words):
    response = admin_client.post("/api/reports", body, content_type="application/json")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == field and words.lower() in error["message"].lower(), error
    assert not CostReport.objects.exists()


@pytest.mark.parametrize("query", ["period=year", "page=0", "page_size=201"])
def test_a_bad_list_filter_is_a_422(admin_client, query):
    response = admin_client.get(f"/api/reports?{query}")
    assert response.status_code == 422 and response.json()["error"]["field"] == query.split("=")[0]


@pytest.mark.parametrize("suffix", ["", "/csv"])
def test_an_unknown_report_is_a_404(admin_client, suffix):
    response = admin_client.get(f"/api/reports/999999{suffix}")
    assert response.status_code == 404 and response.json()["error"]["field"] == "report_id"
    too_big = admin_client.get(f"/api/reports/{2**63}{suffix}")
    assert too_big.status_code == 422


def test_reading_a_report_takes_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    DailyRollup.objects.bulk_create(
        DailyRollup(
            day=MAY + timedelta(days=i % 31), persona_slug=f"p{i}", requests=1, cost=Decimal(i)
        )
        for i in range(400)
    )
    report = report_build("month", MAY)
    report_build("day", MAY)
    # The session and its user, then the report (or the page: its count and its rows).
    with django_assert_max_num_queries(3):
        assert admin_client.get(f"/api/reports/{report.pk}").status_code == 200
    with django_assert_max_num_queries(4):
        assert admin_client.get("/api/reports").json()["count"] == 2
    with django_assert_max_num_queries(3):
        assert admin_client.get(f"/api/reports/{report.pk}/csv").status_code == 200
