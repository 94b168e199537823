"""The engine: runs a resolved chain for real (DESIGN.md, Execution; RELIABILITY.md R1..R10).

For each model of the chain, in order: skip it when its provider's or its own circuit is
open, or its request rate is spent (an Attempt row says so, no call is made); else call
its adapter with the merged parameters, retry what is worth retrying with backoff, and
fall back on the next model when it fails. Adapters classify failures
(`routing.providers.base.Category`); what each category means is decided here only:

| category                       | retried          | circuit                        | then      |
|--------------------------------|------------------|--------------------------------|-----------|
| timeout, server_error          | yes              | counts (model; connect: prov.) | fall back |
| rate_limited                   | Retry-After <= 8 | Retry-After: open exactly that | fall back |
| refused (connect, DNS, TLS)    | no               | counts (provider)              | fall back |
| bad_response                   | no               | counts (model)                 | fall back |
| auth, unknown_model            | no               | opens for the long period      | fall back |
| bad_request (400, 422)         | no               | not counted                    | stop: 4xx |

`generate` returns a whole reply; `open_stream` (routing.streaming) walks the same chain
until the first content arrives. Every request that reaches the walk is recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from django.conf import settings

from qfweb.errors import QfError
from routing import budget, circuit, ratelimit
from routing.budget import Budget
from routing.choices import AttemptOutcome, GenerationStatus, HealthState
from routing.circuit import Admission, State, Target
from routing.config import (
    EMPTY,
    ConfigSnapshot,
    ModelInfo,
    PersonaProfile,
    ProviderInfo,
    empty_mapping,
)
from routing.params import ParamError, validate_params
from routing.pricing import charge, estimate_tokens
from routing.providers.base import Call, Category, Completion, Message, ProviderError
from routing.providers.clients import adapter_for, secret_for
from routing.recording import AttemptRecord, GenerationRecord, awrite
from routing.resolution import resolve_live
from routing.resolve import ChainEntry, Resolution
from routing.snapshot import config_current, snapshot_get

T = TypeVar("T")
BACKOFF_CAP_S = 8.0  # the OpenAI SDK's; a longer Retry-After means fall back now (R8)
RETRIED = {Category.TIMEOUT, Category.SERVER_ERROR, Category.RATE_LIMITED}
NOT_COUNTED = {Category.BAD_REQUEST}
LONG_OPEN = {Category.AUTH, Category.UNKNOWN_MODEL}
OUTCOMES = {
    Category.TIMEOUT: AttemptOutcome.TIMEOUT,
    Category.REFUSED: AttemptOutcome.REFUSED,
    Category.RATE_LIMITED: AttemptOutcome.RATE_LIMITED,
    Category.SERVER_ERROR: AttemptOutcome.HTTP_ERROR,
    Category.BAD_RESPONSE: AttemptOutcome.BAD_RESPONSE,
    Category.AUTH: AttemptOutcome.AUTH,
    Category.UNKNOWN_MODEL: AttemptOutcome.UNKNOWN_MODEL,
    Category.BAD_REQUEST: AttemptOutcome.BAD_REQUEST,
}
HEALTH = {Category.AUTH: HealthState.CREDENTIAL_INVALID, Category.UNKNOWN_MODEL: HealthState.MODEL_MISSING}


@dataclass(frozen=True, slots=True)
class Job:
    """One generation request, whatever interface it came through."""

    messages: tuple[Message, ...]
    persona: PersonaProfile | None = None
    task: str | None = None
    params: Mapping[str, Any] = empty_mapping()  # the request's own; they win over every default
    override: tuple[str, ...] = ()
    may_override: bool = True
    modality: str | None = None
    strategy: str | None = None
    requirements: Mapping[str, int] | None = None
    api_key_id: int | None = None
    budgets: tuple[Budget, ...] = ()  # the caller's; the persona's own is added by the engine
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    deadline_s: float | None = None  # default QF_REQUEST_DEADLINE_S


@dataclass(frozen=True, slots=True)
class Result:
    request_id: str
    status: str
    output: Completion
    served: str  # handle
    level: str
    attempts: tuple[AttemptRecord, ...]
    tokens_in: int | None
    tokens_out: int | None
    usage_estimated: bool
    cost: Decimal | None
    latency_ms: int
    warnings: tuple[str, ...] = ()  # budgets past their warning level


class GenerationFailed(QfError):
    """No model of the chain answered. `status` is what an HTTP interface returns: 502
    all failed, 503 all circuits open, 429 all rate-limited here, 504 deadline, 400 the
    request itself was refused upstream."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        request_id: str,
        attempts: tuple[AttemptRecord, ...] = (),
        retry_after: float | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field, code=code)
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
        self.retry_after = retry_after


