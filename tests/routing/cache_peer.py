"""A second qfweb process for the shared-state tests: `python -m tests.routing.cache_peer
ACTION ARGS...` prints one JSON answer. It reads the breaker and the rate limits through
the same code as the engine, on the Redis its environment names."""

from __future__ import annotations

import json
import sys
import time

import django


def main(action: str, *args: str) -> object:
    django.setup()
    from routing import circuit, ratelimit

    if action == "admit":  # scope name [wait_until]: probe or not, once the time comes
        scope, name, *when = args
        if when:
            time.sleep(max(float(when[0]) - time.time(), 0))
        admission = circuit.admit([circuit.Target(scope, name)], request_id=f"peer-{time.time_ns()}", probe_ttl=30)
        return admission.state.value
    if action == "fail":  # scope name times
        scope, name, times = args
        target = circuit.Target(scope, name)
        return [circuit.record_failure(target, circuit.admit([target], request_id="peer", probe_ttl=5)) for _ in range(int(times))]
    if action == "take":  # name limit count [interval]: how many were admitted
        name, limit, count, *pace = args
        interval = float(pace[0]) if pace else 0.0
        if interval:  # a race with the test: say we are ready, start when it says go
            print("ready", flush=True)
            sys.stdin.readline()
        admitted = 0
        for taken in range(int(count)):
            admitted += ratelimit.take(name, int(limit)) is None
            if interval and taken == 0:
                print("first", flush=True)  # the test starts its side only now
            time.sleep(interval)  # paced like requests, so another process interleaves
        return admitted
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
