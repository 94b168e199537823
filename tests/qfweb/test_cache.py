"""qfweb.cache.SharedRedisCache: one Redis client, and so one connection pool, per
configuration and process, however many cache objects Django makes (issue 8)."""

from __future__ import annotations

import contextvars

import pytest
from django.core.cache import caches
from redis import ConnectionPool

from qfweb.cache import SharedRedisCache


def shared(redis_cache: dict, **options: object) -> dict:
    return {"KEY_PREFIX": redis_cache["prefix"], "OPTIONS": options}


def test_two_caches_of_one_configuration_share_one_client(redis_cache):
    first = SharedRedisCache(redis_cache["url"], shared(redis_cache))
    second = SharedRedisCache(redis_cache["url"], shared(redis_cache))
    assert first is not second and first._cache is second._cache
    first.set("greeting", "hello")
    assert second.get("greeting") == "hello"


def test_caches_of_other_options_or_servers_keep_their_own_client(redis_cache):
    plain = SharedRedisCache(redis_cache["url"], shared(redis_cache))
    patient = SharedRedisCache(redis_cache["url"], shared(redis_cache, socket_timeout=5))
    elsewhere = SharedRedisCache(redis_cache["url"][:-1] + "15", shared(redis_cache))
    assert len({id(plain._cache), id(patient._cache), id(elsewhere._cache)}) == 3


@pytest.fixture
def connections_made(monkeypatch) -> list[ConnectionPool]:
    """The pool of each Redis connection opened from now on."""
    made: list[ConnectionPool] = []
    make = ConnectionPool.make_connection

    def recorded(pool: ConnectionPool):
        made.append(pool)
        return make(pool)

    monkeypatch.setattr(ConnectionPool, "make_connection", recorded)
    return made


def test_requests_do_not_open_redis_connections_of_their_own(redis_cache, settings, connections_made):
    backend = {"BACKEND": "qfweb.cache.SharedRedisCache", "LOCATION": redis_cache["url"]}
    settings.CACHES = {"default": backend | shared(redis_cache)}

    def one_request(n: int) -> object:
        # Django's `caches` is per context: each request context gets a cache object of its own.
        cache = caches["default"]
        cache.set(f"request:{n}", n)
        assert cache.get(f"request:{n}") == n
        return cache

    objects = [contextvars.Context().run(one_request, n) for n in range(20)]
    assert len({id(cache) for cache in objects}) == 20
    assert len(connections_made) <= 1  # none when an earlier test of this process opened it


async def test_the_loop_reads_what_the_sync_client_wrote(redis_cache):
    from django.core.cache import cache

    from qfweb.cache import aget_many

    cache.set_many({"count": 3, "until": 1.5, "pair": ("a", None)})
    found = await aget_many(["count", "until", "pair", "missing"])
    assert found == cache.get_many(["count", "until", "pair", "missing"]) == {
        "count": 3, "until": 1.5, "pair": ("a", None),
    }


async def test_the_engine_admits_without_blocking_and_fails_open_when_redis_is_gone(settings):
    from routing.circuit import State, Target, aadmit

    settings.CACHES = {"default": {
        "BACKEND": "qfweb.cache.SharedRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }}
    admission = await aadmit([Target("provider", "p")], request_id="r", probe_ttl=1)
    assert admission.state is State.CLOSED
