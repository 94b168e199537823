"""Database work called from the event loop, in a thread, with its connections handed back.

sync_to_async runs it in the request's thread, and the connection that thread takes from
the pool stays with it until the request ends. A generation request then awaits its usage
rows, which another thread writes (routing.recording) with a connection of its own: with a
few such requests at once, each holding one, the pool ran dry and every write waited for
the pool's 30 s timeout (bench/gateway.py at 32 clients). So each call here returns its
connections to the pool when it is done (inside a transaction, as in tests, it keeps them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T")


async def run_sync(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return await sync_to_async(_releasing)(function, args, kwargs)


def _releasing(function: Callable[..., T], args: tuple, kwargs: dict) -> T:
    try:
        return function(*args, **kwargs)
    finally:
        release_connections()


def release_connections() -> None:
    """Hand this thread's database connections back (close them, without a pool)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
