"""Server-sent events for both APIs: when to commit, how to keep quiet, how to end
(RELIABILITY.md S1, S2, S3, S6, S8).

The status line goes out only when the first piece of content is in hand (S1): until then a
failure falls back, and if the whole chain fails the view raises and the client gets a plain
JSON error with a real status. A model that stays silent past QF_STREAM_COMMIT_TIMEOUT gets
the response committed anyway, then `: ping` comments every QF_STREAM_PING_S (S3), so proxies
do not cut the line; a failure after that is an error event, never a silent end (S2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from django.conf import settings
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.engine import GenerationFailed, Job, Run
from routing.providers.base import Delta
from routing.streaming import Broken, Finished, LiveStream, open_stream

logger = logging.getLogger("qfweb.api")
PING = ": ping\n\n"
SERVED_HEADER = "X-QF-Served-Model"
start_run = Run.start
BUDGET_HEADER = "X-QF-Budget-Warning"  # a key or persona past its budget's warning level


def warn(response: HttpResponseBase, warnings: tuple[str, ...]) -> None:
    if warnings:
        response[BUDGET_HEADER] = "; ".join(warnings)


class Renderer(Protocol):
    """How one API writes its events."""

    def delta(self, stream: LiveStream, delta: Delta) -> str: ...

    def end(self, stream: LiveStream, event: Finished | Broken) -> str: ...

    def failure(self, failed: GenerationFailed) -> str:
        """The chain failed after an early commit (S3): the error as an event."""
        ...


def frame(data: str, event: str | None = None) -> str:
    # json.dumps never emits a raw newline, so one data line is always enough.
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


async def stream_response(job: Job, renderer: Renderer) -> StreamingHttpResponse:
    """Raises GenerationFailed (already recorded) when the chain fails before the commit."""
    # Refusals (a spent budget, no model) and budget warnings are known before any commit,
    # even one forced early by a silent model.
    run = await start_run(job)
    opening = asyncio.ensure_future(open_stream(job, run=run))
    try:
        await asyncio.wait({opening}, timeout=settings.QF_STREAM_COMMIT_TIMEOUT)
    except asyncio.CancelledError:  # the client left while we waited: stop and record
        await _abandon(opening)
        raise
    if opening.done():
        stream = opening.result()
        response = _response(_relay(stream, renderer), stream.served, opening)
    else:
        response = _response(_after_early_commit(opening, renderer, job.request_id), None, opening)
    warn(response, run.warnings)
    return response


class EventStreamResponse(StreamingHttpResponse):
    """Closing the response also settles the stream behind it. Django closes a response
    whose client left before the first chunk was asked for, and then never starts our event
    generator, so its own clean-up could not run (S6, S7). Settling twice is harmless."""

    def __init__(self, events: AsyncIterator[str], opening: asyncio.Future) -> None:
        super().__init__(events, content_type="text/event-stream; charset=utf-8")
        self._opening = opening
        self._loop = asyncio.get_running_loop()

    def close(self) -> None:
        super().close()
        # Django may call this from a worker thread (sync_to_async): hand it to our loop,
        # unless that loop is gone (a WSGI request's own loop ends with it).
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_settle, self._opening)


_settling: set[asyncio.Task] = set()  # a task only weakly referenced by the loop may vanish


def _settle(opening: asyncio.Future) -> None:
    task = asyncio.ensure_future(_abandon(opening))
    _settling.add(task)
    task.add_done_callback(_settling.discard)


def _response(events: AsyncIterator[str], served: str | None, opening: asyncio.Future) -> StreamingHttpResponse:
    response = EventStreamResponse(events, opening)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the whole stream
    if served:
        response[SERVED_HEADER] = served
    return response


async def _relay(stream: LiveStream, renderer: Renderer) -> AsyncIterator[str]:
    # aclosing: a client that goes away closes upstream at once and leaves its row (S6).
    async with contextlib.aclosing(stream):
        async for event in stream:
            if isinstance(event, Delta):
                yield renderer.delta(stream, event)
            else:  # the rows are written before this last event is yielded (S7)
                yield renderer.end(stream, event)


async def _after_early_commit(opening: asyncio.Future, renderer: Renderer, request_id: str) -> AsyncIterator[str]:
    handed_over = False
    try:
        while not opening.done():
            yield PING
            await asyncio.wait({opening}, timeout=settings.QF_STREAM_PING_S)
        try:
            stream = opening.result()
        except GenerationFailed as failed:
            yield renderer.failure(failed)
            return
        except Exception:  # a bug, already recorded: the client still gets its one error (S2)
            logger.exception("opening a committed stream failed")
            yield renderer.failure(
                GenerationFailed("internal error", status=500, code="internal_error", request_id=request_id)
            )
            return
        handed_over = True
    finally:
        # The client may leave at a ping just as the model answered: close what it opened.
        if not handed_over:
            await _abandon(opening)
    async with contextlib.aclosing(_relay(stream, renderer)) as relay:
        async for chunk in relay:
            yield chunk


async def _abandon(opening: asyncio.Future) -> None:
    """Cancel a walk still looking for its first content (it records the disconnect), or
    close the stream it already opened (which records it too)."""
    if not opening.done():
        opening.cancel()
    try:
        stream = await asyncio.shield(opening)
    except (asyncio.CancelledError, Exception):
        return
    await stream.aclose()
