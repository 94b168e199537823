"""The Redis cache, with one connection pool and one client per process.

Django keeps a cache object per request context (`caches` is an asgiref Local), and
RedisCache keeps its connection pool on that object: under ASGI every request built a
new pool and opened a new Redis connection, then dropped it (issue 8's profile: a fifth
of a worker's time). Here every object of the same configuration shares one client, and
that client makes its `redis.Redis` once per pool, not once per operation (redis-py's
constructor was another 6 % of a worker's time). Both are thread-safe.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import redis.asyncio
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[int, object] = {}

    def get_client(self, key: object = None, *, write: bool = False) -> object:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            client = self._redis.setdefault(index, self._client(connection_pool=self._get_connection_pool(write)))
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
        self._identity = (tuple(self._servers), repr(sorted(self._options.items())))

    @property
    def _cache(self) -> RedisCacheClient:  # RedisCache's is a cached_property per object
        client = _clients.get(self._identity)
        if client is None:
            with _lock:
                client = _clients.setdefault(self._identity, self._class(self._servers, **self._options))
        return client


# ---- reads that do not block the event loop ------------------------------------------------

# An asyncio client belongs to the loop that made it: one per loop and configuration.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, redis.asyncio.Redis]] = (
    weakref.WeakKeyDictionary()
)


async def aget_many(keys: list[str]) -> dict[str, Any]:
    """`cache.get_many(keys)` for the event loop. The sync Redis client blocks the loop for
    the round trip, and a worker at full load spent a fifth of its time so (issue 8); this
    loop's asyncio client does not. Raises what the client raises (callers fail open).
    Another backend (local memory, no I/O) is read as it is."""
    backend = caches["default"]
    if not isinstance(backend, SharedRedisCache):
        return backend.get_many(keys)
    names = {backend.make_and_validate_key(key): key for key in keys}
    values = await _async_client(backend).mget(list(names))
    loads = backend._cache._serializer.loads
    return {names[name]: loads(value) for name, value in zip(names, values) if value is not None}


def _async_client(backend: SharedRedisCache) -> redis.asyncio.Redis:
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(backend._identity)
    if client is None:
        client = clients[backend._identity] = redis.asyncio.Redis.from_url(backend._servers[0], **backend._options)
    return client
