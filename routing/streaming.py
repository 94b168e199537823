"""Streams: fall back only until the first content event; after it, a failure ends the
stream with one error event, never silently (RELIABILITY.md S1, S2, S4..S7).

`open_stream(job)` walks the chain like `engine.generate` but returns as soon as a model
has produced its first piece of content (the commit point: an HTTP view sends its status
and headers only then). Iterating the returned `LiveStream` relays the rest and always
ends with exactly one `Finished` or `Broken` event, yielded after the usage rows are
written (S7: nothing after the last yield). Callers must close it (`contextlib.aclosing`)
so that a client that goes away closes the upstream connection at once (S6) and still
leaves its row (`client_disconnected`, partial usage estimated).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from routing import circuit
from routing.choices import AttemptOutcome, GenerationStatus
from routing.circuit import Admission, State
from routing.config import ModelInfo
from routing.engine import OUTCOMES, GenerationFailed, Job, Result, Run, elapsed_ms
from routing.providers.base import Call, Category, Completion, Delta, ProviderError, StreamInfo
from routing.recording import awrite
from routing.resolve import ChainEntry


class DeadlineReached(ProviderError):
    """The request's own deadline ended the stream: no fault of the model's."""


@dataclass(frozen=True, slots=True)
class Finished:
    result: Result


@dataclass(frozen=True, slots=True)
class Broken:
    """The stream failed after content was sent; `error` says why (already redacted)."""

    error: ProviderError
    result: Result


async def open_stream(job: Job, *, run: Run | None = None) -> LiveStream:
    """Raises GenerationFailed (recorded) when no model produced any content. `run` is the
    job's, when the caller started it to learn its refusals and warnings first."""
    run = run or await Run.start(job)
    run.streaming = True
    run.record.is_streamed = True
    try:
        entry, (events, info, first) = await run.walk(_first_content)
    except GenerationFailed as failed:
        await run.record_unserved(GenerationStatus.FAILED, failed.code)
        raise
    except asyncio.CancelledError:
        await run.record_unserved(GenerationStatus.CLIENT_DISCONNECTED, "client_disconnected")
        raise
    except Exception:
        await run.record_unserved(GenerationStatus.FAILED, "internal_error")
        raise
    return LiveStream(run, entry, events, info, first)


async def _first_content(adapter: Any, call: Call) -> tuple[AsyncIterator, list[StreamInfo], Delta | None]:
    if not adapter.streams:
        raise ProviderError(Category.BAD_REQUEST, f"{adapter.kind} models do not stream", param="stream")
    events = adapter.stream(call)
    info: list[StreamInfo] = []
    try:
        async for event in events:
            if isinstance(event, Delta):
                if event.text:
                    return events, info, event
            else:
                info.append(event)
    except BaseException:
        await events.aclose()
        raise
    return events, info, None  # a complete reply with no content at all


class LiveStream:
    """The committed stream of one model: `Delta` events, then `Finished` or `Broken`."""

    def __init__(self, run: Run, entry: ChainEntry, events: AsyncIterator, info: list[StreamInfo], first: Delta | None) -> None:
        self.run = run
        self.entry = entry
        self.model: ModelInfo = entry.model
        self._events = events
        self._first = first
        self._text: list[str] = []
        # Each StreamInfo carries all that is known so far (routing.providers.base): keep the last.
        self._info = info[-1] if info else StreamInfo()
        self.ttft_ms = elapsed_ms(time.monotonic() - run.started) if first else None
        self._relay = self._run()
        self._started = False
        self._result: Result | None = None

    @property
    def served(self) -> str:
        return self.model.handle

    @property
    def request_id(self) -> str:
        return self.run.job.request_id

    def __aiter__(self) -> AsyncIterator[Delta | Finished | Broken]:
        return self._relay

    async def aclose(self) -> None:
        if not self._started:  # closed before any event was asked for: still stop and record
            await self._close_upstream()
            await self._end(GenerationStatus.CLIENT_DISCONNECTED, None)
        await self._relay.aclose()

    async def _run(self) -> AsyncIterator[Delta | Finished | Broken]:
        self._started = True
        record = self.run.record
        record.ttft_ms = self.ttft_ms
        try:
            if self._first is not None:
                self._text.append(self._first.text)
                yield self._first
            while True:
                try:
                    event = await self._next()
                except StopAsyncIteration:
                    break
                if isinstance(event, Delta):
                    if event.text:
                        self._text.append(event.text)
                        yield event
                else:
                    self._info = event
        except ProviderError as error:
            result = await self._end(GenerationStatus.FAILED_MID_STREAM, error)
            yield Broken(error, result)
            return
        except Exception:  # a bug: the client still gets its error event, and the row is kept
            error = ProviderError(Category.BAD_RESPONSE, "internal error while relaying the stream")
            result = await self._end(GenerationStatus.FAILED_MID_STREAM, error, counted=False)
            yield Broken(error, result)
            return
        except (asyncio.CancelledError, GeneratorExit):
            # The client went away: stop the upstream spend first (S6), then the row (S7).
            await self._close_upstream()
            await self._end(GenerationStatus.CLIENT_DISCONNECTED, None)
            raise
        finally:
            await self._close_upstream()
        result = await self._end(None, None)
        yield Finished(result)

    async def _next(self) -> Any:
        """The next upstream event within the request's deadline (S4's idle limit is the
        adapter's read timeout)."""
        remaining = self.run.deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0)):
                return await anext(self._events)
        except TimeoutError:
            raise DeadlineReached(Category.TIMEOUT, "deadline of the request reached mid-stream") from None

    async def _close_upstream(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            await events.aclose()

    async def _end(self, failure: str | None, error: ProviderError | None, *, counted: bool = True) -> Result:
        """Settle the breaker and write the rows, once, shielded: the client leaving must
        not cancel the record."""
        if self._result is not None:
            return self._result
        run, record = self.run, self.run.record
        served = record.attempts[-1]  # the attempt that committed
        served.provider_request_id = (self._info.provider_request_id or "")[:200]
        complete = failure is None
        completion = Completion(
            text="".join(self._text),
            tokens_in=self._info.tokens_in,
            # Partial output is counted by qfweb: a provider's count, if any came, is of
            # what it sent, not of what the client got.
            tokens_out=self._info.tokens_out if complete else None,
            finish_reason=self._info.finish_reason,
            provider_request_id=served.provider_request_id,
        )
        run.served(self.entry, completion)
        if failure is not None:
            record.status = failure
            record.error_code = "upstream_stream_error" if error else "client_disconnected"
        if error is not None:
            served.outcome = OUTCOMES[error.category]
            served.http_status = error.status
            served.error_text = error.message
            # A break after commit counts like any failure (R1), unless it is our own
            # deadline or the request's fault.
            if counted and not isinstance(error, DeadlineReached):
                provider = run.snapshot.providers[self.model.provider]
                run.count_failure(error, provider, self.model, Admission(State.CLOSED), self.model.max_retries)
        elif failure is not None:
            served.outcome = AttemptOutcome.CANCELLED
        elif run.admission is not None:  # finished: now the failures before it are forgotten
            circuit.record_success(Admission(State.CLOSED, failing=run.admission.failing))
        record.latency_ms = elapsed_ms(time.monotonic() - run.started)
        self._result = run.result(self.entry, completion)
        await awrite(record)
        return self._result
