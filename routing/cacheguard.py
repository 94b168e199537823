"""Breaker and rate-limit state is an optimisation of availability, not a gate: when the
shared cache cannot be reached, requests go on as if every target were closed and every
bucket had room, rather than failing with the cache (RELIABILITY.md R4)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger("qfweb.routing")
F = TypeVar("F", bound=Callable[..., Any])


def fail_open(default: Callable[..., Any]) -> Callable[[F], F]:
    """On any error of the cache, log it and return `default(*args, **kwargs)`."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as exc:  # Redis down, timed out, or evicted mid-operation
                logger.warning("%s failed open: %s: %s", function.__name__, type(exc).__name__, exc)
                return default(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap


def afail_open(default: Callable[..., Any]) -> Callable[[F], F]:
    """fail_open for coroutine functions."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await function(*args, **kwargs)
            except Exception as exc:  # as fail_open
                logger.warning("%s failed open: %s: %s", function.__name__, type(exc).__name__, exc)
                return default(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap
