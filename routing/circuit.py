"""Circuit breakers per provider and per model, shared by every process through the Django
cache (RELIABILITY.md R1..R5).

State of a target under `cb:{scope}:{name}:`: `failures` (consecutive countable failures,
`incr`), `open` (present, with a TTL of exactly the open period, while it is open; its
value is when that ends), `tripped` (outlives `open`: the target has not yet proved it
recovered, so only a probe may pass), `probe` (the one half-open permit, `add`) and
`openings` (k, for the doubling open time). Only atomic cache primitives are used, so
processes on several hosts agree through Redis; on the embedded local-memory cache the
state is per process (README).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from django.conf import settings
from django.core.cache import cache

from qfweb.cache import aget_many
from routing.cacheguard import afail_open, fail_open

FAILURE_MEMORY_S = 600  # consecutive failures further apart than this are forgotten
DECAY_S = 600  # k returns to 0 after a successful probe and this long closed (R2)
STALE_S = 3600  # how long a target stays half-open (one probe at a time) after its open period
JITTER = 0.1


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    PROBE = "probe"  # half-open, and this request holds the one permit


@dataclass(frozen=True, slots=True)
class Target:
    scope: str  # "provider" or "model"
    name: str  # provider name or model handle

    def key(self, part: str) -> str:
        return f"cb:{self.scope}:{self.name}:{part}"


@dataclass(frozen=True, slots=True)
class Admission:
    state: State
    until: float | None = None  # when an open target takes traffic again
    probes: tuple[Target, ...] = ()  # the permits this request holds
    failing: tuple[Target, ...] = ()  # targets with failures to clear on success


@fail_open(lambda *_, **__: Admission(State.CLOSED))
def admit(targets: Iterable[Target], *, request_id: str, probe_ttl: float) -> Admission:
    """May this request call the model behind `targets` (its provider, then itself)? One
    cache round trip when all are closed."""
    targets = tuple(targets)
    return _decide(targets, cache.get_many(_state_keys(targets)), request_id, probe_ttl)


@afail_open(lambda *_, **__: Admission(State.CLOSED))
async def aadmit(targets: Iterable[Target], *, request_id: str, probe_ttl: float) -> Admission:
    """admit for the engine: the state is read without blocking the event loop."""
    targets = tuple(targets)
    return _decide(targets, await aget_many(_state_keys(targets)), request_id, probe_ttl)


def _state_keys(targets: tuple[Target, ...]) -> list[str]:
    return [t.key(part) for t in targets for part in ("open", "tripped", "failures")]


def _decide(targets: tuple[Target, ...], found: dict, request_id: str, probe_ttl: float) -> Admission:
    now = time.time()
    probes: list[Target] = []
    for target in targets:
        until = found.get(target.key("open"))
        if until is not None and now < until:
            _release(probes)  # a provider permit taken for a model that is open itself
            return Admission(State.OPEN, until)
        if target.key("tripped") not in found:
            continue
        # Half-open: one request across all processes gets the permit; its TTL is the
        # attempt's timeout, so a probe that hangs cannot wedge the breaker (R5).
        if not cache.add(target.key("probe"), request_id, timeout=math.ceil(max(probe_ttl, 1))):
            _release(probes)
            return Admission(State.OPEN, now)
        probes.append(target)
    failing = tuple(t for t in targets if found.get(t.key("failures")))
    return Admission(State.PROBE if probes else State.CLOSED, probes=tuple(probes), failing=failing)


def _release(probes: Iterable[Target]) -> None:
    cache.delete_many([t.key("probe") for t in probes])


@fail_open(lambda *_, **__: None)
def record_success(admission: Admission) -> None:
    """Close what this request probed and forget the failures it saw."""
    keys = [t.key("failures") for t in admission.failing]
    for target in admission.probes:
        keys += [target.key(part) for part in ("open", "tripped", "probe", "failures")]
        cache.touch(target.key("openings"), DECAY_S)
    if keys:
        cache.delete_many(keys)


@fail_open(lambda *_, **__: None)
def record_failure(target: Target, admission: Admission, *, open_for: float | None = None) -> float | None:
    """Count a countable failure; open the target when it trips, when its probe failed, or
    for exactly `open_for` seconds (a 429's Retry-After, or the long period of a credential
    or unknown-model failure). Returns the end of the open period, if it opened.

    Failures of requests that were let through before the target opened (in flight, or
    panic attempts) are not counted while it is open: else a burst of them would reopen it
    again and again and double its open time each time."""
    _release([t for t in admission.probes if t != target])  # the other scope proved nothing
    if _is_open(target):
        return None
    if open_for is not None:
        return _open(target, seconds=open_for)
    if target in admission.probes:
        return _open(target)
    if _count(target.key("failures")) == settings.QF_CB_FAILURES:
        return _open(target)  # only the process that counted the N-th failure opens it
    return None


def _is_open(target: Target) -> bool:
    until = cache.get(target.key("open"))
    return until is not None and time.time() < until


@fail_open(lambda *_, **__: None)
def release(admission: Admission) -> None:
    """Give back probe permits unused (the call ended in a way that proves nothing: the
    client went away, or a local refusal)."""
    _release(admission.probes)


@fail_open(lambda *_, **__: False)
def is_tripped(target: Target) -> bool:
    """Open, or half-open: not yet proved recovered."""
    return cache.get(target.key("tripped")) is not None


def _open(target: Target, *, seconds: float | None = None) -> float:
    if seconds is None:
        k = _count(target.key("openings"), ttl=settings.QF_CB_MAX_OPEN_SECONDS + STALE_S)
        cache.touch(target.key("openings"), settings.QF_CB_MAX_OPEN_SECONDS + STALE_S)
        base = settings.QF_CB_OPEN_SECONDS * 2 ** (k - 1)
        seconds = min(base, settings.QF_CB_MAX_OPEN_SECONDS) * random.uniform(1 - JITTER, 1 + JITTER)
    seconds = max(seconds, 0.01)
    until = time.time() + seconds
    # Redis keeps whole seconds (and drops a key given 0), so the TTL is rounded up and
    # the stored end is what counts.
    cache.set(target.key("open"), until, timeout=math.ceil(seconds))
    cache.set(target.key("tripped"), until, timeout=seconds + STALE_S)
    cache.delete_many([target.key("failures"), target.key("probe")])
    return until


def _count(key: str, *, ttl: float = FAILURE_MEMORY_S) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # missing or expired; a racing process may create it first
        cache.add(key, 0, timeout=ttl)
        return cache.incr(key)


@fail_open(lambda *_, **__: None)
def force_open(target: Target, seconds: float) -> float:
    """Open a target for `seconds`, whatever its failures (a health check found it down)."""
    return _open(target, seconds=seconds)


@fail_open(lambda *_, **__: None)
def reset(target: Target) -> None:
    """Close a target and forget its history (a health check found it well, operators)."""
    cache.delete_many([target.key(part) for part in ("open", "tripped", "failures", "openings", "probe")])
