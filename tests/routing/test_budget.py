"""routing.budget: monthly budgets of keys and personas, refused at 100 %, warned once a month
at QF_BUDGET_WARN_PERCENT (issue 6), and the periodic check over every budget of the store."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from personas.budgets import budgets_all
from personas.keys import api_key_revoke
from personas.models import ApiKey, Persona
from personas.tasks import check_budgets
from qfweb.errors import BudgetExceeded
from routing.budget import Budget, check_all, enforce
from routing.models import BudgetAlert, Generation
from tests.factories import issue_key

pytestmark = pytest.mark.django_db
KEY = Budget("key", "7", Decimal("10.00"))
PERSONA = Budget("persona", "writer", Decimal("10.00"))


def spend(budget: Budget, cost: str, *, at: datetime | None = None) -> Generation:
    """A usage row charging `cost` USD to the budget's key or persona."""
    key = budget.scope == "key"
    who = {"api_key_id": int(budget.subject)} if key else {"persona_slug": budget.subject}
    row = Generation.objects.create(status="ok", cost=Decimal(cost), **who)
    if at is not None:  # created_at is auto_now_add: move it afterwards
        Generation.objects.filter(pk=row.pk).update(created_at=at)
    return row


def alerts() -> list[tuple[str, str, int]]:
    return sorted(BudgetAlert.objects.values_list("scope", "subject", "level"))


def refusal(budget: Budget) -> BudgetExceeded:
    with pytest.raises(BudgetExceeded) as raised:
        enforce([budget])
    return raised.value


# ---- enforce: what one request sees --------------------------------------------------------


def test_a_request_without_budgets_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert enforce(()) == ()


@pytest.mark.parametrize("budget", [KEY, PERSONA], ids=["key", "persona"])
def test_below_the_warning_level_nothing_is_said(budget):
    spend(budget, "7.99")
    assert enforce([budget]) == ()
    assert alerts() == []


@pytest.mark.parametrize("budget", [KEY, PERSONA], ids=["key", "persona"])
def test_at_the_warning_level_it_warns_and_records_the_alert(budget):
    spend(budget, "8.00")
    [warning] = enforce([budget])
    assert warning == f"{budget.describe()} has spent 80 % of its monthly budget"
    assert alerts() == [(budget.scope, budget.subject, 80)]
    alert = BudgetAlert.objects.get()
    assert (alert.budget, alert.spent, alert.month.day) == (Decimal("10.00"), Decimal("8.00"), 1)


@pytest.mark.parametrize("budget", [KEY, PERSONA], ids=["key", "persona"])
def test_a_spent_budget_is_refused_with_429_naming_it(budget):
    spend(budget, "6")
    spend(budget, "4")
    error = refusal(budget)
    assert (error.status, error.code, error.field) == (429, "budget_exceeded", budget.scope)
    assert budget.describe() in error.message and "10.00 USD" in error.message
    assert "renews on the 1st" in error.message


def test_every_budget_of_a_request_is_enforced():
    spend(KEY, "1")
    spend(PERSONA, "10.5")
    assert enforce([KEY]) == ()
    with pytest.raises(BudgetExceeded) as raised:
        enforce([KEY, PERSONA])
    assert raised.value.field == "persona"
    spend(KEY, "8")
    # Both past the warning level, neither spent: a warning each.
    assert enforce([KEY, Budget("persona", "writer", Decimal("11.00"))]) == (
        "key 7 has spent 90 % of its monthly budget",
        "persona writer has spent 95 % of its monthly budget",
    )


def test_only_this_subjects_spend_counts():
    spend(Budget("key", "8", KEY.limit), "50")
    spend(Budget("persona", "critic", KEY.limit), "50")
    Generation.objects.create(status="ok", cost=None, api_key_id=7)  # no price known
    assert enforce([KEY, PERSONA]) == ()


def test_a_zero_budget_refuses_everything_from_the_first_request():
    error = refusal(Budget("persona", "writer", Decimal("0.00")))
    assert "persona writer" in error.message
    assert alerts() == [("persona", "writer", 80), ("persona", "writer", 100)]


def test_the_warning_level_is_the_setting(settings):
    settings.QF_BUDGET_WARN_PERCENT = 50
    spend(KEY, "5.00")
    assert enforce([KEY]) == ("key 7 has spent 50 % of its monthly budget",)
    assert alerts() == [("key", "7", 50)]
    settings.QF_BUDGET_WARN_PERCENT = 95
    assert enforce([PERSONA]) == ()
    spend(PERSONA, "9.49")
    assert enforce([PERSONA]) == ()


# ---- alerts: once a level a month ----------------------------------------------------------


def test_an_alert_is_raised_and_logged_once_a_month(caplog):
    spend(KEY, "8.5")
    with caplog.at_level(logging.WARNING, logger="qfweb.budget"):
        first = enforce([KEY])
        second = enforce([KEY])
        assert check_all([KEY]) == 0
    assert first == second  # the header still says so on every request
    assert alerts() == [("key", "7", 80)]
    logged = [r.getMessage() for r in caplog.records if r.name == "qfweb.budget"]
    assert logged == ["budget: key 7 reached 80 % of its monthly budget (8.5000 of 10.00 USD)"]


def test_a_budget_spent_at_once_gets_both_alerts(caplog):
    spend(PERSONA, "12")
    with caplog.at_level(logging.WARNING, logger="qfweb.budget"):
        refusal(PERSONA)
        refusal(PERSONA)
    assert alerts() == [("persona", "writer", 80), ("persona", "writer", 100)]
    assert len([r for r in caplog.records if r.name == "qfweb.budget"]) == 2


