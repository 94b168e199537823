"""Monthly budgets of client keys and of personas (issue 6; RELIABILITY.md, API4).

Spend is this month's cost in the usage rows, the month counted in TIME_ZONE as the
reports count it. The engine refuses a request whose key or persona has spent its budget,
before any provider is called, and warns once when one passes QF_BUDGET_WARN_PERCENT: a
BudgetAlert row for the dashboard and a log line, and a warning the APIs return as the
`X-QF-Budget-Warning` header.

Every request of a budgeted key or persona asks, so the spend is read from a counter in
the shared cache, not summed (issue 8: no query on the warm path): this month's spend in
the smallest unit Generation.cost stores, seeded from the rows on a miss and kept current
by the usage writes (`count_spend`). A counter lives SPEND_TTL_S, so whatever it missed
(a write that raced its seeding, another process's local-memory cache) is forgotten within
minutes; when the cache cannot be reached, the rows are summed as before.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from qfweb.cache import aget_many
from qfweb.errors import BudgetExceeded
from routing.cacheguard import afail_open, fail_open
from routing.models import BudgetAlert, Generation
from routing.offloop import run_sync

if TYPE_CHECKING:
    from routing.recording import GenerationRecord

logger = logging.getLogger("qfweb.budget")
SPENT = 100
FLAG_TTL_S = 32 * 24 * 3600  # outlives the month it is about
SPEND_TTL_S = 300  # how long a counter that missed a write can be wrong
UNIT = Decimal(10) ** -Generation._meta.get_field("cost").decimal_places
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
    """enforce for the engine: on the loop, in a cache round trip or two, while every
    counter is warm and every alert due is known to be recorded; else in a thread."""
    if not budgets:
        return ()
    spent = await _acounted(budgets)
    if len(spent) == len(budgets) and _all_alerted(spent):
        return _judge(budgets, spent, record_alerts=False)
    return await run_sync(_enforce, budgets, spent)


def enforce(budgets: Iterable[Budget]) -> tuple[str, ...]:
    """Raise BudgetExceeded when a budget is spent; else the warnings of those past the
    warning level. No query while the counters are warm; one per cold one."""
    budgets = tuple(budgets)
    return _enforce(budgets, _counted(budgets))


def _enforce(budgets: tuple[Budget, ...], counted: dict[Budget, Decimal]) -> tuple[str, ...]:
    return _judge(budgets, _with_sums(budgets, counted), record_alerts=True)


def _judge(
    budgets: tuple[Budget, ...], spent_of: dict[Budget, Decimal], *, record_alerts: bool
) -> tuple[str, ...]:
    warnings = []
    for budget in budgets:
        spent = spent_of[budget]
        level = level_of(budget, spent)
        if level is not None and record_alerts:
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


# ---- the spend counters ----------------------------------------------------------------------


def _spend_key(scope: str, subject: str, month: str) -> str:
    return f"budget-spend:{scope}:{subject}:{month}"


def _this_month() -> str:
    return f"{month_start():%Y-%m}"


def _units(amount: Decimal) -> int:
    return int(amount.quantize(UNIT, rounding=ROUND_HALF_UP) / UNIT)


@fail_open(lambda *_: {})
def _counted(budgets: Iterable[Budget]) -> dict[Budget, Decimal]:
    """The spend of each budget whose counter is warm (one cache round trip)."""
    keys = _spend_keys(budgets)
    return _spent_of(keys, cache.get_many(list(keys)))


@afail_open(lambda *_: {})
async def _acounted(budgets: Iterable[Budget]) -> dict[Budget, Decimal]:
    """_counted without blocking the event loop."""
    keys = _spend_keys(budgets)
    return _spent_of(keys, await aget_many(list(keys)))


def _spend_keys(budgets: Iterable[Budget]) -> dict[str, Budget]:
    month = _this_month()
    return {_spend_key(b.scope, b.subject, month): b for b in budgets}


def _spent_of(keys: dict[str, Budget], found: dict[str, int]) -> dict[Budget, Decimal]:
    return {keys[key]: units * UNIT for key, units in found.items()}


def _with_sums(budgets: tuple[Budget, ...], counted: dict[Budget, Decimal]) -> dict[Budget, Decimal]:
    """This month's spend of each budget: its counter's, else the rows' (one query each),
    which then seeds the counter."""
    spent = dict(counted)
    for budget in budgets:
        if budget not in spent:
            summed = spent_this_month(budget.scope, [budget.subject])[budget.subject]
            spent[budget] = _seed(budget, summed)
    return spent


@fail_open(lambda budget, spent: spent)
def _seed(budget: Budget, spent: Decimal) -> Decimal:
    """Start the budget's counter at `spent`, the rows' sum; the counter's spend. `add`, not
    `set`: when another process seeded it first, its count (and the writes it has counted
    since) stands, and both report it."""
    key = _spend_key(budget.scope, budget.subject, _this_month())
    if cache.add(key, _units(spent), timeout=SPEND_TTL_S):
        return spent
    units = cache.get(key)
    return spent if units is None else units * UNIT


@fail_open(lambda *_: None)
def count_spend(records: Iterable[GenerationRecord]) -> None:
    """Add the cost of committed usage records to their key's and persona's counters, where
    those exist: a missing counter is seeded from the rows, these included."""
    month = _this_month()
    added: Counter[str] = Counter()
    for record in records:
        if not record.cost:
            continue
        units = _units(record.cost)
        if record.api_key_id is not None:
            added[_spend_key(BudgetAlert.Scope.KEY, str(record.api_key_id), month)] += units
        if record.persona_slug:
            added[_spend_key(BudgetAlert.Scope.PERSONA, record.persona_slug, month)] += units
    present = cache.get_many(list(added)) if added else {}  # one round trip for the batch
    for key, units in added.items():
        if key not in present:  # no counter: the next check seeds it from the rows
            continue
        try:
            # Redis's INCR recreates, without a TTL, a key that expired after Django checked
            # it exists: a count of exactly what was added may be such an orphan (or a
            # counter that stood at 0) and is dropped, to be seeded again.
            if cache.incr(key, units) == units:
                cache.delete(key)
        except ValueError:  # no counter
            pass


@fail_open(lambda *_: None)
def _forget_spend(keys: list[str]) -> None:
    cache.delete_many(keys)


@receiver(post_save, sender=Generation, dispatch_uid="budget-forget-spend")
def _forget_saved_spend(sender: type[Generation], instance: Generation, **kwargs: Any) -> None:
    """A row saved one by one (a shell, a data fix, a test) is not counted: the gateway
    writes in bulk, which sends no signal, and counts through count_spend. Its counters are
    dropped, now and on commit, so the next check sums the rows, this one included."""
    month = _this_month()
    keys: list[str] = []
    if instance.api_key_id is not None:
        keys.append(_spend_key(BudgetAlert.Scope.KEY, str(instance.api_key_id), month))
    if instance.persona_slug:
        keys.append(_spend_key(BudgetAlert.Scope.PERSONA, instance.persona_slug, month))
    _forget_spend(keys)
    transaction.on_commit(lambda: _forget_spend(keys))


# ---- alerts ------------------------------------------------------------------------------------


def raise_alerts(budget: Budget, level: int, spent: Decimal) -> int:
    """Record the alerts `budget` is due this month; the number of new ones."""
    return sum(alert(budget, lv, spent) for lv in _levels_due(level))


def alert(budget: Budget, level: int, spent: Decimal) -> bool:
    """Record that `budget` reached `level` this month; True only the first time, when
    the warning is also logged."""
    month = month_start().date()
    # Every request past the warning level asks; a flag in the shared cache answers without
    # a query once the row exists (a lost flag costs one query, never a second alert).
    flag = _alert_flag(budget, level)
    if _is_flagged(flag):
        return False
    if BudgetAlert.objects.filter(scope=budget.scope, subject=budget.subject, month=month, level=level).exists():
        _flag(flag)
        return False
    try:
        with transaction.atomic():  # two processes may race to be first: one row wins
            BudgetAlert.objects.create(
                scope=budget.scope, subject=budget.subject, month=month, level=level,
                budget=budget.limit, spent=spent,
            )
    except IntegrityError:
        return False
    _flag(flag)
    _log(budget, level, spent)
    return True


def _alert_flag(budget: Budget, level: int) -> str:
    return f"budget-alert:{budget.scope}:{budget.subject}:{_this_month()}:{level}"


@fail_open(lambda *_: False)
def _is_flagged(flag: str) -> bool:
    return bool(cache.get(flag))


@fail_open(lambda *_: None)
def _flag(flag: str) -> None:
    cache.set(flag, True, timeout=FLAG_TTL_S)


@fail_open(lambda *_: False)
def _all_alerted(spent: dict[Budget, Decimal]) -> bool:
    """Whether the cache's flags say every alert these budgets are due is recorded, so
    that raise_alerts would do nothing (one cache round trip)."""
    flags = [
        _alert_flag(budget, lv)
        for budget, amount in spent.items()
        if (level := level_of(budget, amount)) is not None
        for lv in _levels_due(level)
    ]
    return not flags or len(cache.get_many(flags)) == len(flags)


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
