"""Monthly budgets of client keys and of personas (issue 6; RELIABILITY.md, API4).

Spend is this month's cost in the usage rows, the month counted in TIME_ZONE as the
reports count it. The engine refuses a request whose key or persona has spent its budget,
before any provider is called, and warns once when one passes QF_BUDGET_WARN_PERCENT: a
BudgetAlert row for the dashboard and a log line, and a warning the APIs return as the
`X-QF-Budget-Warning` header.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from qfweb.errors import BudgetExceeded
from routing.models import BudgetAlert, Generation

logger = logging.getLogger("qfweb.budget")
SPENT = 100
FLAG_TTL_S = 32 * 24 * 3600  # outlives the month it is about
COLUMNS = {BudgetAlert.Scope.KEY: "api_key_id", BudgetAlert.Scope.PERSONA: "persona_slug"}


@dataclass(frozen=True, slots=True)
class Budget:
    scope: str  # BudgetAlert.Scope: "key" or "persona"
    subject: str  # the key's id or the persona's slug
    limit: Decimal  # USD a month

    def describe(self) -> str:
        return f"key {self.subject}" if self.scope == BudgetAlert.Scope.KEY else f"persona {self.subject}"


Due = tuple[Budget, int, Decimal]  # a budget, a level it reached, what it has spent


def month_start() -> timezone.datetime:
    """The start of this month in TIME_ZONE, as the usage reports count months."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent_this_month(scope: str, subjects: Iterable[str]) -> dict[str, Decimal]:
    """This month's spend of each subject of one scope, in one query."""
    column = COLUMNS[scope]
    values = [int(s) for s in subjects] if scope == BudgetAlert.Scope.KEY else list(subjects)
    rows = (
        Generation.objects.filter(**{f"{column}__in": values}, created_at__gte=month_start())
        .values_list(column).annotate(total=Sum("cost")).order_by()
    )
    spent = {str(subject): total or Decimal(0) for subject, total in rows}
    return {str(subject): spent.get(str(subject), Decimal(0)) for subject in values}


async def aenforce(budgets: tuple[Budget, ...]) -> tuple[str, ...]:
    """enforce for the engine: nothing to do, and no thread hop, without budgets."""
    return await sync_to_async(enforce)(budgets) if budgets else ()


def enforce(budgets: Iterable[Budget]) -> tuple[str, ...]:
    """Raise BudgetExceeded when a budget is spent; else the warnings of those past the
    warning level. One query per budget; none without budgets."""
    warnings = []
    for budget in budgets:
        spent = spent_this_month(budget.scope, [budget.subject])[budget.subject]
        level = level_of(budget, spent)
        if level is not None:
            raise_alerts(budget, level, spent)
        if level == SPENT:
            raise BudgetExceeded(
                f"the monthly budget of {budget.describe()} ({budget.limit} USD) is spent "
                f"({spent:.4f} USD this month); it renews on the 1st",
                field=budget.scope,
            )
        if level is not None:
            warnings.append(f"{budget.describe()} has spent {_percent(budget, spent)} % of its monthly budget")
    return tuple(warnings)


def level_of(budget: Budget, spent: Decimal) -> int | None:
    """SPENT, the warning level, or None below it."""
    if spent >= budget.limit:
        return SPENT
    if spent * 100 >= budget.limit * settings.QF_BUDGET_WARN_PERCENT:
        return settings.QF_BUDGET_WARN_PERCENT
    return None


def raise_alerts(budget: Budget, level: int, spent: Decimal) -> int:
    """Record the alerts `budget` is due this month; the number of new ones."""
    return sum(alert(budget, lv, spent) for lv in _levels_due(level))


def alert(budget: Budget, level: int, spent: Decimal) -> bool:
    """Record that `budget` reached `level` this month; True only the first time, when
    the warning is also logged."""
    month = month_start().date()
    # Every request past the warning level asks; a flag in the shared cache answers without
    # a query once the row exists (a lost flag costs one query, never a second alert).
    flag = f"budget-alert:{budget.scope}:{budget.subject}:{month:%Y-%m}:{level}"
    if cache.get(flag):
        return False
    if BudgetAlert.objects.filter(scope=budget.scope, subject=budget.subject, month=month, level=level).exists():
        cache.set(flag, True, timeout=FLAG_TTL_S)
        return False
    try:
        with transaction.atomic():  # two processes may race to be first: one row wins
            BudgetAlert.objects.create(
                scope=budget.scope, subject=budget.subject, month=month, level=level,
                budget=budget.limit, spent=spent,
            )
    except IntegrityError:
        return False
    cache.set(flag, True, timeout=FLAG_TTL_S)
    _log(budget, level, spent)
    return True


def check_all(budgets: Iterable[Budget]) -> int:
    """Raise the alerts due for every budget (the periodic task: a budget passes its
    warning level whether or not a request comes), in a fixed number of queries however
    many budgets the store holds. Returns the number of new alerts."""
    by_scope: dict[str, list[Budget]] = {}
    for budget in budgets:
        by_scope.setdefault(budget.scope, []).append(budget)
    due: list[Due] = []
    for scope, group in by_scope.items():
        spent = spent_this_month(scope, [b.subject for b in group])
        for budget in group:
            level = level_of(budget, spent[budget.subject])
            if level is not None:
                due += [(budget, lv, spent[budget.subject]) for lv in _levels_due(level)]
    month = month_start().date()
    new = _unraised(due, month)
    if not new:
        return 0
    try:
        with transaction.atomic():
            BudgetAlert.objects.bulk_create([
                BudgetAlert(
                    scope=b.scope, subject=b.subject, month=month, level=lv, budget=b.limit, spent=s
                )
                for b, lv, s in new
            ])
    except IntegrityError:  # another process raised some meanwhile: one by one, each once
        return sum(alert(*d) for d in new)
    for d in new:
        _log(*d)
    return len(new)


def _unraised(due: list[Due], month: date) -> list[Due]:
    """The alerts of `due` not yet recorded for `month` (one query)."""
    if not due:
        return []
    raised = set(BudgetAlert.objects.filter(month=month).values_list("scope", "subject", "level"))
    return [(b, lv, s) for b, lv, s in due if (b.scope, b.subject, lv) not in raised]


def _levels_due(level: int) -> list[int]:
    # A budget spent at once still gets its warning first.
    return sorted({settings.QF_BUDGET_WARN_PERCENT, level})


def _log(budget: Budget, level: int, spent: Decimal) -> None:
    logger.warning(
        "budget: %s reached %s %% of its monthly budget (%.4f of %s USD)",
        budget.describe(), level, spent, budget.limit,
    )


def _percent(budget: Budget, spent: Decimal) -> int:
    return int(spent * 100 / budget.limit) if budget.limit else 100