def test_the_warning_then_the_refusal_each_alert_once():
    spend(KEY, "9")
    enforce([KEY])
    spend(KEY, "1")
    refusal(KEY)
    refusal(KEY)
    assert alerts() == [("key", "7", 80), ("key", "7", 100)]
    by_level = dict(BudgetAlert.objects.values_list("level", "spent"))
    assert by_level == {80: Decimal("9"), 100: Decimal("10")}


# ---- the month is TIME_ZONE's ----------------------------------------------------------------


def test_the_month_turns_at_local_midnight(settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+12 in June: the local month starts early
    local = ZoneInfo("Pacific/Auckland")
    spend(KEY, "10", at=datetime(2025, 6, 30, 23, 30, tzinfo=local))
    with time_machine.travel(datetime(2025, 6, 30, 23, 59, tzinfo=local), tick=False):
        assert refusal(KEY).field == "key"
    with time_machine.travel(datetime(2025, 7, 1, 0, 1, tzinfo=local), tick=False):
        # Still 30 June in UTC, but July here: the budget has renewed.
        assert enforce([KEY]) == ()
        spend(KEY, "8")
        assert enforce([KEY]) != ()
    months = sorted(BudgetAlert.objects.values_list("month", "level"))
    assert [(str(m), level) for m, level in months] == [
        ("2025-06-01", 80), ("2025-06-01", 100), ("2025-07-01", 80),
    ]


def test_last_months_alerts_do_not_silence_this_months(settings):
    settings.TIME_ZONE = "America/New_York"
    local = ZoneInfo("America/New_York")
    with time_machine.travel(datetime(2025, 3, 15, 12, tzinfo=local), tick=False):
        spend(KEY, "9")
        assert check_all([KEY]) == 1
    with time_machine.travel(datetime(2025, 4, 2, 12, tzinfo=local), tick=False):
        assert check_all([KEY]) == 0  # March's spend does not count in April
        spend(KEY, "9")
        assert check_all([KEY]) == 1
    assert BudgetAlert.objects.count() == 2


# ---- the periodic check ----------------------------------------------------------------------


def test_check_all_raises_what_is_due_and_counts_the_new_alerts():
    quiet = Budget("key", "8", Decimal("10"))
    spend(quiet, "1")
    spend(KEY, "8")
    spend(PERSONA, "11")
    assert check_all([quiet, KEY, PERSONA]) == 3
    assert alerts() == [("key", "7", 80), ("persona", "writer", 80), ("persona", "writer", 100)]
    assert check_all([quiet, KEY, PERSONA]) == 0


def many_budgets(count: int) -> list[Budget]:
    """`count` budgets of each scope: a third below the warning level, a third past it, a
    third spent."""
    budgets = []
    for n in range(count):
        share = ("1", "8.5", "10")[n % 3]
        pair = [Budget("key", str(1000 + n), KEY.limit), Budget("persona", f"p{n}", PERSONA.limit)]
        for budget in pair:
            spend(budget, share)
        budgets += pair
    return budgets


@pytest.mark.parametrize("count", [3, 60])
def test_check_all_takes_a_fixed_number_of_queries(count, django_assert_max_num_queries):
    budgets = many_budgets(count)
    # The first run creates the alerts (one insert for all of them)...
    with django_assert_max_num_queries(6):
        created = check_all(budgets)
    assert created == BudgetAlert.objects.count() == 2 * (count // 3) * 3  # 80 for 2/3, 100 for 1/3
    # ...later runs only read.
    with django_assert_max_num_queries(3):
        assert check_all(budgets) == 0


def test_check_all_still_alerts_once_when_another_process_raced_it(monkeypatch):
    spend(KEY, "9")
    spend(PERSONA, "9")
    # Another worker records the key's alert between our read and our insert.
    from routing import budget as module

    real = module._unraised

    def racing(due, month):
        new = real(due, month)
        BudgetAlert.objects.create(
            scope="key", subject="7", month=month, level=80, budget=10, spent=9
        )
        return new

    monkeypatch.setattr(module, "_unraised", racing)
    assert check_all([KEY, PERSONA]) == 1
    assert alerts() == [("key", "7", 80), ("persona", "writer", 80)]


def test_the_task_checks_the_budgets_of_the_store():
    issue_key(name="capped", monthly_budget=Decimal("10"))
    issue_key(name="free")
    capped = ApiKey.objects.get(name="capped")
    Persona.objects.create(slug="writer", monthly_budget=Decimal("10"))
    Persona.objects.create(slug="critic")
    spend(Budget("key", str(capped.pk), Decimal("10")), "8")
    spend(PERSONA, "10")
    assert check_budgets() == 3
    assert alerts() == [
        ("key", str(capped.pk), 80), ("persona", "writer", 80), ("persona", "writer", 100),
    ]


def test_the_store_lists_budgets_but_not_of_revoked_keys():
    issue_key(name="capped", monthly_budget=Decimal("12.50"))
    issue_key(name="gone", monthly_budget=Decimal("3"))
    issue_key(name="free")
    Persona.objects.create(slug="writer", monthly_budget=Decimal("0"))
    Persona.objects.create(slug="critic")
    api_key_revoke(api_key=ApiKey.objects.get(name="gone"))
    capped = ApiKey.objects.get(name="capped")
    assert budgets_all() == [
        Budget("key", str(capped.pk), Decimal("12.50")), Budget("persona", "writer", Decimal("0")),
    ]


def test_past_the_warning_level_a_request_makes_no_query_once_alerted(django_assert_num_queries):
    spend(KEY, "8.50")
    enforce([KEY])  # sums the spend into its counter and raises the alert
    with django_assert_num_queries(0):  # both are known to the cache (issue 8)
        assert len(enforce([KEY])) == 1
    assert len(alerts()) == 1
