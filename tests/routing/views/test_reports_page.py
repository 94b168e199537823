"""The usage reports page /reports/: filters, KPIs against the previous period, charts and
their tables, the CSV of the filtered view, and the stored cost reports."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing.models import CostReport, DailyRollup
from routing.reports.rollup import rollup_day
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db
MAY = "/reports/?start=2025-05-01&end=2025-05-31"
HTMX = {"HTTP_HX_REQUEST": "true"}


def at(day: int, month: int = 5) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


@pytest.fixture
def usage():
    """May: 4 generations (2 ok, 1 after a fallback, 1 failed) for 4.00 USD; April 1.00."""
    generations([
        dict(at=at(2), persona_slug="ann", task_name="response", served_handle="openai:gpt-4o",
             status="ok", cost=Decimal("1.5"), tokens_in=100, tokens_out=10, latency_ms=120),
        dict(at=at(2), persona_slug="ann", task_name="response", served_handle="anthropic:claude",
             status="ok_after_fallback", cost=Decimal("0.5"), latency_ms=180, attempts=["rate_limited", "ok"]),
        dict(at=at(3), persona_slug="=cmd()", served_handle="", status="failed", error_code="timeout",
             attempts=["timeout"]),
        dict(at=at(3), persona_slug="bob", served_handle="openai:gpt-4o", status="ok",
             cost=Decimal("2"), tokens_in=50, latency_ms=2500, api_key_id=7),
        dict(at=at(20, 4), persona_slug="ann", served_handle="openai:gpt-4o", status="ok",
             cost=Decimal("1"), latency_ms=90),
    ])
    for day in (at(2), at(3), at(20, 4)):
        rollup_day(day.date())


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def kpi(page: str, label: str) -> str:
    found = re.search(rf'<div class="label">{re.escape(label)}</div> <div class="value">([^<]*)</div> '
                      r'<div class="change">([^<]*)</div>', page)
    assert found, label
    return f"{found[1]} | {found[2]}"


# ---- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/reports/", "/reports/export.csv", "/reports/stored/1/", "/reports/stored/1/csv"])
def test_anonymous_users_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_non_staff_users_are_sent_to_log_in_and_build_nothing(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("bob", password="x"))
    assert client.get("/reports/").status_code == 302
    response = client.post("/reports/build/", {"period": "day", "start": "2025-05-01"})
    assert response.status_code == 302 and CostReport.objects.count() == 0


# ---- the figures ----------------------------------------------------------------------------


def test_kpis_equal_the_usage_rows_and_compare_with_the_previous_period(admin_client, usage):
    page = text(admin_client.get(MAY))
    # Worked out from the rows: 4.00 USD in May against 1.00 in the 31 days before.
    assert kpi(page, "Spend") == "$4.0000 | +300.0 % · before $1.0000"
    assert kpi(page, "Requests") == "4 | +300.0 % · before 1"
    assert kpi(page, "Input tokens") == "150 | new · before 0"
    assert kpi(page, "Error rate") == "25.0 % | +25.0 pts · before 0.0 %"
    assert kpi(page, "Fallback rate") == "25.0 % | +25.0 pts · before 0.0 %"
    assert kpi(page, "p50 time to first token") == "– | no comparison · before –"
    assert "2025-03-31 to 2025-04-30" in page


def test_charts_come_with_their_specs_and_tables(admin_client, usage):
    page = admin_client.get(MAY).content.decode()
    for chart in ("chart-spend", "chart-status", "chart-latency", "chart-personas"):
        assert f'data-chart="{chart}"' in page and f'<div class="hidden" id="{chart}">{{' in page
    assert "chart.umd.min.js" in page and "<script>" not in page and "style=" not in page
    assert "Daily spend by model" in page
    # The stacked spend of 2 May is 1.5 on gpt-4o and 0.5 on claude; the table says so.
    assert re.search(r"<td>2025-05-02</td><td class=\"num\">1.5000</td><td class=\"num\">0.5000</td>", page)
    assert "&quot;stacked&quot;: true" in page and "&quot;data&quot;: [0.0, 1.5, 2.0," in page


def test_the_breakdown_switches_the_stacked_chart_and_filters_narrow_the_figures(admin_client, usage):
    page = text(admin_client.get(MAY + "&breakdown=persona&persona=ann"))
    assert "Daily spend by persona" in page
    assert kpi(page, "Requests").startswith("2 |")
    assert '<option value="bob">bob</option>' in page  # other personas stay choosable
    assert '<option value="ann" selected>ann</option>' in page


def test_user_text_is_escaped(admin_client, usage):
    generations([dict(at=at(4), persona_slug="<b>x</b>", status="ok")])
    rollup_day(date(2025, 5, 4))
    page = admin_client.get(MAY + "&breakdown=persona").content.decode()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


@pytest.mark.parametrize(
    "query",
    ["start=bad", "end=2025-02-30", "start=2025-05-31&end=2025-05-01", "start=0001-01-01",
     "start=9999-12-31&end=9999-12-31", "key=-1", "key=99999999999999999999",
     "page=abc", "page=-5", "persona=" + "x" * 5000, "start=2000-01-01&end=2025-01-01"],
)
def test_bad_parameters_give_a_message_never_a_500(admin_client, query):
    response = admin_client.get(f"/reports/?{query}")
    assert response.status_code == 200
    if not query.startswith(("page=", "persona=")):
        assert 'class="errorlist"' in response.content.decode()
    assert admin_client.get(f"/reports/export.csv?{query}").status_code == 200


def test_todays_rollup_is_refreshed_by_the_page(admin_client):
    generations([dict(at=timezone.now(), persona_slug="ann", status="ok", cost=Decimal("0.25"))])
    page = text(admin_client.get("/reports/"))
    assert kpi(page, "Spend").startswith("$0.2500 |")
    assert DailyRollup.objects.filter(day=timezone.localdate()).count() == 1


# ---- htmx -----------------------------------------------------------------------------------


def test_htmx_gets_only_the_report_partial(admin_client, usage):
    response = admin_client.get(MAY + "&breakdown=task", **HTMX, HTTP_HX_TARGET="report")
    page = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert page.lstrip().startswith('<div id="report">') and "<html" not in page
    assert "Daily spend by task" in page and 'id="stored"' not in page
    assert "<script" not in page  # htmx 2 would drop it: the chart specs are text
    assert response["HX-Push-Url"] == "/reports/?start=2025-05-01&end=2025-05-31&breakdown=task"


def test_htmx_pagination_of_stored_reports_gets_only_that_partial(admin_client, usage):
    page = admin_client.get("/reports/?page=1", **HTMX, HTTP_HX_TARGET="stored").content.decode()
    assert page.lstrip().startswith('<section id="stored"') and 'id="report"' not in page


def test_a_history_restore_gets_the_whole_page(admin_client, usage):
    page = admin_client.get(MAY, **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
    assert "<html" in page and 'id="report"' in page and 'id="stored"' in page


# ---- CSV ------------------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_is_the_filtered_view_one_row_per_day_and_value(admin_client, usage):
    response = admin_client.get("/reports/export.csv?start=2025-05-01&end=2025-05-31&breakdown=persona")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="qfweb-usage-2025-05-01-to-2025-05-31-by-persona.csv"'
    )
    rows = rows_of(response)
    assert rows[0][:4] == ["day", "persona", "requests", "ok"]
    cost = rows[0].index("cost")
    assert [(r[0], r[1], r[2], r[cost]) for r in rows[1:]] == [
        ("2025-05-02", "ann", "2", "2.00000000"),
        ("2025-05-03", "'=cmd()", "1", "0.00000000"),  # a formula is defused
        ("2025-05-03", "bob", "1", "2.00000000"),
    ]


def test_the_csv_file_name_names_the_filters(admin_client, usage):
    response = admin_client.get("/reports/export.csv?start=2025-05-01&end=2025-05-31&persona=ann&key=7")
    assert 'filename="qfweb-usage-2025-05-01-to-2025-05-31-by-model-persona-ann-key-7.csv"' in response["Content-Disposition"]
    assert rows_of(response)[1:] == []  # ann made no request with key 7


@pytest.mark.django_db(transaction=True)
def test_the_csv_streams_asynchronously_under_asgi(admin_user, recwarn):
    """Through the ASGI handler, as uvicorn serves it: an async iterator, so Django neither
    warns nor reads the whole file first. Run on a thread of its own, whose event loop no
    other test (Playwright's sync API keeps one running) can be holding."""
    generations([dict(at=at(2), status="ok", served_handle="openai:gpt-4o")])
    rollup_day(date(2025, 5, 2))

    async def download() -> tuple[bool, str]:
        client = AsyncClient()
        await client.aforce_login(admin_user)
        response = await client.get("/reports/export.csv?start=2025-05-01&end=2025-05-31")
        return response.is_async, b"".join([chunk async for chunk in response.streaming_content]).decode()

    found: dict[str, Any] = {}

    def run() -> None:
        try:
            found["result"] = asyncio.run(download())
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            found["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert "error" not in found, found.get("error")
    is_async, body = found["result"]
    assert is_async and body.splitlines()[1].startswith("2025-05-02,openai:gpt-4o,1,")
    assert [str(w.message) for w in recwarn if "StreamingHttpResponse" in str(w.message)] == []


# ---- stored reports -------------------------------------------------------------------------


def test_build_now_stores_the_report_and_shows_its_figures(admin_client, usage):
    response = admin_client.post("/reports/build/", {"period": "month", "start": "2025-05-01"})
    report = CostReport.objects.get()
    assert response.status_code == 303 and response["Location"] == f"/reports/stored/{report.pk}/"
    assert report.data["totals"]["cost"] == "4.00000000"
    page = text(admin_client.get(response["Location"]))
    assert "Cost report: month from 2025-05-01" in page and "Built the month report" in page
    assert "'=cmd()" not in page and "=cmd()" in page  # the page escapes; only the CSV defuses
    listed = admin_client.get("/reports/").content.decode()
    assert f'href="/reports/stored/{report.pk}/csv"' in listed and "4.0000" in listed


def test_a_stored_report_downloads_as_its_csv(admin_client, usage):
    report = admin_client.post("/reports/build/", {"period": "month", "start": "2025-05-01"})
    pk = CostReport.objects.get().pk
    response = admin_client.get(f"/reports/stored/{pk}/csv")
    assert response["Content-Disposition"] == 'attachment; filename="cost-report-month-2025-05-01.csv"'
    assert response.content.decode() == CostReport.objects.get().csv
    assert report.status_code == 303


def test_build_now_with_htmx_swaps_the_list_and_toasts(admin_client, usage):
    response = admin_client.post("/reports/build/", {"period": "day", "start": "2025-05-02"}, **HTMX,
                                 HTTP_HX_TARGET="stored")
    page = response.content.decode()
    assert response.status_code == 200 and page.lstrip().startswith('<section id="stored"')
    assert "qf:toast" in response["HX-Trigger"] and "Built the day report from 2025-05-02" in response["HX-Trigger"]
    assert CostReport.objects.filter(period="day", start=date(2025, 5, 2)).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"period": "week", "start": "2025-05-01"}, "start", "a week starts on a Monday"),
        ({"period": "month", "start": "2025-05-02"}, "start", "a month starts on the 1st"),
        ({"period": "month", "start": "May"}, "start", "must be a date"),
        ({"period": "year", "start": ""}, "period", "must be one of day, week, month"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_build_now_rejects_a_bad_period_or_start_beside_its_input(admin_client, data, field, message, htmx):
    response = admin_client.post("/reports/build/", data, **(HTMX if htmx else {}))
    page = response.content.decode()
    assert response.status_code == 422 and CostReport.objects.count() == 0
    assert f'<span class="error" id="build-{field}-error">{message}' in page
    assert f'aria-invalid="true" aria-describedby="build-{field}-error"' in page
    assert ("<html" in page) is not htmx
    if field == "start":
        assert f'value="{data["start"]}"' in page  # what was typed stays


def test_a_post_without_the_csrf_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/reports/build/", {"period": "day", "start": "2025-05-01"})
    assert response.status_code == 403 and CostReport.objects.count() == 0


def test_the_page_itself_changes_nothing_on_post(admin_client):
    assert admin_client.post("/reports/").status_code == 405


@pytest.mark.parametrize("url", ["/reports/stored/999/", "/reports/stored/999/csv"])
def test_an_unknown_stored_report_is_404(admin_client, url):
    assert admin_client.get(url).status_code == 404


# ---- query budget ---------------------------------------------------------------------------


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def rollups(days: int, personas: int, tag: str) -> None:
    DailyRollup.objects.bulk_create(
        DailyRollup(day=date(2025, 5, 31) - timedelta(days=d), persona_slug=f"{tag}{p}", model_handle=f"m:{p % 3}",
                    provider_name="m", api_key_id=p, requests=3, ok=2, failed=1, cost=Decimal("0.1"),
                    failure_reasons={"timeout": 1}, fallback_reasons={"timeout": 1}, attempts_failed=1)
        for d in range(days) for p in range(personas)
    )


def reports(first: int, count: int) -> None:
    CostReport.objects.bulk_create(
        CostReport(period="day", start=date(2024, 1, 1) + timedelta(days=n), end=date(2024, 1, 2) + timedelta(days=n),
                   created_at=timezone.now(), data={"totals": {"cost": "1", "requests": 1}}, csv="")
        for n in range(first, first + count)
    )


def test_the_query_count_does_not_grow_with_the_rows(admin_client):
    url = "/reports/?start=2025-01-01&end=2025-05-31&breakdown=persona"
    rollups(days=3, personas=2, tag="few")
    reports(0, 3)
    few = queries(admin_client, url)
    rollups(days=40, personas=12, tag="many")
    reports(3, 60)
    # session, user; totals now and before; 5 breakdowns; daily; reasons; choices; 2 pages of reports
    assert queries(admin_client, url) == few == 14
    assert queries(admin_client, url + "&page=2") == few
