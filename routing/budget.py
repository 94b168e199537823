"""Monthly budgets of client keys: spend so far this month, from the usage rows (RELIABILITY.md,
API4). A key over its budget is refused before any provider is called."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from qfweb.errors import BudgetExceeded
from routing.access import Caller
from routing.models import Generation


def month_start() -> timezone.datetime:
    """The start of this month in TIME_ZONE, as the usage reports count months."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def key_spend_this_month(api_key_id: int) -> Decimal:
    total = Generation.objects.filter(api_key_id=api_key_id, created_at__gte=month_start()).aggregate(
        total=Sum("cost")
    )["total"]
    return total or Decimal(0)


def check_key_budget(caller: Caller) -> None:
    if caller.monthly_budget is None or caller.key_id is None:
        return
    spent = key_spend_this_month(caller.key_id)
    if spent >= caller.monthly_budget:
        raise BudgetExceeded(
            f"the monthly budget of this key ({caller.monthly_budget} USD) is spent "
            f"({spent:.4f} USD this month); it renews on the 1st",
            field="key",
        )
