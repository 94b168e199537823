"""Celery tasks of the persona store (STYLE B-13)."""

from __future__ import annotations

from celery import shared_task

from personas.budgets import budgets_all
from routing import budget


@shared_task
def check_budgets() -> int:
    """Raise the budget alerts due, whether or not a request comes (new alerts)."""
    return budget.check_all(budgets_all())
