"""Load and soak: many concurrent clients against qfweb for a while, with injected faults
and disconnects, and the proof that nothing was lost (issue 8, item 4).

    cd bench && ../.venv/bin/python soak.py [--clients 200] [--seconds 60] [--warmup 10]

Starts, on 127.0.0.1 only: the rig of bench/harness.py (its own PostgreSQL database
`qf_soak` and Redis database 6, emptied; the instant mock upstream; qfweb under uvicorn
with two workers, its log to a file) and the tests' fault server (tests/fault) in a
process of its own. Each client sends one request after the other, drawn from a mix:

- persona `bench` on the mock, through /v1/chat/completions and
  /api/personas/bench/generate, whole and streamed: every one must succeed;
- persona `faulty`, whose primary on the fault server fails a quarter of its calls (503,
  429, a stall past its 1 s timeout, a TCP reset, a malformed, truncated or HTML body, a
  stream cut after its first piece) and falls back to the mock: must succeed, except a
  stream cut after its commit, which ends with an error event (injected);
- persona `faulty-alone`: the same faults and no fallback, so a failure is the documented
  502 / 503 / 504 or, after the commit, the error event (injected);
- clients that drop a dripping stream after its first chunk, and clients that drop a
  whole request as soon as the fault server reports its upstream call (disconnects).

Anything else is unexpected: a refused or broken connection to qfweb, a 500, a status or
body the API does not document, a malformed stream, a row whose status disagrees with
what the client saw. Afterwards the Generation rows are matched to the requests by
request id (X-Request-ID); the requests dropped before any reply have none, and are
counted (each surely reached qfweb: its upstream call had). The breaker trips after 5
failures and opens for 1 to 2 s, so that the faulty models keep cycling through closed,
open and half-open during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import re
import resource
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop
from faults import FIXED, Arrivals, Faults, fault_server, seed_faults
from harness import Gateway, live_workers, percentile, stack, wait_for_rows

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/qf_soak"
REDIS_URL = "redis://127.0.0.1:6379/6"  # gateway.py uses 5, the tests 8+
GATEWAY_ENV = {"QF_CB_FAILURES": "5", "QF_CB_OPEN_SECONDS": "1", "QF_CB_MAX_OPEN_SECONDS": "2"}
REQUEST_TIMEOUT_S = 30
SAMPLE_EVERY_S = 5
SETTLE_S = 2  # once the expected rows are in: time for any beyond them to show
LOGGED = re.compile(r"^(Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|[\w.]+(Error|Timeout|Exception)\b)")
# The documented failures of a chain with no model left (routing.engine.GenerationFailed).
CHAIN_FAILURES = {502: "upstream_failed", 503: "circuit_open", 504: "deadline_exceeded"}
ROW_OK = {"ok", "ok_after_fallback"}
TARGETS = {"unexpected errors": 0, "rows - requests": 0, "RSS growth, worst worker (%)": 10}


# ---- the mix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    persona: str
    api: str  # "/v1" or "/api"
    stream: bool
    weight: int
    ending: str = "read"  # or "drop after the first chunk", "drop before the reply"
    may_fail: bool = False  # no fallback: the documented 5xx is injected
    may_break: bool = False  # a stream cut after its commit ends with an error event

    @property
    def name(self) -> str:
        how = ("stream" if self.stream else "whole") if self.ending == "read" else self.ending
        return f"{self.persona} {self.api} {how}"


def mix() -> tuple[Kind, ...]:
    kinds = []
    for api in ("/v1", "/api"):
        for is_stream in (False, True):
            kinds += [
                Kind("bench", api, is_stream, 12),
                Kind("faulty", api, is_stream, 5, may_break=is_stream),
                Kind("faulty-alone", api, is_stream, 3, may_fail=True, may_break=is_stream),
            ]
        kinds += [
            Kind("drip", api, True, 5, ending="drop after the first chunk"),
            Kind("slow", api, False, 5, ending="drop before the reply"),
        ]
    return tuple(kinds)


def request_of(kind: Kind, gateway_url: str, marker: int) -> tuple[str, dict]:
    messages = [{"role": "user", "content": f"Say hello. #{marker}"}]
    if kind.api == "/v1":
        body = {"model": f"persona:{kind.persona}", "messages": messages}
        if kind.stream:
            body.update(stream=True, stream_options={"include_usage": True})
        return f"{gateway_url}/v1/chat/completions", body
    return f"{gateway_url}/api/personas/{kind.persona}/generate", {"messages": messages, "stream": kind.stream}


# ---- what a client saw --------------------------------------------------------------------


Seen = tuple[str, str, str | None]  # verdict, detail, request id


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    verdict: str  # ok | injected | disconnect | unexpected
    detail: str
    request_id: str | None  # None: no response head came back
    latency: float


def judge(kind: Kind, status_code: int, body: bytes) -> tuple[str, str]:
    try:
        if status_code != 200:
            code = json.loads(body)["error"]["code"]
            injected = kind.may_fail and CHAIN_FAILURES.get(status_code) == code
            return ("injected" if injected else "unexpected"), f"http {status_code} {code}"
        if kind.stream:
            return judge_stream(kind, body)
        data = json.loads(body)
        text = data["choices"][0]["message"]["content"] if kind.api == "/v1" else data["output"]["text"]
        if text and (kind.api == "/v1" or data["status"] in ROW_OK):
            return "ok", "ok"
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    return "unexpected", f"http {status_code}, malformed {'stream' if kind.stream else 'body'}"


def judge_stream(kind: Kind, body: bytes) -> tuple[str, str]:
    """A whole stream is content events, then `data: [DONE]` (/v1) or a `done` event (/api);
    a broken one ends with one `error` event instead."""
    *content, (event, data) = sse_frames(body.decode())
    if event == "error":
        code = json.loads(data)["error"]["code"]
        injected = (kind.may_break and code == "upstream_stream_error") or (
            kind.may_fail and code in CHAIN_FAILURES.values()
        )
        return ("injected" if injected else "unexpected"), f"error event {code}"
    if kind.api == "/v1":
        chunks = [json.loads(d) for e, d in content if e is None]
        texts = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
        whole = data == "[DONE]" and len(chunks) == len(content)
    else:
        texts = [json.loads(d)["text"] for e, d in content if e == "delta"]
        whole = event == "done" and len(texts) == len(content) and json.loads(data)["status"] in ROW_OK
    return ("ok", "ok") if whole and any(texts) else ("unexpected", "http 200, malformed stream")


def sse_frames(text: str) -> list[tuple[str | None, str]]:
    """(event, data) of each frame, `: ping` comments left out; ValueError if one is bad."""
    frames = []
    for raw in text.split("\n\n"):
        lines = [line for line in raw.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        event = lines[0].removeprefix("event: ") if lines[0].startswith("event: ") else None
        if not lines[-1].startswith("data: ") or len(lines) != 1 + (event is not None):
            raise ValueError(f"bad frame {raw[:80]!r}")
        frames.append((event, lines[-1].removeprefix("data: ")))
    if not frames:
        raise ValueError("empty stream")
    return frames


@dataclass
class Client:
    session: aiohttp.ClientSession
    gateway_url: str
    headers: dict[str, str]
    arrivals: Arrivals

    async def exchange(self, kind: Kind, marker: int) -> Outcome:
        began = time.perf_counter()
        url, body = request_of(kind, self.gateway_url, marker)
        try:
            if kind.ending == "drop before the reply":
                seen = await self.drop_in_flight(url, body, self.arrivals.expect(marker))
            else:
                seen = await self.read(kind, url, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            seen = ("unexpected", type(exc).__name__, None)
        finally:
            self.arrivals.waiting.pop(marker, None)
        return Outcome(kind.name, *seen, time.perf_counter() - began)

    async def read(self, kind: Kind, url: str, body: dict) -> Seen:
        """The whole reply, judged; or, for a drop, its first chunk and no more."""
        async with self.session.post(url, json=body, headers=self.headers) as response:
            request_id = response.headers.get("X-Request-ID")
            if kind.ending == "read":
                return (*judge(kind, response.status, await response.read()), request_id)
            first = await response.content.readany()
            response.close()
        if response.status == 200 and first:
            return "disconnect", "dropped after the first chunk", request_id
        return "unexpected", f"http {response.status}", request_id

    async def drop_in_flight(self, url: str, body: dict, reached: asyncio.Future[None]) -> Seen:
        """Send, and close the connection once the upstream call is known to be in flight."""

        async def post() -> aiohttp.ClientResponse:
            async with self.session.post(url, json=body, headers=self.headers) as response:
                await response.read()
                return response

        call = asyncio.ensure_future(post())
        await asyncio.wait({call, reached}, timeout=REQUEST_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        if call.done():  # a reply came first (or a failure, raised here)
            response = call.result()
            return "unexpected", f"http {response.status} before the drop", response.headers.get("X-Request-ID")
        call.cancel()  # which closes the connection
        await asyncio.gather(call, return_exceptions=True)
        if reached.done():
            return "disconnect", "dropped, its upstream call in flight", None
        return "unexpected", f"no upstream call in {REQUEST_TIMEOUT_S} s", None


# ---- a phase of load ----------------------------------------------------------------------


@dataclass
class Phase:
    outcomes: list[Outcome]
    timeline: list[tuple[float, list[float]]]  # (seconds in, RSS MiB of each worker)
    wall: float
    gateway_cpu_s: float
    client_cpu_s: float


async def load(gateway: Gateway, key: str, faults: Faults, *, clients: int, seconds: float, seed: int) -> Phase:
    kinds = mix()
    weights = [k.weight for k in kinds]
    markers = itertools.count(seed * 10_000_000)
    outcomes: list[Outcome] = []
    timeline: list[tuple[float, list[float]]] = []
    began = time.monotonic()
    deadline = began + seconds

    async def run(client: Client, rng: random.Random) -> None:
        while time.monotonic() < deadline:
            outcomes.append(await client.exchange(rng.choices(kinds, weights)[0], next(markers)))

    async def sample() -> None:
        while True:
            timeline.append((time.monotonic() - began, gateway.rss_mib()))
            await asyncio.sleep(SAMPLE_EVERY_S)

    cpu, own = gateway.cpu_seconds(), _own_cpu_s()
    loop = asyncio.get_running_loop()
    arrivals = Arrivals(faults.arrivals)
    loop.add_reader(faults.arrivals.fileno(), arrivals.read)
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            client = Client(session, gateway.url, {"Authorization": f"Bearer {key}"}, arrivals)
            sampler = asyncio.create_task(sample())
            await asyncio.gather(*(run(client, random.Random(seed * 1000 + i)) for i in range(clients)))
            sampler.cancel()
    finally:
        loop.remove_reader(faults.arrivals.fileno())
    return Phase(outcomes, timeline, time.monotonic() - began, gateway.cpu_seconds() - cpu, _own_cpu_s() - own)


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---- the rows -----------------------------------------------------------------------------


def last_row_id() -> int:
    from routing.models import Generation

    return Generation.objects.order_by("-id").values_list("id", flat=True).first() or 0


def rows_after(row_id: int) -> dict[str, str]:
    """request id (hex) -> status of the rows written after `row_id`."""
    from routing.models import Generation

    rows = Generation.objects.filter(id__gt=row_id).values_list("request_id", "status")
    return {request_id.hex: row_status for request_id, row_status in rows}


def expected_row(outcome: Outcome) -> set[str] | None:
    if outcome.verdict == "ok":
        return ROW_OK
    if outcome.verdict == "disconnect":
        return {"client_disconnected"}
    if outcome.detail == "error event upstream_stream_error":
        return {"failed_mid_stream"}
    if outcome.verdict == "injected":
        return {"failed"}
    return None  # unexpected already


@dataclass
class RowCheck:
    reached: int  # requests qfweb answered (they carry an id) + those dropped in flight
    unknown: int  # client-side errors: whether qfweb saw them is unknown
    rows: int
    missing: Counter  # kind -> answered requests without a row
    disagreeing: Counter  # (kind, client saw, row says) -> count
    unmatched: Counter  # status -> rows matching no answered request


def check_rows(outcomes: list[Outcome], first_row: int) -> RowCheck:
    answered = {uuid.UUID(o.request_id).hex: o for o in outcomes if o.request_id}
    dropped = sum(1 for o in outcomes if o.request_id is None and o.verdict == "disconnect")
    unknown = sum(1 for o in outcomes if o.request_id is None and o.verdict == "unexpected")
    wait_for_rows(len(answered) + dropped, lambda: len(rows_after(first_row)), timeout=15)
    time.sleep(SETTLE_S)
    rows = rows_after(first_row)
    missing, disagreeing = Counter(), Counter()
    for request_id, outcome in answered.items():
        row_status = rows.get(request_id)
        if row_status is None:
            missing[outcome.kind] += 1
        elif (allowed := expected_row(outcome)) is not None and row_status not in allowed:
            disagreeing[(outcome.kind, outcome.detail, row_status)] += 1
    unmatched = Counter(s for request_id, s in rows.items() if request_id not in answered)
    return RowCheck(len(answered) + dropped, unknown, len(rows), missing, disagreeing, unmatched)


# ---- qfweb's log --------------------------------------------------------------------------


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Processes started inside inherit `path` as their stderr (qfweb logs a line for each
    502 it answers), while this one's own is back once the block ends."""
    saved = os.dup(2)
    with path.open("a") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def print_log(path: Path, offset: int) -> None:
    """What qfweb logged since `offset`: Django's line for each 5xx, and the last line of
    each traceback, counted."""
    with path.open() as log:
        log.seek(offset)
        lines = Counter(line.strip()[:150] for line in log if LOGGED.match(line))
    print(f"  qfweb's log ({path}): {sum(lines.values())} lines of note" + (":" if lines else ""))
    for line, count in lines.most_common(8):
        print(f"    {count:>6}  {line}")


