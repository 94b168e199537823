from __future__ import annotations

import csv
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from routing.models import CostReport
from routing.reports.rollup import rollup_day
from tests.browser.conftest import NARROW, shoot
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db(transaction=True)
CHARTS = ("chart-spend", "chart-status", "chart-latency", "chart-personas")


@pytest.fixture
def usage():
    """A week of traffic on two models for three personas, rolled up."""
    now = timezone.now()
    rows = []
    for day in range(1, 8):
        for n, (persona, handle) in enumerate([("scene_smith", "openai:gpt-4o"), ("gatekeeper", "echo:echo"),
                                               ("=cmd()", "openai:gpt-4o")]):
            rows.append(dict(at=now - timedelta(days=day), persona_slug=persona, task_name="response",
                             served_handle=handle, status="failed" if (day + n) % 5 == 0 else "ok",
                             cost=Decimal("0.01") * (day + n), tokens_in=100 * day, latency_ms=200 * (n + 1)))
    generations(rows)
    for day in range(1, 8):
        rollup_day(timezone.localdate() - timedelta(days=day))


def drawn(page, chart: str) -> bool:
    return page.evaluate(f"!!Chart.getChart(document.querySelector('canvas[data-chart={chart}]'))")


def test_the_reports_page_draws_its_charts_and_switches_the_breakdown(signed_in, live_server, usage):
    page = signed_in
    page.goto(f"{live_server.url}/reports/")
    expect(page.locator("canvas[data-chart]")).to_have_count(len(CHARTS))
    expect(page.locator(".kpi").first).to_contain_text("Spend")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    assert all(drawn(page, chart) for chart in CHARTS)
    shoot(page, "reports")

    page.locator("select[name=breakdown]").select_option("persona")
    expect(page.locator("#spend-title")).to_have_text("Daily spend by persona")
    expect(page).to_have_url(re.compile(r"/reports/\?start=[-0-9]+&end=[-0-9]+&breakdown=persona$"))
    expect(page.locator("#report table").first.locator("thead")).to_contain_text("scene_smith")
    page.wait_for_function("() => Chart.getChart(document.querySelector('canvas[data-chart=chart-spend]'))")

    page.set_viewport_size(NARROW)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_the_csv_download_is_the_filtered_view(signed_in, live_server, usage):
    page = signed_in
    page.goto(f"{live_server.url}/reports/?breakdown=persona")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("qfweb-usage-") and "-by-persona" in download.suggested_filename
    with open(download.path(), newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][:3] == ["day", "persona", "requests"]
    assert {row[1] for row in rows[1:]} == {"scene_smith", "gatekeeper", "'=cmd()"}


def test_build_a_stored_report(signed_in, watch, live_server, usage):
    watch.allow(422)  # the bad start below
    page = signed_in
    page.goto(f"{live_server.url}/reports/")
    stored = page.locator("#stored")
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    stored.locator("select[name=period]").select_option("day")
    stored.locator("input[name=start]").fill(yesterday)
    stored.get_by_role("button", name="Build now").click()
    expect(page.locator("#toasts")).to_contain_text(f"Built the day report from {yesterday}")
    expect(page.locator("#stored tbody tr")).to_have_count(1)
    assert CostReport.objects.filter(period="day").count() == 1

    stored.locator("select[name=period]").select_option("week")  # a week starts on a Monday
    stored.locator("input[name=start]").fill("2025-05-01")
    stored.get_by_role("button", name="Build now").click()
    expect(page.locator("#build-start-error")).to_contain_text("a week starts on a Monday")
    expect(page.locator("#stored input[name=start]")).to_have_attribute("aria-invalid", "true")

    page.locator("#stored tbody a", has_text="day").click()
    expect(page.locator("h1")).to_have_text(f"Cost report: day from {yesterday}")
    shoot(page, "report-detail")
