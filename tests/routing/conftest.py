from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings

REDIS_HOST = "127.0.0.1:6379"


@pytest.fixture
def redis_cache():
    """The Django cache on the local Redis, under a key prefix of this test's own, and the
    environment another process needs to share it. Databases 8+ keep clear of the data a
    developer may have in 0..7; one per xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = 8 + int(worker[2:]) % 8
    url = f"redis://{REDIS_HOST}/{db}"
    prefix = f"qft-{uuid.uuid4().hex[:8]}"
    settings = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    client = redis.Redis.from_url(url)
    with override_settings(CACHES=settings):
        yield {"url": url, "prefix": prefix, "client": client}
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    cache.close()


@pytest.fixture
def peer_env(redis_cache):
    """Environment for a second qfweb process sharing `redis_cache`."""
    env = dict(os.environ)
    env.update(
        QF_ENV="dev", REDIS_URL=redis_cache["url"], QF_CACHE_PREFIX=redis_cache["prefix"],
        DJANGO_SETTINGS_MODULE="tests.settings",
    )
    return env
