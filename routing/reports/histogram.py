"""Fixed-bucket histograms of milliseconds: how rollups keep latency and time to first token
so that percentiles can be read from any merge of days and groups (RELIABILITY.md required
test 33: percentiles come from merged histograms, never from averages of averages).

Bucket i counts values in [BOUNDS[i-1], BOUNDS[i]) (from 0 for the first, without end for
the last): log-spaced bounds, 1-1.5-2-3-5-7 per decade, from 10 ms to 120 s. Rollup rows
store one column per bucket (`latency_b00` ... `ttft_b26`), so merging is a SQL `SUM`.
The bounds are part of the stored data: changing them means re-rolling every day (and a
different number of buckets means a migration, which makemigrations will ask for).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

BOUNDS: tuple[int, ...] = (
    10, 15, 20, 30, 50, 70,
    100, 150, 200, 300, 500, 700,
    1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
    10_000, 15_000, 20_000, 30_000, 50_000, 70_000,
    100_000, 120_000,
)
BUCKETS = len(BOUNDS) + 1
LATENCY, TTFT = "latency", "ttft"  # the two histograms of a rollup row


def column(histogram: str, bucket: int) -> str:
    """The rollup column holding bucket `bucket` of `histogram`: `latency_b07`."""
    return f"{histogram}_b{bucket:02d}"


def columns(histogram: str) -> list[str]:
    return [column(histogram, i) for i in range(BUCKETS)]


def bucket_range(bucket: int) -> tuple[int, int | None]:
    """[low, high) of a bucket; high is None for the last (everything from 120 s on)."""
    low = 0 if bucket == 0 else BOUNDS[bucket - 1]
    high = BOUNDS[bucket] if bucket < len(BOUNDS) else None
    return low, high


def bucket_of(value: int) -> int:
    return bisect_right(BOUNDS, value)


def counts_of(values: Sequence[int]) -> list[int]:
    """The histogram of `values` (used by tests and to check the SQL)."""
    counts = [0] * BUCKETS
    for value in values:
        counts[bucket_of(value)] += 1
    return counts


def percentile(counts: Sequence[int], p: float) -> int | None:
    """The p-th percentile (nearest rank, as routing.usage.percentile) estimated from bucket
    counts: the rank is found exactly, then placed evenly inside its bucket, so the estimate
    always lies in the bucket of the true value. None when the histogram is empty."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for bucket, count in enumerate(counts):
        if seen + count >= rank:
            low, high = bucket_range(bucket)
            if high is None:  # no upper edge to spread over: say "at least"
                return low
            return math.floor(low + (high - low) * (rank - seen - 0.5) / count)
        seen += count
    raise AssertionError("unreachable: the ranks add up to the total")
