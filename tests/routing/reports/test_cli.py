"""`manage.py qf report`: roll up, build, store and summarise a cost report."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from routing.models import CostReport, DailyRollup
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db


def qf(*args: str) -> str:
    out = StringIO()
    call_command("qf", "report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def usage(db):
    generations([
        {"at": datetime(2025, 5, 2, 9, tzinfo=UTC), "status": "ok", "persona_slug": "ann",
         "api_key_id": 4, "served_handle": "openai:gpt-4o", "cost": Decimal("1.5"),
         "tokens_in": 1200, "tokens_out": 300, "latency_ms": 800},
        {"at": datetime(2025, 5, 20, 9, tzinfo=UTC), "status": "failed", "persona_slug": "bob",
         "served_handle": "", "error_code": "timeout", "attempts": ["timeout"]},
        {"at": datetime(2025, 4, 9, 9, tzinfo=UTC), "status": "ok", "persona_slug": "ann",
         "served_handle": "openai:gpt-4o", "cost": Decimal("1")},
    ])


def test_it_rolls_up_builds_and_summarises_a_month(usage):
    output = qf("--period", "month", "--start", "2025-05-01")
    report = CostReport.objects.get(period="month", start=date(2025, 5, 1))
    assert set(DailyRollup.objects.values_list("day", flat=True)) == {
        date(2025, 4, 9), date(2025, 5, 2), date(2025, 5, 20)  # the previous month too
    }
    lines = output.splitlines()
    assert lines[0] == "Cost report, month 2025-05-01 to 2025-05-31 (days in UTC)"
    assert lines[1] == (
        "Requests:  2 (+100.0% on the previous period); failures 1 (50.0%), fallbacks 0 (0.0%)"
    )
    assert lines[2] == "Tokens:    1,200 in, 300 out"
    assert lines[3] == "Cost:      1.50000000 USD (+50.0% on the previous period)"
    assert lines[4].startswith("Latency:   p50 ") and "p95" in lines[4]
    assert "Top personas by cost:" in lines
    assert "  ann  1 requests  1.50000000 USD  100%" in lines
    assert "  (none)  1 requests  0.00000000 USD  0%" in lines  # no key
    assert "Failure reasons:" in lines and "  timeout  1" in lines
    assert lines[-1] == f"Stored as report {report.pk}."


def test_it_writes_the_csv_and_prints_json(usage, tmp_path):
    target = tmp_path / "may.csv"
    output = qf("--period", "month", "--start", "2025-05-01", "--csv", str(target), "--json")
    data = json.loads(output)
    assert data["totals"]["cost"] == "1.50000000" and data["period"] == "month"
    with target.open(newline="") as f:
        total = next(csv.DictReader(f))
    assert (total["section"], total["cost"]) == ("total", "1.50000000")


def test_by_default_it_reports_the_last_complete_period(usage):
    with time_machine.travel(datetime(2025, 5, 22, 10, tzinfo=UTC), tick=False):
        output = qf("--period", "week")
    assert output.startswith("Cost report, week 2025-05-12 to 2025-05-18")
    assert CostReport.objects.get().start == date(2025, 5, 12)


def test_it_rolls_up_nothing_after_today(usage):
    with time_machine.travel(datetime(2025, 5, 3, 10, tzinfo=UTC), tick=False):
        qf("--period", "month", "--start", "2025-05-01")
    assert max(DailyRollup.objects.values_list("day", flat=True)) == date(2025, 5, 2)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--period", "week", "--start", "2025-05-01"], "start: a week starts on a Monday"),
        (["--period", "month", "--start", "2025-05-31"], "start: a month starts on the 1st"),
    ],
)
def test_a_bad_start_ends_the_command_naming_it(usage, args, words):
    with pytest.raises(CommandError, match=words):
        qf(*args)
    assert not CostReport.objects.exists() and not DailyRollup.objects.exists()


@pytest.mark.parametrize(
    "args",
    [["--period", "year"], ["--period", "day", "--start", "May 1st"], ["--start", "2025-05-01"]],
)
def test_bad_arguments_are_refused_by_the_parser(args):
    with pytest.raises(CommandError):
        qf(*args)


def test_an_unwritable_csv_path_is_an_error_naming_it(usage, tmp_path):
    with pytest.raises(CommandError, match="csv: cannot write"):
        qf("--period", "day", "--start", "2025-05-02", "--csv", str(tmp_path / "no" / "x.csv"))