async def generate(job: Job) -> Result:
    """Run `job` to a whole reply, or raise GenerationFailed; recorded either way."""
    run = await Run.start(job)
    try:
        entry, completion = await run.walk(lambda adapter, call: adapter.complete(call))
    except GenerationFailed as failed:
        await run.record_unserved(GenerationStatus.FAILED, failed.code)
        raise
    except asyncio.CancelledError:  # the client went away; the attempts made still count
        await run.record_unserved(GenerationStatus.CLIENT_DISCONNECTED, "client_disconnected")
        raise
    except Exception:  # a bug must not lose the row of calls already made
        await run.record_unserved(GenerationStatus.FAILED, "internal_error")
        raise
    return await run.record_success(entry, completion)


class Run:
    """The walk of one request down its chain, and what it learns on the way."""

    def __init__(self, job: Job, snapshot: ConfigSnapshot, resolution: Resolution, modality: str) -> None:
        self.job = job
        self.streaming = False  # set by routing.streaming: reads then wait at most QF_STREAM_IDLE_S
        self.admission: Admission | None = None  # the committed stream's, settled when it ends
        self.snapshot = snapshot
        self.resolution = resolution
        self.modality = modality
        self.started = time.monotonic()
        self.deadline = self.started + (job.deadline_s or settings.QF_REQUEST_DEADLINE_S)
        self.record = GenerationRecord(
            request_id=job.request_id,
            persona_slug=job.persona.slug if job.persona else "",
            task_name=resolution.task or "",
            api_key_id=job.api_key_id,
            modality=modality,
            requested_override=",".join(job.override)[:300],
        )
        self.opened: list[tuple[float, ChainEntry]] = []  # models skipped as open, reopening at
        self.limited: list[float] = []  # seconds until models skipped for their rate free up
        self.out_of_time = False
        self.warnings: tuple[str, ...] = ()

    @classmethod
    async def start(cls, job: Job) -> Run:
        await config_current()  # a cold snapshot is built off the loop; warm, memory only
        run = cls._prepare(job)
        # Last: a refusal here calls nobody.
        run.warnings = await budget.aenforce(_budgets_of(job))
        return run

    @classmethod
    def _prepare(cls, job: Job) -> Run:
        try:
            uuid.UUID(job.request_id)
        except ValueError:  # Generation.request_id is a UUID; a bad one would lose the row
            raise QfError("must be a UUID", field="request_id") from None
        prompt = "\n".join(m.content for m in job.messages)
        snapshot = snapshot_get()
        resolution = resolve_live(
            snapshot=snapshot,
            persona=job.persona, task=job.task, prompt=prompt, override=job.override,
            may_override=job.may_override, modality=job.modality, strategy=job.strategy,
            requirements=job.requirements, input_tokens=estimate_tokens(prompt),
            characters=len(prompt), request_id=job.request_id,
        )
        if not resolution.chain:
            reasons = "; ".join(f"{d.reference}: {d.reason}" for d in resolution.dropped[:5])
            raise QfError(
                f"no enabled model can serve this request{': ' + reasons if reasons else ''}",
                field="model", code="no_model",
            )
        modality = resolution.modality
        try:
            validate_params(modality, dict(job.params))
        except ParamError as exc:
            raise QfError(exc.reason, field=f"params.{exc.field}") from None
        return cls(job, snapshot, resolution, modality)

    # ---- the walk ------------------------------------------------------------------

    async def walk(self, start: Callable[[Any, Call], Awaitable[T]]) -> tuple[ChainEntry, T]:
        """Call `start(adapter, call)` on each model of the chain until one succeeds."""
        for entry in self.resolution.chain:
            got = await self._try(entry, start)
            if got is not None:
                return entry, got
            if self.out_of_time:
                break
        if self.opened and not self.out_of_time and len(self.opened) == len(self.resolution.chain):
            if settings.QF_CB_PANIC == "probe":  # R7: every model is open, try the soonest
                until, entry = min(self.opened, key=lambda pair: pair[0])
                got = await self._try(entry, start, panic=True)
                if got is not None:
                    return entry, got
            else:
                raise self._all_open()
        raise self._final_failure()

    async def _try(self, entry: ChainEntry, start: Callable[[Any, Call], Awaitable[T]], *, panic: bool = False) -> T | None:
        model = entry.model
        provider = self.snapshot.providers[model.provider]
        targets = (Target("provider", provider.name), Target("model", model.handle))
        for retry in range(1 + model.max_retries):
            remaining = self.deadline - time.monotonic()
            if remaining < settings.QF_MIN_ATTEMPT_S:
                self.out_of_time = True
                return None
            timeout = self.timeout(provider, model, remaining)
            if panic:
                admission = Admission(State.PROBE, probes=tuple(t for t in targets if circuit.is_tripped(t)))
            else:
                # The permit lasts as long as the attempt can (R5).
                admission = await circuit.aadmit(targets, request_id=self.job.request_id, probe_ttl=remaining)
            if admission.state is State.OPEN:
                self.attempt(model, AttemptOutcome.CIRCUIT_OPEN, error_text="circuit open")
                self.opened.append((admission.until or time.time(), entry))
                return None
            if retry == 0 and (wait := self._rate_spent(provider, model)):
                circuit.release(admission)
                self.attempt(model, AttemptOutcome.RATE_LIMITED_LOCALLY, error_text="request rate spent here")
                self.limited.append(wait)
                return None
            try:  # refusals made here, before any call, are no failure of the provider
                call = self.call(provider, model, timeout)
                adapter = adapter_for(provider)
            except ProviderError as error:
                circuit.release(admission)
                self.attempt(model, OUTCOMES[error.category], error=error)
                return None
            began = time.monotonic()
            try:
                async with asyncio.timeout(remaining):
                    value = await start(adapter, call)
            except TimeoutError:
                error = ProviderError(Category.TIMEOUT, f"deadline of the request reached after {remaining:.1f} s")
            except ProviderError as exc:
                error = exc
            except asyncio.CancelledError:
                circuit.release(admission)
                self.attempt(model, AttemptOutcome.CANCELLED, began=began)
                raise
            else:
                if self.streaming:  # the stream has yet to prove itself: keep its failures
                    self.admission = admission
                    admission = dataclasses.replace(admission, failing=())
                circuit.record_success(admission)
                if targets[0] in admission.probes:  # the provider proved it is back
                    self.record.health[provider.name] = HealthState.HEALTHY
                self.attempt(model, AttemptOutcome.OK, began=began, request_id=_request_id(value))
                return value
            self.attempt(model, OUTCOMES[error.category], began=began, error=error)
            opened = self.count_failure(error, provider, model, admission, retry)
            if error.category is Category.BAD_REQUEST:
                raise self._failed(
                    _refusal(error), 400, "upstream_bad_request", field=error.param or "messages",
                )
            delay = self._backoff(error, model, retry)
            if opened or delay is None or retry == model.max_retries:
                return None
            if delay > self.deadline - time.monotonic() - settings.QF_MIN_ATTEMPT_S:
                return None  # no sleep that would leave no time to try (R8, required test 6)
            await asyncio.sleep(delay)
        return None

    def count_failure(
        self, error: ProviderError, provider: ProviderInfo, model: ModelInfo, admission: Admission, retry: int
    ) -> bool:
        """Feed the breaker; True when the target is now open."""
        if error.category in NOT_COUNTED:
            circuit.release(admission)
            return False
        # A credential of the model's own is the model's problem, not the provider's.
        provider_wide = error.connect or (error.category is Category.AUTH and not model.credential_ref)
        scope = Target("provider", provider.name) if provider_wide else Target("model", model.handle)
        open_for = None
        if error.category in LONG_OPEN:
            open_for = settings.QF_CB_LONG_OPEN_SECONDS
            if provider_wide or error.category is Category.UNKNOWN_MODEL:
                self.record.health[provider.name] = HEALTH[error.category]
        elif error.category is Category.RATE_LIMITED and error.retry_after is not None and not self._will_wait(error, model, retry):
            # Exactly what it asks, but a hostile Retry-After cannot shut a model for years.
            open_for = min(max(error.retry_after, 1.0), settings.QF_CB_LONG_OPEN_SECONDS)
        opened = circuit.record_failure(scope, admission, open_for=open_for) is not None
        if opened and provider_wide and error.category not in LONG_OPEN:
            self.record.health[provider.name] = HealthState.DOWN  # as a health check would say
        return opened

    def _will_wait(self, error: ProviderError, model: ModelInfo, retry: int) -> bool:
        """A Retry-After short enough to wait for, with a retry left (R8)."""
        return (
            error.retry_after is not None
            and error.retry_after <= BACKOFF_CAP_S
            and retry < model.max_retries
            and error.retry_after <= self.deadline - time.monotonic() - settings.QF_MIN_ATTEMPT_S
        )

    def _backoff(self, error: ProviderError, model: ModelInfo, retry: int) -> float | None:
        """Seconds before the next try of the same model, or None: do not retry."""
        if error.category not in RETRIED:
            return None
        if error.retry_after is not None:
            return error.retry_after if self._will_wait(error, model, retry) else None
        # Exponential with full jitter (R8): the retry_delay of source document 001 is the base.
        return random.uniform(0, min(BACKOFF_CAP_S, model.retry_delay_s * 2**retry))

    def _rate_spent(self, provider: ProviderInfo, model: ModelInfo) -> float | None:
        return ratelimit.take(f"model:{model.handle}", model.rate_limit_rpm) or ratelimit.take(
            f"provider:{provider.name}", provider.rate_limit_rpm
        )

    # ---- what a call needs ----------------------------------------------------------

    def timeout(self, provider: ProviderInfo, model: ModelInfo, remaining: float) -> httpx.Timeout:
        # A stream's reads are its idle limit: silence between chunks is a failure (S4).
        limit = settings.QF_STREAM_IDLE_S if self.streaming else model.timeout_s or provider.timeout_s
        read = min(limit, remaining)
        return httpx.Timeout(connect=min(settings.QF_CONNECT_TIMEOUT_S, read), read=read, write=10, pool=5)

    def call(self, provider: ProviderInfo, model: ModelInfo, timeout: httpx.Timeout) -> Call:
        return Call(
            model=model.name,
            messages=self.messages(),
            params=self.params(model),
            param_map=model.param_map,
            secret=secret_for(provider, model),
            timeout=timeout,
            request_id=self.job.request_id,
            modality=model.modality,
        )

    def messages(self) -> tuple[Message, ...]:
        """The persona's system prompt leads, unless the request brings its own."""
        persona = self.job.persona
        if persona and persona.system_prompt and not any(m.role == "system" for m in self.job.messages):
            return (Message("system", persona.system_prompt), *self.job.messages)
        return self.job.messages

    def params(self, model: ModelInfo) -> dict[str, Any]:
        """request > persona for the task > persona > task > model defaults, with
        max_tokens held to what the model can produce (RELIABILITY.md, API4)."""
        merged: dict[str, Any] = dict(model.default_params)
        task = self.snapshot.tasks.get(self.resolution.task or "")
        persona = self.job.persona
        for layer in (
            task.default_params if task else EMPTY,
            persona.params if persona else EMPTY,
            persona.task_params.get(self.resolution.task or "", EMPTY) if persona else EMPTY,
            self.job.params,
        ):
            for name, value in layer.items():
                if name == "custom":
                    merged["custom"] = {**merged.get("custom", {}), **value}
                else:
                    merged[name] = value
        if model.max_output_tokens and merged.get("max_tokens", 0) > model.max_output_tokens:
            merged["max_tokens"] = model.max_output_tokens
        return merged

    # ---- the record ----------------------------------------------------------------

    def attempt(
        self,
        model: ModelInfo,
        outcome: str,
        *,
        began: float | None = None,
        error: ProviderError | None = None,
        error_text: str = "",
        request_id: str = "",
    ) -> AttemptRecord:
        record = AttemptRecord(
            position=len(self.record.attempts) + 1,
            handle=model.handle,
            model_id=model.id,
            outcome=str(outcome),
            http_status=error.status if error else None,
            latency_ms=None if began is None else elapsed_ms(time.monotonic() - began),
            error_text=error.message if error else error_text,
            provider_request_id=request_id,
        )
        self.record.attempts.append(record)
        return record

    def served(self, entry: ChainEntry, completion: Completion) -> GenerationRecord:
        """Fill the record for a reply from `entry`'s model: tokens, estimates, cost."""
        record = self.record
        model = entry.model
        first = self.resolution.chain[0].model.handle
        record.status = GenerationStatus.OK if model.handle == first else GenerationStatus.OK_AFTER_FALLBACK
        record.served_model_id, record.served_handle, record.served_level = model.id, model.handle, entry.level
        record.finish_reason = (completion.finish_reason or "")[:40]
        self.count_usage(model, completion)
        return record

    def count_usage(self, model: ModelInfo, completion: Completion) -> None:
        record = self.record
        tokens_in, tokens_out = completion.tokens_in, completion.tokens_out
        if model.modality == "text" and (tokens_in is None or tokens_out is None):
            record.usage_estimated = True  # S5: estimated from the text, and flagged
            if tokens_in is None:
                tokens_in = estimate_tokens("\n".join(m.content for m in self.messages()))
            if tokens_out is None:
                tokens_out = estimate_tokens(completion.text or "")
        record.tokens_in, record.tokens_out = tokens_in, tokens_out
        record.images = completion.images or None
        record.characters = completion.characters or None
        price = charge(
            model, tokens_in=tokens_in or 0, tokens_out=tokens_out or 0,
            images=completion.images, characters=completion.characters,
        )
        record.cost, record.input_price, record.output_price = price.cost, price.input_price, price.output_price
        record.image_price, record.char_price = price.image_price, price.char_price

    async def record_success(self, entry: ChainEntry, completion: Completion) -> Result:
        record = self.served(entry, completion)
        record.latency_ms = elapsed_ms(time.monotonic() - self.started)
        await awrite(record)
        return self.result(entry, completion)

    def result(self, entry: ChainEntry, completion: Completion) -> Result:
        record = self.record
        return Result(
            request_id=record.request_id, status=record.status, output=completion,
            served=record.served_handle, level=entry.level, attempts=tuple(record.attempts),
            tokens_in=record.tokens_in, tokens_out=record.tokens_out,
            usage_estimated=record.usage_estimated, cost=record.cost, latency_ms=record.latency_ms or 0,
            warnings=self.warnings,
        )

    async def record_unserved(self, status: str, code: str) -> None:
        self.record.status = status
        self.record.error_code = code
        self.record.latency_ms = elapsed_ms(time.monotonic() - self.started)
        await awrite(self.record)

    def _failed(self, message: str, status: int, code: str, **extra: Any) -> GenerationFailed:
        return GenerationFailed(
            message, status=status, code=code, request_id=self.job.request_id,
            attempts=tuple(self.record.attempts), **extra,
        )

    def _final_failure(self) -> GenerationFailed:
        if self.out_of_time or self.deadline - time.monotonic() < settings.QF_MIN_ATTEMPT_S:
            return self._failed("the request's deadline passed before any model answered", 504, "deadline_exceeded")
        tried = [a for a in self.record.attempts if a.outcome not in (AttemptOutcome.CIRCUIT_OPEN, AttemptOutcome.RATE_LIMITED_LOCALLY)]
        if not tried and self.limited:
            return self._failed(
                "every model of the chain is at its request-rate limit", 429, "rate_limited",
                retry_after=min(self.limited),
            )
        if not tried and self.opened:
            return self._all_open()
        return self._failed("every model of the chain failed", 502, "upstream_failed")

    def _all_open(self) -> GenerationFailed:
        soonest = min(until for until, _ in self.opened)
        return self._failed(
            "every model of the chain is unavailable (circuit open)", 503, "circuit_open",
            retry_after=max(soonest - time.time(), 1),
        )


def _budgets_of(job: Job) -> tuple[Budget, ...]:
    persona = job.persona
    if persona is None or persona.monthly_budget is None:
        return job.budgets
    return (*job.budgets, Budget("persona", persona.slug, persona.monthly_budget))


def _refusal(error: ProviderError) -> str:
    """What the caller is told of an upstream 400: the provider's own reason when it gave
    one in its error shape; never a raw page (RELIABILITY.md API10, SSRF control 5)."""
    if "<" in error.message or ">" in error.message:
        return "the provider refused the request"
    return f"the provider refused the request: {error.message}"


def _request_id(value: object) -> str:
    return getattr(value, "provider_request_id", "") or ""


def elapsed_ms(seconds: float) -> int:
    return max(int(seconds * 1000), 0)
