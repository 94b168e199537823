"""What the gateway benchmarks share: a PostgreSQL database and a Redis namespace of their
own, a seeded store, the fast mock upstream, qfweb under uvicorn with its workers, the
readings of those workers (CPU, RSS) and an asyncio load generator (aiohttp, keep-alive).

Everything listens on 127.0.0.1; every process started here is stopped on exit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/qf_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
CACHE_PREFIX = "qfbench"
UPSTREAM_KEY_VAR = "BENCH_UPSTREAM_KEY"
MESSAGES = [{"role": "user", "content": "Say hello."}]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


# ---- the database and the store ---------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        name = parts.path.lstrip("/")
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, redis_url: str) -> None:
    """Django in this process, on the benchmark's database and cache namespace."""
    os.environ.update(
        QF_ENV="dev", QF_DATA_DIR=tempfile.mkdtemp(prefix="qfbench-"), QF_LOG_LEVEL="WARNING",
        DATABASE_URL=database_url, REDIS_URL=redis_url, QF_CACHE_PREFIX=CACHE_PREFIX,
        DJANGO_SETTINGS_MODULE="qfweb.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Store:
    key: str  # an API key that may use every persona and choose models
    personas: tuple[str, ...]


def seed(upstream_url: str, *, refused_url: str, stalled_url: str, stall_timeout_s: int = 1) -> Store:
    """Empty the store and the usage tables and fill them for the benchmarks:
    provider `mock` (model `mock:bench`) on the mock upstream; persona `bench` on it;
    `refused` whose primary's port is closed and `stalled` whose primary never answers,
    both falling back to `mock:bench`."""
    from django.core.cache import cache
    from django.db import connection

    from personas.keys import api_key_issue
    from personas.models import Persona, PersonaFallback
    from routing.models import Model, Provider

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE routing_attempt, routing_generation, routing_dailyrollup, routing_costreport, "
            "routing_budgetalert, routing_healthcheck, personas_personafallback, "
            "personas_personataskoverride, personas_persona, personas_apikey, routing_provider, "
            "routing_model RESTART IDENTITY CASCADE"
        )
    cache.clear()

    def provider(name: str, url: str, **extra) -> Model:
        row = Provider.objects.create(
            name=name, kind="openai", base_url=f"{url}/v1", allow_private_network=True,
            credential_ref=f"${{{UPSTREAM_KEY_VAR}}}", **extra,
        )
        return Model.objects.create(
            provider=row, name="bench", modality="text", context_window=128_000,
            input_price="0.15", output_price="0.60", max_retries=0,
        )

    served = provider("mock", upstream_url)
    bench = Persona.objects.create(slug="bench", model=served, system_prompt="You are brief.")
    for slug, url, extra in (
        ("refused", refused_url, {}),
        ("stalled", stalled_url, {"timeout_s": stall_timeout_s}),
    ):
        primary = provider(f"{slug}-upstream", url, **extra)
        persona = Persona.objects.create(slug=slug, model=primary)
        PersonaFallback.objects.create(persona=persona, model=served, position=1)
    issued = api_key_issue(name="bench", all_personas=True, all_tasks=True, may_override=True)
    return Store(key=issued.plaintext, personas=(bench.slug, "refused", "stalled"))


def generation_rows() -> int:
    from routing.models import Generation

    return Generation.objects.count()


def reset_circuits() -> None:
    from routing import circuit
    from routing.circuit import Target
    from routing.models import Model, Provider

    for name in Provider.objects.values_list("name", flat=True):
        circuit.reset(Target("provider", name))
    for handle in (f"{p}:{m}" for p, m in Model.objects.values_list("provider__name", "name")):
        circuit.reset(Target("model", handle))


# ---- processes ----------------------------------------------------------------------------


