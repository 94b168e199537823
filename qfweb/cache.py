"""The Redis cache, with one connection pool and one client per process.

Django keeps a cache object per request context (`caches` is an asgiref Local), and
RedisCache keeps its connection pool on that object: under ASGI every request built a
new pool and opened a new Redis connection, then dropped it (issue 8's profile: a fifth
of a worker's time). Here every object of the same configuration shares one client, and
that client makes its `redis.Redis` once per pool, not once per operation (redis-py's
constructor was another 6 % of a worker's time). Both are thread-safe.
"""

from __future__ import annotations

import threading

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
