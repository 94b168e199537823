"""The overview, the operator's home (issue 7 item 2): provider health that refreshes
itself, spend today and this month against the budgets, the last 24 hours' request, error
and fallback rates, and the latest failures with their reasons and open budget alerts.

A fixed number of queries however many rows there are: sums and histograms are taken by
the database (percentiles come from bucket counts, routing.reports.histogram), lists are
capped, and names are looked up once per list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Sum
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

from personas.models import ApiKey, Persona
from qfweb.pages import HtmxHttpRequest, render_page, staff_page
from routing.budget import month_start, spent_this_month
from routing.choices import AttemptOutcome
from routing.models import Attempt, BudgetAlert, DailyRollup, Generation, Provider
from routing.reports.dashboard import figures, money
from routing.reports.periods import day_bounds
from routing.reports.rollup import FIGURES
from routing.usage import FAILURE_STATUSES

TEMPLATE = "dashboard/overview.html"
FAILURES, ALERTS, BUDGETS = 10, 20, 25  # rows listed


@staff_page
def overview(request: HtmxHttpRequest) -> HttpResponse:
    # The one fragment this page asks for is the health table it polls: only that is read.
    # A history restore asks with htmx too, but wants the whole page.
    context: dict[str, Any] = {"section": "overview", **_health()}
    restoring = request.htmx.history_restore_request
    if not request.htmx or restoring:
        now = timezone.now()
        context.update(
            time_zone=settings.TIME_ZONE, warn_percent=settings.QF_BUDGET_WARN_PERCENT,
            spend=_spend(now), recent=figures(_recent_sums(now)), budgets=_budgets(),
            failures=_failures(), alerts=_alerts(),
        )
    return render_page(request, TEMPLATE, context, partial=None if restoring else "health")


def _health() -> dict[str, Any]:
    providers = list(Provider.objects.order_by("name").values(
        "name", "kind", "is_enabled", "health_state", "health_latency_ms", "health_checked_at"
    ))
    for provider in providers:
        provider["state_label"] = provider["health_state"].replace("_", " ")
    return {
        "providers": providers,
        "poll_s": settings.QF_OVERVIEW_POLL_S,
    }


def _recent_sums(now: datetime) -> dict[str, Any]:
    """The last 24 hours' generations summed as a rollup row sums them (one query)."""
    since = now - timedelta(hours=24)
    aggregates = {f"sum_{name}": aggregate for name, aggregate in FIGURES.items()}
    return Generation.objects.filter(created_at__gte=since).order_by().aggregate(**aggregates)


def _spend(now: datetime) -> dict[str, Any]:
    """Today's spend from the usage rows; this month's is the earlier days' rollups plus
    today (the rollups of past days are complete once the beat has rolled them up)."""
    today = timezone.localdate(now)
    start, _ = day_bounds(today)
    first = today.replace(day=1)
    cost = Sum("cost", default=Decimal(0))
    spent = Generation.objects.filter(created_at__gte=start).aggregate(c=cost)["c"]
    earlier = DailyRollup.objects.filter(day__gte=first, day__lt=today).aggregate(c=cost)["c"]
    return {"today": money(spent), "month": money(spent) + money(earlier), "month_first": first}


def _budgets() -> dict[str, Any]:
    """Keys and personas with a monthly budget, the most spent first (by percent), with
    this month's spend as the engine counts it (routing.budget)."""
    keys = ApiKey.objects.filter(monthly_budget__isnull=False, revoked_at__isnull=True)
    personas = Persona.objects.filter(monthly_budget__isnull=False)
    found = [
        ("key", str(pk), f"{name} ({prefix}…)", limit)
        for pk, name, prefix, limit in keys.values_list("pk", "name", "prefix", "monthly_budget")
    ]
    found += [
        ("persona", slug, slug, limit)
        for slug, limit in personas.values_list("slug", "monthly_budget")
    ]
    spent = {
        scope: spent_this_month(scope, [subject for s, subject, *_ in found if s == scope])
        for scope in ("key", "persona")
    }
    rows = [
        {"scope": scope, "subject": subject, "label": label, "budget": limit,
         "spent": money(spent[scope][subject]), "percent": _percent(spent[scope][subject], limit)}
        for scope, subject, label, limit in found
    ]
    rows.sort(key=lambda row: (-row["percent"], row["label"]))
    return {"rows": rows[:BUDGETS], "count": len(rows)}


def _percent(spent: Decimal, limit: Decimal) -> float:
    if not limit:
        return 100.0 if spent else 0.0
    return round(float(spent * 100 / limit), 1)


def _failures() -> list[Generation]:
    """The latest failed generations, each with its failed attempts (two queries)."""
    failed_attempts = Attempt.objects.exclude(outcome=AttemptOutcome.OK).order_by("position")
    attempts = Prefetch("attempts", queryset=failed_attempts, to_attr="failed_attempts")
    failed = Generation.objects.filter(status__in=FAILURE_STATUSES).order_by("-created_at", "-id")
    return list(failed.prefetch_related(attempts)[:FAILURES])


def _alerts() -> list[dict[str, Any]]:
    """This month's budget alerts, the newest first, keys named (at most two queries)."""
    fields = ("scope", "subject", "level", "budget", "spent", "created_at")
    month = BudgetAlert.objects.filter(month=month_start().date()).order_by("-created_at")
    alerts = list(month.values(*fields)[:ALERTS])
    ids = {int(a["subject"]) for a in alerts if a["scope"] == "key" and a["subject"].isdigit()}
    keys = ApiKey.objects.filter(pk__in=ids).values_list("pk", "name", "prefix") if ids else []
    names = {str(pk): f"{name} ({prefix}…)" for pk, name, prefix in keys}
    for alert in alerts:
        subject = alert["subject"]
        alert["label"] = names.get(subject, subject) if alert["scope"] == "key" else subject
    return alerts


urlpatterns = [path("", overview, name="overview")]
