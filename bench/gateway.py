"""What qfweb adds to a call: latency, time to first byte, throughput, CPU and memory.

    .venv/bin/python bench/gateway.py [--requests 1000] [--concurrent-requests 6000] [--repeat 3]

Starts, on 127.0.0.1: the instant mock upstream (bench/mock_upstream.py), qfweb under
uvicorn with two workers on PostgreSQL (DATABASE_URL, default the `qf_bench` database,
created if missing and emptied) and Redis (REDIS_URL, default database 5), and drives it
from this process with an aiohttp load generator, each client on a keep-alive connection.

In the same run it measures the direct call to the mock and the same calls through qfweb
(`/v1/chat/completions` with `persona:bench`, and `/api/personas/bench/generate`), whole
and streamed, with 1 and 32 concurrent clients, and prints for each: latency p50/p99 and
what qfweb adds to the direct call's, time to first byte (streams), requests per second,
the CPU the gateway's workers spent per request, their RSS, and Generation rows written
against requests sent. Each case runs `--repeat` times and the middle run is shown (rows
and requests count every run). Then the failover cases: the persona's primary refused (closed
port) or stalled (never answers, 1 s timeout), before and after its circuit opens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

from harness import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    MESSAGES,
    Sample,
    Target,
    generation_rows,
    median,
    percentile,
    reset_circuits,
    run_load,
    stack,
    wait_for_rows,
)

TARGETS = {
    "p50 added at 1 client (ms)": 3.0,
    "TTFB added at 1 client (ms)": 3.0,
    "gateway CPU per request (ms)": 2.5,
    "requests/s at 32 clients": 700,
    "refused primary, added (ms)": 5.0,
    "circuit open, added (ms)": 0.0,
}


def targets(gateway_url: str, upstream: str, key: str) -> dict[str, list[Target]]:
    auth = {"Authorization": f"Bearer {key}"}
    direct = {"model": "bench", "messages": MESSAGES}
    v1 = {"model": "persona:bench", "messages": MESSAGES}
    api = {"messages": MESSAGES}
    return {
        "direct": [
            Target("direct", f"{upstream}/v1/chat/completions", direct),
            Target("direct stream", f"{upstream}/v1/chat/completions", {**direct, "stream": True}, stream=True),
        ],
        "/v1/chat/completions": [
            Target("/v1", f"{gateway_url}/v1/chat/completions", v1, auth),
            Target("/v1 stream", f"{gateway_url}/v1/chat/completions", {**v1, "stream": True}, auth, stream=True),
        ],
        "/api/personas/bench/generate": [
            Target("/api", f"{gateway_url}/api/personas/bench/generate", api, auth),
            Target("/api stream", f"{gateway_url}/api/personas/bench/generate", {**api, "stream": True}, auth, stream=True),
        ],
    }


def measure(target: Target, clients: int, requests: int, gateway) -> tuple[Sample, float, int]:
    """One case: its sample, the gateway's CPU ms per request, and the rows it wrote."""
    rows_before = generation_rows()
    cpu_before = gateway.cpu_seconds()
    sample = asyncio.run(run_load(target, clients=clients, requests=requests))
    cpu = gateway.cpu_seconds() - cpu_before
    sent = sample.done + sum(sample.errors.values())
    rows = wait_for_rows(rows_before + sent, generation_rows) - rows_before
    return sample, cpu * 1000 / max(sent, 1), rows


def machine() -> str:
    with open("/proc/cpuinfo") as info:
        model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    return (f"{model or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per case at 1 client")
    parser.add_argument("--concurrent-requests", type=int, default=6000, help="per case at 32 clients")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each case; the median one (by p50, or by req/s at 32 clients) is shown")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    print(f"machine: {machine()}")
    with stack(database_url, redis_url, workers=args.workers) as (_, gateway, store, upstream):
        print(f"qfweb: uvicorn, {len(gateway.workers)} workers; PostgreSQL {database_url.rpartition('@')[2]}; "
              f"Redis {redis_url.rpartition('@')[2]}")
        cases = targets(gateway.url, upstream, store.key)
        for group in cases.values():  # warm every process, pool and cache
            for target in group:
                asyncio.run(run_load(target, clients=32, requests=args.warmup))
        figures: dict[str, list[float]] = {name: [] for name in TARGETS}
        baseline: dict[tuple[int, int], Sample] = {}
        print()
        print(f"{'case':<22}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'+p50':>9}{'+p99':>9}"
              f"{'TTFB':>9}{'+TTFB':>9}{'req/s':>9}{'CPU ms':>8}{'rows/sent':>14}{'errors':>8}")
        for clients, requests in ((1, args.requests), (32, args.concurrent_requests)):
            for group, members in cases.items():
                for index, target in enumerate(members):
                    runs = [measure(target, clients, requests, gateway) for _ in range(args.repeat)]
                    sample, cpu_ms, _ = median_run(runs, clients)
                    rows = sum(run[2] for run in runs)
                    sent = sum(run[0].done + sum(run[0].errors.values()) for run in runs)
                    if group == "direct":
                        baseline[(index, clients)] = sample
                    report(target, clients, sample, baseline[(index, clients)], cpu_ms, (rows, sent),
                           figures if group != "direct" else None)
        print(f"\nRSS per worker (MiB): {', '.join(f'{r:.0f}' for r in gateway.rss_mib())}")
        for name, value in failover(gateway, cases["/v1/chat/completions"][0], args.requests).items():
            figures[name].append(value)
        print("\nagainst the targets (the worse of /v1 and /api):")
        for name, target in TARGETS.items():
            at_least = name.startswith("requests")
            value = (min if at_least else max)(figures[name], default=float("nan"))
            met = value >= target if at_least else value <= target
            print(f"  {name:<34}{value:>10.2f}   target {'>=' if at_least else '<='} {target:<8}"
                  f"{'met' if met else 'MISSED'}")


