from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from routing.models import Attempt, Provider
from tests.browser.conftest import NARROW, shoot
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store():
    now = timezone.now()
    Provider.objects.create(name="openai", kind="openai", base_url="https://8.8.8.8/v1", health_state="healthy",
                            health_latency_ms=240, health_checked_at=now - timedelta(minutes=1))
    Provider.objects.create(name="anthropic", kind="anthropic", base_url="https://1.1.1.1",
                            health_state="credential_invalid", health_checked_at=now - timedelta(minutes=3))
    generations([
        dict(at=now - timedelta(minutes=10), persona_slug="scene_smith", task_name="response", status="ok",
             served_handle="openai:gpt-4o", cost=Decimal("0.42"), latency_ms=850),
        dict(at=now - timedelta(minutes=5), persona_slug="gatekeeper", task_name="validation", status="failed",
             error_code="all_failed", attempts=["auth", "timeout"]),
    ])
    Attempt.objects.filter(outcome="auth").update(model_handle="anthropic:claude", http_status=401,
                                                  error_text="<b>invalid x-api-key</b>")


def test_the_overview_shows_health_and_failures_and_refreshes_the_badges(signed_in, live_server, settings, store):
    settings.QF_OVERVIEW_POLL_S = 1
    page = signed_in
    page.goto(f"{live_server.url}/")
    health = page.locator("#health")
    expect(health.locator("tr", has_text="openai").locator(".badge")).to_have_text("healthy")
    expect(health.locator("tr", has_text="anthropic").locator(".badge")).to_have_text("credential invalid")
    failures = page.locator("section", has=page.get_by_role("heading", name="Latest failures"))
    expect(failures.locator("tbody tr")).to_have_count(1)
    expect(failures).to_contain_text("gatekeeper · validation")
    expect(failures).to_contain_text("<b>invalid x-api-key</b>")  # shown as text, not markup
    shoot(page, "overview-with-data")

    # The badges poll the page's health partial; a change in the store shows without a reload.
    Provider.objects.filter(name="openai").update(health_state="down", health_latency_ms=None)
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true" and r.url.endswith("/")):
        pass
    expect(health.locator("tr", has_text="openai").locator(".badge")).to_have_text("down")
    expect(page.locator("#health")).to_have_count(1)


def test_the_overview_fits_a_phone(signed_in, live_server, store):
    signed_in.set_viewport_size(NARROW)
    signed_in.goto(f"{live_server.url}/")
    expect(signed_in.locator("#health .badge").first).to_be_visible()
    assert signed_in.evaluate("document.documentElement.scrollWidth <= innerWidth")