# ---- the report ---------------------------------------------------------------------------


def print_phase(title: str, phase: Phase) -> int:
    """Requests and errors by kind; returns the number of unexpected errors."""
    outcomes = phase.outcomes
    print(f"\n{title}: {len(outcomes)} requests in {phase.wall:.1f} s ({len(outcomes) / phase.wall:.0f}/s); "
          f"CPU: gateway workers {phase.gateway_cpu_s:.1f} s, load generator {phase.client_cpu_s:.1f} s")
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    print(f"  {'kind':<40}{'sent':>7}{'ok':>7}{'injected':>10}{'disconn.':>10}{'unexpected':>12}{'p50 ms':>9}{'p99 ms':>9}")
    for kind in [k.name for k in mix()]:
        group = by_kind.get(kind, [])
        verdicts = Counter(o.verdict for o in group)
        latency = [o.latency for o in group if o.verdict == "ok"]
        p50, p99 = (f"{percentile(latency, q) * 1000:.1f}" if latency else "-" for q in (50, 99))
        print(f"  {kind:<40}{len(group):>7}{verdicts['ok']:>7}{verdicts['injected']:>10}{verdicts['disconnect']:>10}"
              f"{verdicts['unexpected']:>12}{p50:>9}{p99:>9}")
    for label, verdicts in (("expected (injected faults, disconnects)", ("injected", "disconnect")), ("UNEXPECTED", ("unexpected",))):
        errors = Counter((o.kind, o.detail) for o in outcomes if o.verdict in verdicts)
        print(f"  errors, {label}: {sum(errors.values())}")
        for (kind, detail), count in sorted(errors.items()):
            print(f"    {kind:<40}{detail:<44}{count:>7}")
    return sum(1 for o in outcomes if o.verdict == "unexpected")


