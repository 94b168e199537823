"""Request-rate limits per model, provider and API key, shared through the Django cache
(RELIABILITY.md R10).

A fixed one-minute window counted with `add` then `incr`: atomic on Redis, so N processes
admit exactly `limit` requests a minute between them. A spent model is skipped by the
engine, never waited on; a spent key is refused with the seconds until the window ends.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from routing.cacheguard import fail_open

WINDOW_S = 60


@fail_open(lambda *_, **__: None)
def take(name: str, limit_per_minute: int | None) -> float | None:
    """Count one request against `name`. None when admitted (or unlimited), else the
    seconds until the next window."""
    if not limit_per_minute:
        return None
    now = time.time()
    window = int(now // WINDOW_S)
    key = f"rl:{name}:{window}"
    cache.add(key, 0, timeout=2 * WINDOW_S)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between the two calls: count this request as the first
        cache.add(key, 1, timeout=2 * WINDOW_S)
        count = 1
    if count <= limit_per_minute:
        return None
    return (window + 1) * WINDOW_S - now
