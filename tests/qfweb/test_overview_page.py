"""The overview page /: provider health that refreshes itself, spend against budgets, the
last 24 hours' rates, the latest failures and this month's budget alerts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personas.keys import api_key_issue, api_key_revoke
from personas.models import Persona
from routing.models import BudgetAlert, DailyRollup, Provider
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 5, 20, 15, 0, tzinfo=UTC)  # TIME_ZONE is UTC in the tests
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def kpi(page: str, label: str) -> str:
    found = re.search(rf'<div class="label">{re.escape(label)}</div><div class="value">([^<]*)</div>', page)
    assert found, label
    return found[1]


@pytest.fixture
def providers():
    Provider.objects.create(name="openai", kind="openai", base_url="https://8.8.8.8/v1", health_state="healthy",
                            health_latency_ms=321, health_checked_at=NOW - timedelta(minutes=2))
    Provider.objects.create(name="anthropic", kind="anthropic", base_url="https://1.1.1.1",
                            health_state="credential_invalid", health_checked_at=NOW - timedelta(hours=1))
    Provider.objects.create(name="echo", kind="echo", is_enabled=False)


@pytest.fixture
def usage():
    """The last 24 hours: 2 ok, 1 after a fallback, 1 failed; older rows around them."""
    hour = timedelta(hours=1)
    generations([
        dict(at=NOW - hour, persona_slug="ann", task_name="response", status="ok", served_handle="openai:gpt-4o",
             cost=Decimal("0.5"), latency_ms=100),
        dict(at=NOW - 2 * hour, persona_slug="ann", status="ok", served_handle="openai:gpt-4o",
             cost=Decimal("0.25"), latency_ms=120),
        dict(at=NOW - 3 * hour, persona_slug="bob", status="ok_after_fallback", served_handle="echo:echo",
             cost=Decimal("0.25"), latency_ms=2000, attempts=["timeout", "ok"]),
        dict(at=NOW - 20 * hour, persona_slug="bob", task_name="review", status="failed", error_code="all_failed",
             attempts=["http_error", "auth"]),
        dict(at=NOW - 30 * hour, persona_slug="ann", status="failed", error_code="old_failure", cost=Decimal("9")),
    ])
    # Earlier this month, rolled up; last month's rollup does not count.
    DailyRollup.objects.create(day=date(2025, 5, 3), persona_slug="ann", requests=3, cost=Decimal("2"))
    DailyRollup.objects.create(day=date(2025, 4, 30), persona_slug="ann", requests=3, cost=Decimal("100"))


# ---- access ---------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_non_staff_users_are_sent_to_log_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("bob", password="x"))
    assert client.get("/").status_code == 302


# ---- health ---------------------------------------------------------------------------------


def test_health_badges_link_each_provider(admin_client, providers):
    page = text(admin_client.get("/"))
    assert '<a href="/providers/openai/">openai</a>' in page
    assert '<span class="badge healthy">healthy</span>' in page and "321 ms" in page and "2 minutes ago" in page
    assert '<span class="badge credential_invalid">credential invalid</span>' in page
    assert '<span class="badge disabled">disabled</span>' in page and "never" in page
    assert 'hx-trigger="every 30s"' in page


def test_the_health_partial_alone_answers_htmx_in_three_queries(admin_client, providers, settings):
    settings.QF_OVERVIEW_POLL_S = 2
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/", **HTMX, HTTP_HX_TARGET="health")
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="health"') and "<html" not in page
    assert 'hx-trigger="every 2s"' in page and "Latest failures" not in page
    assert len(captured) == 3  # session, user, providers
    assert "HX-Request" in response["Vary"]


# ---- figures --------------------------------------------------------------------------------


def test_spend_today_and_this_month(admin_client, usage):
    page = text(admin_client.get("/"))
    # Today (20 May from midnight UTC): 0.5 + 0.25 + 0.25; the month adds the rollup of 3 May.
    # The failure 30 h ago (19 May) is not rolled up, so the month does not count it yet.
    assert kpi(page, "Spend today") == "$1.0000"
    assert kpi(page, "Spend this month") == "$3.0000"


def test_the_last_24_hours_rates(admin_client, usage):
    page = text(admin_client.get("/"))
    assert kpi(page, "Requests, last 24 h") == "4"
    assert kpi(page, "Error rate, 24 h") == "25.0 %"
    assert kpi(page, "Fallback rate, 24 h") == "25.0 %"
    # p50 of 100, 120, 2000 (nearest rank: 120) is read from its bucket [100, 150).
    p50 = int(kpi(page, "p50 latency, 24 h").removesuffix(" ms"))
    assert 100 <= p50 < 150


def test_latest_failures_with_their_reasons_escaped(admin_client, usage):
    generations([dict(at=NOW - timedelta(minutes=5), persona_slug="cid", status="failed", error_code="timeout",
                      attempts=["timeout"])])
    from routing.models import Attempt

    Attempt.objects.filter(generation__persona_slug="cid").update(error_text="<script>x</script> read timed out")
    page = text(admin_client.get("/"))
    failures = page.split("Latest failures", 1)[1]
    assert failures.index("cid") < failures.index("all_failed") < failures.index("old_failure")
    assert "&lt;script&gt;x&lt;/script&gt; read timed out" in failures and "<script>x" not in page
    assert "http_error" in failures and "auth" in failures
    assert "response" not in failures.split("Budget alerts", 1)[0]  # ok generations are not failures


def test_only_the_ten_latest_failures_are_listed(admin_client):
    generations([dict(at=NOW - timedelta(minutes=n), persona_slug=f"p{n:02d}", status="failed") for n in range(12)])
    page = text(admin_client.get("/"))
    assert "p09" in page and "p10" not in page and "p11" not in page


def test_budgets_show_spend_against_the_limit_without_secrets(admin_client, usage):
    Persona.objects.create(slug="ann", monthly_budget=Decimal("1.00"))
    issued = api_key_issue(name="mobile app", monthly_budget=Decimal("10"))
    revoked = api_key_issue(name="old app", monthly_budget=Decimal("10"))
    api_key_revoke(api_key=revoked.api_key)
    generations([dict(at=NOW - timedelta(hours=1), api_key_id=issued.api_key.pk, status="ok", cost=Decimal("2.5"))])
    page = text(admin_client.get("/"))
    budgets = page.split("Budgets this month", 1)[1].split("Latest failures", 1)[0]
    # ann spent 0.5 + 0.25 today and 9 on the 19th, as the engine counts a month: raw rows.
    assert re.search(r"ann</a> <span class=\"muted\">persona</span></td> <td class=\"num\">\$9.7500</td> "
                     r"<td class=\"num\">\$1.00</td> <td><meter [^>]*value=\"975.0\"", budgets)
    assert f"mobile app ({issued.api_key.prefix}…)" in budgets and 'value="25.0"' in budgets
    assert budgets.index("ann") < budgets.index("mobile app")  # the most spent first
    assert "old app" not in budgets and issued.plaintext not in page


def test_this_months_budget_alerts(admin_client):
    issued = api_key_issue(name="mobile app", monthly_budget=Decimal("10"))
    BudgetAlert.objects.create(scope="key", subject=str(issued.api_key.pk), month=date(2025, 5, 1), level=80,
                               budget=Decimal("10"), spent=Decimal("8.5"))
    BudgetAlert.objects.create(scope="persona", subject="ann", month=date(2025, 5, 1), level=100,
                               budget=Decimal("1"), spent=Decimal("1.2"))
    BudgetAlert.objects.create(scope="persona", subject="april", month=date(2025, 4, 1), level=100,
                               budget=Decimal("1"), spent=Decimal("1.2"))
    alerts = text(admin_client.get("/")).split("Budget alerts this month", 1)[1]
    assert "mobile app (" in alerts and '<span class="badge warn">80 %</span>' in alerts
    assert '<span class="badge bad">100 %</span>' in alerts and "april" not in alerts


def test_an_empty_store_says_so(admin_client):
    page = text(admin_client.get("/"))
    assert "No providers yet" in page and "No failed generations." in page
    assert kpi(page, "Error rate, 24 h") == "–" and kpi(page, "Spend today") == "$0.0000"


# ---- query budget ---------------------------------------------------------------------------


def queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured)


def rows(tag: str, count: int) -> None:
    for n in range(count):
        Provider.objects.create(name=f"{tag}{n}", kind="echo", health_state="down")
        Persona.objects.create(slug=f"{tag}{n}", monthly_budget=Decimal("5"))
        key = api_key_issue(name=f"{tag} key {n}", monthly_budget=Decimal("5"))
        BudgetAlert.objects.create(scope="key", subject=str(key.api_key.pk), month=date(2025, 5, 1), level=80,
                                   budget=Decimal("5"), spent=Decimal("4"))
    generations([
        dict(at=NOW - timedelta(minutes=n), persona_slug=f"{tag}{n}", status="failed", attempts=["timeout", "auth"],
             cost=Decimal("0.1"), latency_ms=100 + n)
        for n in range(count)
    ])


def test_the_query_count_does_not_grow_with_the_rows(admin_client):
    rows("few", 3)
    few = queries(admin_client)
    rows("many", 35)
    # session, user, providers, 24 h, today, month's rollups, keys, personas, 2 spends,
    # failures and their attempts, alerts and their keys' names
    assert queries(admin_client) == few == 14