def print_rows(check: RowCheck, faults: dict) -> int:
    """The rows against the requests; returns the calls qfweb left open upstream after
    their client went away (S6), each unexpected."""
    print(f"\n  Generation rows written {check.rows}, requests that reached qfweb {check.reached}"
          f" ({check.rows - check.reached:+d}); client-side errors, reach unknown: {check.unknown}")
    print(f"    answered requests without a row: {sum(check.missing.values())} {dict(check.missing) or ''}")
    print(f"    rows matching no answered request (the drops before a reply): {dict(check.unmatched)}")
    for (kind, saw, row_status), count in sorted(check.disagreeing.items()):
        print(f"    ROW DISAGREES: {kind}, client saw {saw!r}, row says {row_status}: {count}")
    calls, closed = faults["requests"], faults["disconnects"]
    left_open = sum(calls[model] - closed[model] for model in FIXED)
    print(f"  fault server: calls {dict(calls)}; closed by qfweb before the reply's end {dict(closed)}")
    print(f"    drip and slow calls qfweb did not close when its client went away: {left_open}")
    return left_open


def print_rss(phase: Phase, start: list[float], end: list[float]) -> float:
    """RSS of each worker at the start and the end; returns the worst growth in %."""
    growth = [(e - s) / s * 100 for s, e in zip(start, end)]
    print("\n  RSS per worker (MiB): start " + ", ".join(f"{r:.1f}" for r in start)
          + "; end " + ", ".join(f"{r:.1f}" for r in end) + "; growth " + ", ".join(f"{g:+.1f} %" for g in growth))
    print(f"    every {SAMPLE_EVERY_S} s: " + "  ".join("/".join(f"{r:.0f}" for r in rss) for _, rss in phase.timeline))
    return max(growth)


