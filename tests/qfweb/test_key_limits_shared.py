"""A key's request limit holds across processes (RELIABILITY.md required test 25): the
gateway here and a second process on the same Redis share one window, so exactly the limit
gets through between them, and nothing refused reaches a provider."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import AsyncClient

from personas.models import ApiKey
from routing import ratelimit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
LIMIT, HERE, THERE = 10, 25, 25
PACE_S = 0.05


async def test_fifty_requests_in_two_processes_admit_exactly_the_limit(redis_cache, peer_env, gateway, fault):
    # The limit's window is the clock's minute: a run that crossed into the next one would
    # rightly admit the limit twice. Start early in a minute.
    if (left := ratelimit.WINDOW_S - time.time() % ratelimit.WINDOW_S) < 20:
        await asyncio.sleep(left + 0.1)
    await ApiKey.objects.filter(name="writer-app").aupdate(rate_limit_rpm=LIMIT)
    key_id = (await ApiKey.objects.aget(name="writer-app")).pk
    peer = subprocess.Popen(
        [sys.executable, "-m", "tests.routing.cache_peer", "take", f"key:{key_id}", str(LIMIT), str(THERE), str(PACE_S)],
        env=peer_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR,
    )
    client, auth = AsyncClient(), {"Authorization": f"Bearer {gateway.key}"}
    await client.get("/api/personas/writer/resolve", headers=auth)  # warm: URLs, key, snapshot
    assert await sync_to_async(peer.stdout.readline)() == "ready\n"
    peer.stdin.write("go\n")
    peer.stdin.flush()
    # Start once the peer has taken its first: on a loaded machine the peer process can
    # start late enough for this side to take the whole limit first.
    assert await sync_to_async(peer.stdout.readline)() == "first\n"

    async def request(i: int):
        await asyncio.sleep(i * PACE_S)  # paced like the peer's, so the two interleave
        return await client.post("/api/personas/writer/generate", {"prompt": "hi"}, content_type="application/json", headers=auth)

    responses = await asyncio.gather(*(request(i) for i in range(HERE)))
    out, _ = await sync_to_async(peer.communicate)(timeout=60)
    admitted_there = json.loads(out)
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert served and admitted_there  # both processes took part
    assert len(served) + admitted_there == LIMIT
    assert {r.status_code for r in refused} <= {429}
    assert all(1 <= int(r["Retry-After"]) <= 60 for r in refused)
    assert all(r.json()["error"]["code"] == "rate_limited" for r in refused)
    assert len(fault.requests) == len(served)  # a refused request calls nobody
