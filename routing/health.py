"""Health checks: probe a provider with the cheapest call its API offers, keep what that
shows as the provider's state, and steer routing with it through the circuits (issue 6;
RELIABILITY.md R1..R5, required test 32).

| the probe                                 | state              | circuit                          |
|-------------------------------------------|--------------------|----------------------------------|
| answered, lists every enabled model       | healthy            | provider closed                  |
| answered slower than QF_HEALTH_SLOW_MS    | degraded           | provider closed                  |
| answered 429                              | degraded           | left as it is                    |
| answered, some enabled models not listed  | model_missing      | provider closed, those models    |
|                                           |                    | open for the long period         |
| 401 / 403                                 | credential_invalid | provider open, long period       |
| refused, timed out, 5xx, malformed        | down               | provider open until next check   |

A provider found down is skipped by the engine with no call until a check finds it well
(or, once its open period ends, one live request probes it: R5). Live traffic feeds the
same state (routing.engine: credential_invalid, model_missing, down, and healthy again when
a half-open probe succeeds).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from qfweb.errors import NotFound
from qfweb.redact import redact
from routing import circuit
from routing.choices import HealthState
from routing.circuit import Target
from routing.config import ConfigSnapshot, ModelInfo, ProviderInfo
from routing.models import HealthCheck, Provider
from routing.offloop import run_sync
from routing.providers.base import ERROR_TEXT_LIMIT, Call, Category, Message, ProviderError
from routing.providers.clients import aclose_all, adapter_for, secret_for
from routing.snapshot import bump_config_version, snapshot_get

WELL = (HealthState.HEALTHY, HealthState.DEGRADED)
STATES = {
    Category.AUTH: HealthState.CREDENTIAL_INVALID,
    Category.UNKNOWN_MODEL: HealthState.MODEL_MISSING,
    Category.RATE_LIMITED: HealthState.DEGRADED,  # up, and counting our requests
    Category.BAD_REQUEST: HealthState.HEALTHY,  # up, and the credential was accepted
}
LATENCY_CHANGE = 0.25  # a latency moving this much re-ranks lowest_latency: rebuild snapshots


@dataclass(frozen=True, slots=True)
class Finding:
    """What one probe of one provider showed."""

    provider: str
    state: HealthState
    latency_ms: int | None = None
    error: str = ""  # redacted
    missing: tuple[str, ...] = ()  # handles of enabled models the provider does not list
    listed: tuple[str, ...] = ()  # ... and of those it does
    provider_wide: bool = True  # False: a failure of the probed model's own credential

    @property
    def is_ok(self) -> bool:
        return self.state in WELL


# ---- the probe (network only) -------------------------------------------------------------


async def probe(provider: ProviderInfo, models: list[ModelInfo]) -> Finding:
    """Probe `provider` once; never raises for what the provider does."""
    model = _probe_model(provider, models)
    began = time.monotonic()
    try:
        call = Call(
            model=model.name,
            messages=(Message("user", "Reply with OK."),),
            param_map=model.param_map,  # a reasoning model's own name for the token limit
            secret=secret_for(provider, model),
            timeout=httpx.Timeout(
                settings.QF_HEALTH_TIMEOUT_S, connect=min(settings.QF_CONNECT_TIMEOUT_S, settings.QF_HEALTH_TIMEOUT_S)
            ),
            modality=model.modality,
        )
        # The httpx timeouts bound each read; this bounds a listing of several pages.
        async with asyncio.timeout(settings.QF_HEALTH_TIMEOUT_S * 2):
            listed = await adapter_for(provider).probe(call)
    except ProviderError as error:
        # A 404 may be the listing's URL as well as the model: it opens nothing. A credential
        # of the model's own is that model's problem, not the provider's (as in the engine).
        state = STATES.get(error.category, HealthState.DOWN)
        own = state == HealthState.CREDENTIAL_INVALID and bool(model.credential_ref)
        return Finding(provider.name, state, _ms(began), error.message, (model.handle,) if own else (), provider_wide=not own)
    except TimeoutError:
        return Finding(provider.name, HealthState.DOWN, _ms(began), "no answer within the health check's time")
    latency = _ms(began)
    if listed is None:  # a listing that cannot be compared: every model counts as there
        missing, present = (), tuple(m.handle for m in models)
    else:
        missing = tuple(m.handle for m in models if not _listed(m.name, listed))
        present = tuple(m.handle for m in models if _listed(m.name, listed))
    if missing:
        error = f"not listed by the provider: {', '.join(missing)}"[:ERROR_TEXT_LIMIT]
        return Finding(provider.name, HealthState.MODEL_MISSING, latency, error, missing, present)
    if latency > settings.QF_HEALTH_SLOW_MS:
        return Finding(provider.name, HealthState.DEGRADED, latency, f"slow: {latency} ms", listed=present)
    return Finding(provider.name, HealthState.HEALTHY, latency, listed=present)


def _probe_model(provider: ProviderInfo, models: list[ModelInfo]) -> ModelInfo:
    """The model a probe speaks for, with the provider's own credential if one has it: the
    default model first. A provider with no enabled model is still probed (its listing)."""
    shared = sorted((m for m in models if not m.credential_ref), key=lambda m: m.handle != provider.default_model)
    return next(iter(shared), models[0] if models else ModelInfo(provider.name, ""))


def _listed(name: str, listed: frozenset[str]) -> bool:
    """Listings hold dated ids only where a name may be an alias of the latest one
    (Anthropic lists claude-3-5-sonnet-20241022, never claude-3-5-sonnet-latest)."""
    if name in listed:
        return True
    stem = name.removesuffix("latest")
    return stem != name and any(item.startswith(stem) for item in listed)


def _ms(began: float) -> int:
    return round((time.monotonic() - began) * 1000)


def enabled_models(snapshot: ConfigSnapshot, provider: ProviderInfo) -> list[ModelInfo]:
    return [m for m in snapshot.models.values() if m.provider == provider.name and m.is_enabled]


# ---- acting on a finding (database and circuits) ------------------------------------------


def record(finding: Finding) -> HealthCheck:
    """Store the check, keep the provider's state, and open or close its circuits."""
    provider = Provider.objects.only("id", "name", "health_state", "health_latency_ms").get(name=finding.provider)
    check = HealthCheck.objects.create(
        provider=provider, is_ok=finding.is_ok, state=finding.state, latency_ms=finding.latency_ms,
        error_text=redact(finding.error)[:ERROR_TEXT_LIMIT],
    )
    # update(), not save(): health is not configuration (no signal, no snapshot rebuild)...
    Provider.objects.filter(pk=provider.pk).update(
        health_state=finding.state, health_latency_ms=finding.latency_ms, health_checked_at=check.checked_at
    )
    steer(finding, previous=provider.health_state)
    # ...unless what routing reads of it moved: lowest_latency ranks by this latency.
    if provider.health_state != finding.state or _moved(provider.health_latency_ms, finding.latency_ms):
        bump_config_version()
    return check