def print_targets(figures: dict[str, float]) -> None:
    print("\nagainst the targets:")
    for name, target in TARGETS.items():
        value = figures[name]
        is_rss = name.startswith("RSS")
        met = value < target if is_rss else value == target
        print(f"  {name:<32}{value:>10.1f}   target {'<' if is_rss else '='} {target:<6}{'met' if met else 'MISSED'}")


# ---- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rig:
    gateway: Gateway
    key: str
    faults: Faults
    log: Path  # qfweb's stderr


def run_phase(title: str, rig: Rig, clients: int, seconds: float, seed: int) -> tuple[Phase, int, int]:
    """Run, print and check one phase; returns it, its unexpected errors, rows - requests."""
    first_row, log_offset = last_row_id(), rig.log.stat().st_size
    phase = uvloop.run(load(rig.gateway, rig.key, rig.faults, clients=clients, seconds=seconds, seed=seed))
    unexpected = print_phase(title, phase)
    check = check_rows(phase.outcomes, first_row)
    unexpected += print_rows(check, rig.faults.report())
    print_log(rig.log, log_offset)
    unexpected += sum(check.disagreeing.values()) + sum(check.missing.values())
    return phase, unexpected, check.rows - check.reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10, help="seconds of the same mix first, reported apart")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", REDIS_URL)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    handle, name = tempfile.mkstemp(prefix="qfsoak-", suffix=".log")
    os.close(handle)
    with ExitStack() as context:
        faults = context.enter_context(fault_server(args.seed))
        with stderr_to(Path(name)):
            _, gateway, store, _ = context.enter_context(stack(database_url, redis_url, **GATEWAY_ENV))
        seed_faults(faults.url)
        rig = Rig(gateway, store.key, faults, Path(name))
        print(f"qfweb: uvicorn, workers {gateway.workers}; PostgreSQL {database_url.rpartition('@')[2]}; "
              f"Redis {redis_url.rpartition('@')[2]}; {args.clients} clients, {args.seconds:.0f} s after {args.warmup:.0f} s of warmup")
        if args.warmup:
            run_phase("warmup", rig, args.clients, args.warmup, args.seed + 1)
        start = gateway.rss_mib()
        phase, unexpected, difference = run_phase("soak", rig, args.clients, args.seconds, args.seed)
        if args.seconds >= 120:  # a long run: its first minute is the baseline
            start = next(rss for at, rss in phase.timeline if at >= 60)
        growth = print_rss(phase, start, gateway.rss_mib())
        if (alive := live_workers(gateway)) != gateway.workers:
            print(f"  WORKERS CHANGED: {gateway.workers} -> {alive}")
            unexpected += 1
        print_targets({"unexpected errors": unexpected, "rows - requests": difference, "RSS growth, worst worker (%)": growth})


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\n({time.monotonic() - started:.0f} s)")
