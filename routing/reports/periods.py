"""Report periods: a day, a week starting on Monday, or a month starting on the 1st, all
counted in TIME_ZONE (as routing.budget counts months)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from qfweb.errors import QfError
from routing.models import ReportPeriod

PERIODS = tuple(ReportPeriod.values)


def check_period(period: str) -> ReportPeriod:
    if period not in PERIODS:
        raise QfError(f"must be one of {', '.join(PERIODS)}, not {period!r}", field="period")
    return ReportPeriod(period)


def period_end(period: str, start: date) -> date:
    """The day after the period that starts on `start` (exclusive end); a QfError naming
    `start` if no such period starts that day."""
    period = check_period(period)
    if period == ReportPeriod.WEEK and start.weekday() != 0:
        raise QfError(f"a week starts on a Monday; {start} is a {start:%A}", field="start")
    if period == ReportPeriod.MONTH and start.day != 1:
        raise QfError(f"a month starts on the 1st, not on {start}", field="start")
    try:
        if period == ReportPeriod.DAY:
            return start + timedelta(days=1)
        if period == ReportPeriod.WEEK:
            return start + timedelta(days=7)
        return _next_month(start)
    except (OverflowError, ValueError):
        message = f"{start} is too late: the period would end after {date.max}"
        raise QfError(message, field="start") from None


def previous_start(period: str, start: date) -> date | None:
    """The start of the period before; None before the first representable date."""
    period = check_period(period)
    try:
        if period == ReportPeriod.DAY:
            return start - timedelta(days=1)
        if period == ReportPeriod.WEEK:
            return start - timedelta(days=7)
        last_of_previous = start - timedelta(days=1)
    except OverflowError:
        return None
    return last_of_previous.replace(day=1)


def last_complete_start(period: str, today: date | None = None) -> date:
    """The start of the latest period that has ended before `today` (default: today in
    TIME_ZONE): yesterday, last week's Monday, or the 1st of last month."""
    period = check_period(period)
    today = today or timezone.localdate()
    if period == ReportPeriod.DAY:
        return today - timedelta(days=1)
    if period == ReportPeriod.WEEK:
        return today - timedelta(days=today.weekday() + 7)
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in TIME_ZONE, in UTC (as the database compares): 23
    or 25 hours apart on the days clocks change."""
    try:
        start = timezone.make_aware(datetime.combine(day, time())).astimezone(UTC)
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time())).astimezone(UTC)
    except (OverflowError, ValueError):
        message = f"{day} cannot be rolled up: it is at the edge of the calendar"
        raise QfError(message, field="day") from None
    return start, end


def days_of(first: date, end: date) -> list[date]:
    """The days from `first` up to, not including, `end`."""
    return [first + timedelta(days=n) for n in range((end - first).days)]


def _next_month(start: date) -> date:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
