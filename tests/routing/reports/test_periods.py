"""routing.reports.periods: days, weeks from Monday, months from the 1st, in TIME_ZONE."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from qfweb.errors import QfError
from routing.reports.periods import (
    day_bounds,
    days_of,
    last_complete_start,
    period_end,
    previous_start,
)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("day", date(2025, 5, 31), date(2025, 6, 1)),
        ("week", date(2025, 5, 26), date(2025, 6, 2)),  # a Monday
        ("month", date(2025, 2, 1), date(2025, 3, 1)),
        ("month", date(2024, 2, 1), date(2024, 3, 1)),
        ("month", date(2025, 12, 1), date(2026, 1, 1)),
    ],
)
def test_a_period_ends_the_day_after_its_last(period, start, end):
    assert period_end(period, start) == end


@pytest.mark.parametrize(
    ("period", "start", "field", "words"),
    [
        ("week", date(2025, 5, 27), "start", "Monday"),
        ("month", date(2025, 5, 2), "start", "1st"),
        ("year", date(2025, 1, 1), "period", "day, week, month"),
        ("day", date.max, "start", "too late"),
        ("month", date(9999, 12, 1), "start", "too late"),
    ],
)
def test_a_bad_period_or_start_is_refused_naming_it(period, start, field, words):
    with pytest.raises(QfError) as caught:
        period_end(period, start)
    assert caught.value.field == field and words in caught.value.message


@pytest.mark.parametrize(
    ("period", "start", "before"),
    [
        ("day", date(2025, 3, 1), date(2025, 2, 28)),
        ("week", date(2025, 5, 26), date(2025, 5, 19)),
        ("month", date(2025, 1, 1), date(2024, 12, 1)),
        ("month", date(2025, 3, 1), date(2025, 2, 1)),
        ("day", date.min, None),
        ("month", date.min, None),
    ],
)
def test_the_previous_period_starts_one_period_earlier(period, start, before):
    assert previous_start(period, start) == before


@pytest.mark.parametrize(
    ("period", "start"),
    [("day", date(2025, 6, 3)), ("week", date(2025, 5, 26)), ("month", date(2025, 5, 1))],
)
def test_the_last_complete_period_ended_before_today(period, start):
    today = date(2025, 6, 4)  # a Wednesday
    assert last_complete_start(period, today) == start
    assert period_end(period, start) <= today


def test_a_day_is_counted_in_time_zone_with_23_or_25_hours_when_clocks_change(settings):
    settings.TIME_ZONE = "America/New_York"
    start, end = day_bounds(date(2025, 3, 9))  # clocks go forward
    assert start == datetime(2025, 3, 9, 5, tzinfo=UTC) and end - start == timedelta(hours=23)
    start, end = day_bounds(date(2025, 11, 2))  # and back
    assert end - start == timedelta(hours=25)


def test_a_day_at_the_edge_of_the_calendar_cannot_be_rolled_up(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    with pytest.raises(QfError) as caught:
        day_bounds(date.min)
    assert caught.value.field == "day"


def test_days_of_counts_up_to_the_end():
    assert days_of(date(2025, 2, 27), date(2025, 3, 2)) == [
        date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1)
    ]