class Processes:
    """The processes started for a run, stopped in reverse order on exit."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, **kwargs)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_mock(processes: Processes) -> str:
    process = processes.start(
        [PYTHON, str(ROOT / "bench" / "mock_upstream.py")], stdout=subprocess.PIPE, text=True
    )
    port = int(process.stdout.readline())
    return f"http://127.0.0.1:{port}"


def start_stall_server() -> tuple[str, socket.socket]:
    """A port that accepts connections and never answers (kept open by the caller)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def server_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("QF_", "DJANGO_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        QF_ENV="production", SECRET_KEY=secrets.token_urlsafe(60), DATABASE_URL=database_url,
        REDIS_URL=redis_url, QF_CACHE_PREFIX=CACHE_PREFIX, ALLOWED_HOSTS="127.0.0.1",
        QF_SSL_REDIRECT="false", QF_LOG_LEVEL="WARNING", QF_DATA_DIR=tempfile.mkdtemp(prefix="qfbench-"),
        DJANGO_SETTINGS_MODULE="qfweb.settings", **{UPSTREAM_KEY_VAR: "sk-bench-upstream"},
    )
    env.update(extra)
    return env


@dataclass
class Gateway:
    url: str
    master: subprocess.Popen
    workers: list[int]

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in self.workers)

    def rss_mib(self) -> list[float]:
        return [_rss_bytes(pid) / 2**20 for pid in self.workers]


def start_gateway(processes: Processes, env: dict[str, str], workers: int = 2) -> Gateway:
    port = free_port()
    master = processes.start([
        PYTHON, "-m", "uvicorn", "qfweb.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--lifespan", "on", "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "10",
    ], env=env)
    wait_for_port(port, master)
    deadline = time.monotonic() + 60
    while len(pids := _children(master.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    return Gateway(url=f"http://127.0.0.1:{port}", master=master, workers=pids)


def _children(pid: int) -> list[int]:
    """The worker processes of uvicorn's supervisor (not multiprocessing's resource tracker)."""
    try:
        pids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [p for p in pids if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def process_rss_mib(pid: int) -> float:
    return _rss_bytes(pid) / 2**20


# ---- the load generator -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One kind of request: a URL, a JSON body, headers; streamed or not."""

    name: str
    url: str
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False


@dataclass
class Sample:
    latency: list[float] = field(default_factory=list)  # seconds, whole response
    ttfb: list[float] = field(default_factory=list)  # seconds, first byte of the body
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0

    @property
    def done(self) -> int:
        return len(self.latency)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def one_request(session: aiohttp.ClientSession, target: Target, sample: Sample) -> None:
    began = time.perf_counter()
    try:
        async with session.post(target.url, json=target.body, headers=target.headers) as response:
            first = await response.content.readany()
            ttfb = time.perf_counter() - began
            while await response.content.readany():
                pass
            if response.status != 200:
                sample.error(f"http {response.status}")
                return
            if target.stream and b"error" in first and b"event: error" in first:
                sample.error("stream error event")
                return
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        sample.error(type(exc).__name__)
        return
    sample.latency.append(time.perf_counter() - began)
    sample.ttfb.append(ttfb)


async def run_load(target: Target, *, clients: int, requests: int, cap_s: float = 120) -> Sample:
    """`requests` requests from `clients` concurrent clients (each on its own keep-alive
    connection), stopped after `cap_s` seconds whatever is left."""
    sample = Sample()
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        remaining = requests
        deadline = time.perf_counter() + cap_s

        async def client() -> None:
            nonlocal remaining
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                await one_request(session, target, sample)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        sample.wall = time.perf_counter() - began
    return sample


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wait_for_rows(expected: int, read: Callable[[], int], timeout: float = 10) -> int:
    """The row count once it reaches `expected` (writes may trail the responses a little),
    or whatever it is after `timeout`."""
    deadline = time.monotonic() + timeout
    while (rows := read()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


@contextmanager
def stack(database_url: str, redis_url: str, workers: int = 2, **env: str) -> Iterator[tuple[Processes, Gateway, Store, str]]:
    """The whole rig: database, store, mock, stall port and qfweb. Yields the processes,
    the gateway, the store and the mock's URL."""
    ensure_database(database_url)
    setup_django(database_url, redis_url)
    processes = Processes()
    stall_url, stall_sock = start_stall_server()
    try:
        upstream = start_mock(processes)
        store = seed(upstream, refused_url=closed_port_url(), stalled_url=stall_url)
        gateway = start_gateway(processes, server_env(database_url, redis_url, **env), workers)
        yield processes, gateway, store, upstream
    finally:
        processes.stop_all()
        stall_sock.close()


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    import uvloop

    uvloop.run(coro_fn())


def live_workers(gateway: Gateway) -> list[int]:
    """The worker processes running now: a soak compares them with those it started with,
    since uvicorn replaces a worker that died."""
    return _children(gateway.master.pid)