def steer(finding: Finding, *, previous: str) -> None:
    target = Target("provider", finding.provider)
    if finding.state == HealthState.DOWN:
        # Until the next check says otherwise; after that, one live request may probe (R5).
        circuit.force_open(target, max(settings.QF_HEALTH_INTERVAL_S, settings.QF_CB_OPEN_SECONDS))
    elif finding.state == HealthState.CREDENTIAL_INVALID and finding.provider_wide:
        circuit.force_open(target, settings.QF_CB_LONG_OPEN_SECONDS)
    else:  # it answered with the credential: nothing provider-wide is wrong
        circuit.reset(target)
    for handle in finding.missing:
        circuit.force_open(Target("model", handle), settings.QF_CB_LONG_OPEN_SECONDS)
    if previous == HealthState.MODEL_MISSING:
        for handle in finding.listed:  # listed again after a check found them missing
            circuit.reset(Target("model", handle))


def _moved(before: int | None, after: int | None) -> bool:
    if before is None or after is None:
        return before != after
    return abs(after - before) > LATENCY_CHANGE * max(before, 1)


# ---- entry points: the task, "check now" in the API, `qf health` --------------------------


def provider_info(name: str) -> tuple[ProviderInfo, list[ModelInfo]]:
    snapshot = snapshot_get()
    provider = snapshot.providers.get(name)
    if provider is None:
        raise NotFound(f"unknown provider {name!r}", field="provider")
    return provider, enabled_models(snapshot, provider)


def check(name: str) -> HealthCheck:
    """Probe one provider now and act on it (sync: tasks and the command line)."""
    return check_many([name])[0]


def check_many(names: list[str]) -> list[HealthCheck]:
    """Probe providers concurrently, on a loop of this call's own."""
    targets = [provider_info(name) for name in names]

    async def run() -> list[Finding]:
        try:
            return list(await asyncio.gather(*(probe(provider, models) for provider, models in targets)))
        finally:
            await aclose_all()

    return [record(finding) for finding in asyncio.run(run())]


async def acheck(name: str) -> HealthCheck:
    """Probe one provider now, on the server's loop (the API's "check now")."""
    provider, models = await run_sync(provider_info, name)
    return await run_sync(record, await probe(provider, models))


def timed_out(name: str, seconds: float) -> HealthCheck:
    """Record a check that overran its task's time limit as the provider being down."""
    return record(Finding(name, HealthState.DOWN, round(seconds * 1000), f"no answer within {seconds:g} s"))


def prune(now: timezone.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.QF_HEALTH_RETENTION_DAYS)
    deleted, _ = HealthCheck.objects.filter(checked_at__lt=cutoff).delete()
    return deleted