def median_run(runs: list[tuple[Sample, float, int]], clients: int) -> tuple[Sample, float, int]:
    """The middle run: by p50 latency with one client, by throughput with many (the
    machine is shared, and one run can land on someone else's busy second)."""
    def figure(run: tuple[Sample, float, int]) -> float:
        sample = run[0]
        return sample.done / sample.wall if clients > 1 else percentile(sample.latency, 50)

    return sorted(runs, key=figure)[len(runs) // 2]


def report(target: Target, clients: int, sample: Sample, base: Sample, cpu_ms: float, written: tuple[int, int],
           figures: dict[str, list[float]] | None) -> None:
    """Print one case's row; a gateway case (`figures` given) also files its figures."""
    rows, sent = written  # over every run of the case
    p50, p99 = percentile(sample.latency, 50), percentile(sample.latency, 99)
    added50, added99 = p50 - percentile(base.latency, 50), p99 - percentile(base.latency, 99)
    ttfb = median(sample.ttfb)
    added_ttfb = ttfb - median(base.ttfb)
    rate = sample.done / sample.wall
    through = figures is not None
    print(f"{target.name:<22}{clients:>8}{ms(p50):>10}{ms(p99):>10}"
          f"{ms(added50) if through else '':>9}{ms(added99) if through else '':>9}"
          f"{ms(ttfb) if target.stream else '':>9}{ms(added_ttfb) if target.stream and through else '':>9}"
          f"{rate:>9.0f}{cpu_ms if through else 0:>8.2f}{f'{rows}/{sent}' if through else '':>14}"
          f"{sum(sample.errors.values()):>8}")
    if sample.errors:
        print(f"    errors: {sample.errors}")
    if not through:
        return
    if clients == 1 and not target.stream:
        figures["p50 added at 1 client (ms)"].append(added50 * 1000)
        figures["gateway CPU per request (ms)"].append(cpu_ms)
    elif clients == 1:
        figures["TTFB added at 1 client (ms)"].append(added_ttfb * 1000)
    elif not target.stream:
        figures["requests/s at 32 clients"].append(rate)


def failover(gateway, healthy: Target, requests: int) -> dict[str, float]:
    """The cost of a fallback: the persona's primary refused or stalled, each request
    starting with its circuit closed; then with the circuit open."""
    print("\nfailover (/v1/chat/completions, 1 client):")
    base = asyncio.run(run_load(healthy, clients=1, requests=requests))
    healthy_p50 = percentile(base.latency, 50)
    print(f"  {'healthy primary':<40} p50 {ms(healthy_p50)} ms")
    figures = {}
    for slug, label, count in (("refused", "refused primary", min(requests, 300)), ("stalled", "stalled primary (1 s timeout)", 5)):
        target = Target(slug, healthy.url, {**healthy.body, "model": f"persona:{slug}"}, healthy.headers)
        before = Sample()
        for _ in range(count):
            reset_circuits()
            one = asyncio.run(run_load(target, clients=1, requests=1))
            before.latency += one.latency
            for kind, n in one.errors.items():
                before.errors[kind] = before.errors.get(kind, 0) + n
        added = percentile(before.latency, 50) - healthy_p50
        print(f"  {label + ', circuit closed':<40} p50 {ms(percentile(before.latency, 50))} ms, added {ms(added)} ms"
              f" ({count} requests{', errors ' + str(before.errors) if before.errors else ''})")
        asyncio.run(run_load(target, clients=1, requests=5))  # trips the breaker
        after = asyncio.run(run_load(target, clients=1, requests=requests))
        added_open = percentile(after.latency, 50) - healthy_p50
        print(f"  {label + ', circuit open':<40} p50 {ms(percentile(after.latency, 50))} ms, added {ms(added_open)} ms"
              f" ({after.done} requests{', errors ' + str(after.errors) if after.errors else ''})")
        if slug == "refused":
            figures["refused primary, added (ms)"] = added * 1000
            figures["circuit open, added (ms)"] = added_open * 1000
    reset_circuits()
    return figures


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\n({time.monotonic() - started:.0f} s)")
