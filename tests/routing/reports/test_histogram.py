"""routing.reports.histogram: fixed buckets, and percentiles read back from bucket counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from routing.reports.histogram import (
    BOUNDS,
    BUCKETS,
    bucket_of,
    bucket_range,
    column,
    columns,
    counts_of,
    percentile,
)
from routing.usage import percentile as exact_percentile

EDGES = sorted({v for b in BOUNDS for v in (b - 1, b, b + 1)} | {0})
values = st.lists(st.integers(0, 400_000) | st.sampled_from(EDGES), min_size=1, max_size=300)


def test_the_buckets_run_from_10_ms_to_120_s_on_a_log_scale():
    assert BOUNDS[0] == 10 and BOUNDS[-1] == 120_000 and BUCKETS == len(BOUNDS) + 1
    ratios = [high / low for low, high in zip(BOUNDS, BOUNDS[1:])]
    assert all(1.19 < r <= 1.67 for r in ratios), ratios


def test_a_value_falls_in_the_bucket_whose_range_holds_it():
    for value in EDGES:
        low, high = bucket_range(bucket_of(value))
        assert low <= value and (high is None or value < high)
    assert bucket_of(0) == 0 and bucket_of(9) == 0 and bucket_of(10) == 1
    assert bucket_of(119_999) == BUCKETS - 2
    assert bucket_of(120_000) == bucket_of(10**9) == BUCKETS - 1


def test_columns_are_named_by_histogram_and_bucket():
    assert column("latency", 7) == "latency_b07"
    assert columns("ttft") == [f"ttft_b{i:02d}" for i in range(BUCKETS)]


def test_an_empty_histogram_has_no_percentile():
    assert percentile([0] * BUCKETS, 50) is None


@given(values, st.sampled_from([1, 50, 90, 95, 99, 100]))
def test_a_percentile_lies_in_the_bucket_of_the_true_one(sample, p):
    estimate = percentile(counts_of(sample), p)
    assert bucket_of(estimate) == bucket_of(exact_percentile(sample, p))


@given(values, values)
def test_merging_histograms_is_adding_their_counts(a, b):
    merged = [x + y for x, y in zip(counts_of(a), counts_of(b))]
    assert merged == counts_of(a + b)
    assert sum(merged) == len(a) + len(b)


def test_values_past_the_last_bound_read_as_at_least_120_s():
    assert percentile(counts_of([200_000, 300_000]), 50) == 120_000
