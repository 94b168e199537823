"""Model listings, read by probes: the names in a listing reply, and the walk through a
paged one. A reply that holds no list of models is a bad_response; a listing a probe cannot
read to its end gives no names (None), since an incomplete one would report configured
models as missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from routing.providers.base import Secrets
from routing.providers.failures import bad_response
from routing.providers.wire import opt

MAX_PAGES = 10  # a probe stays a cheap call; a longer catalogue is not compared
PAGE_SIZE = 1000  # the largest page Anthropic and Gemini serve

# One page: its names, whether more follow, and the cursor that asks for the next.
Page = tuple[list[str], bool, str | None]


def names(items: Any, field: str, secret: Secrets = "") -> list[str]:
    """The string `field` of every item of a listing's list of models."""
    if not isinstance(items, list):
        raise bad_response("listing reply has no list of models", secret)
    values = (opt(item, field) for item in items)
    return [value for value in values if isinstance(value, str) and value]


async def paged(page: Callable[[str | None], Awaitable[Page]]) -> frozenset[str] | None:
    """Every name of a paged listing, following cursors from `page(None)` on, or None
    when it does not end within MAX_PAGES or its cursor does not move."""
    found: list[str] = []
    cursor = None
    for _ in range(MAX_PAGES):
        names_here, more, following = await page(cursor)
        found += names_here
        if not more:
            return frozenset(found)
        if not following or following == cursor:
            return None
        cursor = following
    return None
