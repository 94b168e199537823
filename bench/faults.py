"""The fault server of the soak (bench/soak.py): the tests' FaultServer (tests/fault) in a
process of its own, its faulty models reprogrammed every second from a weighted draw, and
the markers of the calls it saw sent back to the load process as they arrive."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from harness import UPSTREAM_KEY_VAR

from tests.fault import FaultServer, html, malformed, ok, reset, stall, status, stream, truncated

FAULTS = (  # (step, weight) of the faulty models' programs, drawn afresh every second
    (ok(), 75), (status(503), 5), (status(429), 3), (stall(5), 3), (reset(), 4),
    (malformed(), 3), (truncated(), 2), (html(502), 1), (stream(("Hel", "lo", " you"), cut_after=1), 4),
)
# Both only ever see clients that leave: a drip long enough that qfweb surely hears of it
# before the end, and a stall that outlasts the drop.
FIXED = {"drip": stream(("tick ",) * 100, delay=0.1), "slow": stall(5)}


def serve_faults(control: Connection, arrivals: Connection, seed: int) -> None:
    """Serve; push on `arrivals` the markers of the calls the `slow` model receives, as
    they come; answer each message on `control` with what was served since the last."""
    rng = random.Random(seed)
    steps, weights = zip(*FAULTS)
    with FaultServer() as fault:
        for model, step in FIXED.items():
            fault.program(model, step)
        control.send(fault.url)
        looked_at, refill_at = 0, 0.0
        while True:
            if time.monotonic() >= refill_at:
                for model in ("mixed", "mixed-alone"):
                    fault.program(model, *rng.choices(steps, weights, k=5000))
                refill_at = time.monotonic() + 1
            records = fault.requests
            if markers := [marker_of(r.json) for r in records[looked_at:] if r.model == "slow"]:
                arrivals.send(markers)
            looked_at = len(records)
            if control.poll(0.01):
                control.recv()
                control.send({"requests": Counter(r.model for r in records), "disconnects": Counter(fault.disconnects)})
                fault.reset_programs()
                for model, step in FIXED.items():
                    fault.program(model, step)
                looked_at, refill_at = 0, 0.0


def marker_of(body: object) -> int | None:
    try:
        return int(body["messages"][-1]["content"].rpartition("#")[2])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Faults:
    url: str
    control: Connection
    arrivals: Connection

    def report(self) -> dict:
        self.control.send("report")
        return self.control.recv()


@contextmanager
def fault_server(seed: int) -> Iterator[Faults]:
    context = multiprocessing.get_context("spawn")
    control, their_control = context.Pipe()
    arrivals, their_arrivals = context.Pipe(duplex=False)
    process = context.Process(target=serve_faults, args=(their_control, their_arrivals, seed), daemon=True)
    process.start()
    try:
        if not control.poll(30):
            raise RuntimeError("the fault server did not start")
        yield Faults(control.recv(), control, arrivals)
    finally:
        process.terminate()
        process.join(5)


class Arrivals:
    """Futures that the fault server's word resolves: this marker's upstream call is in."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def expect(self, marker: int) -> asyncio.Future[None]:
        self.waiting[marker] = future = asyncio.get_running_loop().create_future()
        return future

    def read(self) -> None:
        for marker in self.connection.recv():
            future = self.waiting.pop(marker, None)
            if future is not None and not future.done():
                future.set_result(None)


def seed_faults(fault_url: str) -> None:
    """The personas of the mix beside harness.seed's `bench`, on the fault server."""
    from personas.models import Persona, PersonaFallback
    from routing.models import Model, Provider

    mock = Model.objects.get(provider__name="mock", name="bench")

    def provider(name: str, timeout_s: int) -> Provider:
        return Provider.objects.create(
            name=name, kind="openai", base_url=f"{fault_url}/v1", allow_private_network=True,
            credential_ref=f"${{{UPSTREAM_KEY_VAR}}}", timeout_s=timeout_s,
        )

    faulty, slowpoke = provider("faulty", 1), provider("slowpoke", 10)
    for slug, upstream, name, retries, fallback in (
        ("faulty", faulty, "mixed", 1, mock),
        ("faulty-alone", faulty, "mixed-alone", 0, None),
        ("drip", slowpoke, "drip", 0, mock),
        ("slow", slowpoke, "slow", 0, mock),
    ):
        model = Model.objects.create(
            provider=upstream, name=name, modality="text", context_window=128_000,
            input_price="0.15", output_price="0.60", max_retries=retries, retry_delay_s=0.05,
        )
        persona = Persona.objects.create(slug=slug, model=model)
        if fallback:
            PersonaFallback.objects.create(persona=persona, model=fallback, position=1)
