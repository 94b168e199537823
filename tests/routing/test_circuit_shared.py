"""Circuit and rate-limit state shared by two processes through the local Redis (R4, R5,
R10; RELIABILITY.md required tests 2, 3 and 25's bucket). The second process is
`tests.routing.cache_peer`, running the same code on the same Redis and key prefix."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.conf import settings

from routing import circuit, ratelimit
from routing.circuit import State, Target

pytestmark = pytest.mark.usefixtures("redis_cache")
MODEL = Target("model", "a:m")


def peer(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.routing.cache_peer", *args], env=env, stdout=subprocess.PIPE, text=True,
        cwd=settings.BASE_DIR,
    )


def answer(process: subprocess.Popen):
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    return json.loads(out)


def admit():
    return circuit.admit([MODEL], request_id="here", probe_ttl=30)


def test_a_circuit_opened_in_one_process_is_skipped_by_the_other(peer_env, redis_cache):
    for _ in range(3):
        until = circuit.record_failure(MODEL, admit())
    assert until is not None
    assert answer(peer(peer_env, "admit", "model", "a:m")) == "open"
    key = f"{redis_cache['prefix']}:1:cb:model:a:m:open"
    assert 0 < redis_cache["client"].ttl(key) <= settings.QF_CB_OPEN_SECONDS * 1.1 + 1


def test_failures_counted_in_two_processes_add_up(peer_env):
    assert answer(peer(peer_env, "fail", "model", "a:m", "2")) == [None, None]
    assert circuit.record_failure(MODEL, admit()) is not None
    assert admit().state is State.OPEN


def test_exactly_one_process_probes_after_the_open_period(peer_env):
    until = circuit.record_failure(MODEL, admit(), open_for=1.0)
    peers = [peer(peer_env, "admit", "model", "a:m", str(until + 0.05)) for _ in range(3)]
    time.sleep(max(until + 0.05 - time.time(), 0))
    states = [admit().state.value] + [answer(p) for p in peers]
    assert states.count("probe") == 1, states
    assert states.count("open") == 3


def test_a_request_rate_is_shared_by_two_processes(peer_env):
    # Both processes must count in the same one-minute window.
    left = ratelimit.WINDOW_S - time.time() % ratelimit.WINDOW_S
    if left < 5:
        time.sleep(left)
    other = peer(peer_env, "take", "key:7", "10", "25")
    here = sum(ratelimit.take("key:7", 10) is None for _ in range(25))
    assert here + answer(other) == 10
    assert ratelimit.take("key:7", 10) > 0  # refused, with the seconds to wait
