"""The Redis cache, with one connection pool per process.

Django keeps a cache object per request context (`caches` is an asgiref Local), and
RedisCache keeps its connection pool on that object: under ASGI every request built a
new pool and opened a new Redis connection, then dropped it (issue 8's profile: a fifth
of a worker's time). Here every object of the same configuration shares one client.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._identity = (tuple(self._servers), repr(sorted(self._options.items())))

    @property
    def _cache(self) -> RedisCacheClient:  # RedisCache's is a cached_property per object
        client = _clients.get(self._identity)
        if client is None:
            with _lock:
                client = _clients.setdefault(self._identity, self._class(self._servers, **self._options))
        return client
