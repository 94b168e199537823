"""Usage rows: one Generation and its Attempts per request (DESIGN.md, "nothing is lost").
The engine fills the plain records below as it goes and writes them once, also when a
stream breaks or the client goes away.

Writes are group-committed (issue 8): requests that finish while a write is under way
queue, and the next transaction stores all of them, so a busy worker pays for one
transaction per batch rather than per request. Each request still waits for its own rows
to be committed before it answers, so an answered request always has its rows; a request
whose client went away cannot cancel its write, and the ASGI lifespan shutdown waits
for the queue (`drain`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from qfweb.redact import redact
from routing import budget
from routing.models import Attempt, Generation, Provider
from routing.offloop import run_sync
from routing.providers.base import ERROR_TEXT_LIMIT


@dataclass(slots=True)
class AttemptRecord:
    position: int
    handle: str
    model_id: int | None
    outcome: str
    http_status: int | None = None
    latency_ms: int | None = None
    error_text: str = ""
    provider_request_id: str = ""


@dataclass(slots=True)
class GenerationRecord:
    request_id: str
    persona_slug: str = ""
    task_name: str = ""
    api_key_id: int | None = None
    modality: str = "text"
    requested_override: str = ""
    is_streamed: bool = False
    status: str = "pending"
    error_code: str = ""
    served_model_id: int | None = None
    served_handle: str = ""
    served_level: str = ""
    finish_reason: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    images: int | None = None
    characters: int | None = None
    usage_estimated: bool = False
    cost: Decimal | None = None
    input_price: Decimal | None = None
    output_price: Decimal | None = None
    image_price: Decimal | None = None
    char_price: Decimal | None = None
    latency_ms: int | None = None
    ttft_ms: int | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    # provider name -> health state that live traffic proved (R1: credential_invalid,
    # model_missing); written with the rows, read by the dashboard.
    health: dict[str, str] = field(default_factory=dict)


GENERATION_FIELDS = [
    f.name for f in Generation._meta.concrete_fields if f.name not in ("id", "created_at", "served_model")
]


logger = logging.getLogger("qfweb.routing")
MAX_BATCH = 200


def write_many(records: list[GenerationRecord]) -> list[BaseException | None]:
    """Store the records in one transaction; for each, None or why it could not be stored.
    Should the batch fail, each record is tried on its own, so that one bad row costs
    only itself."""
    try:
        _write(records)
        errors: list[BaseException | None] = [None] * len(records)
    except Exception:  # noqa: BLE001 (each record is retried and reports its own error)
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        errors = [_write_one(record) for record in records]
    budget.count_spend(record for record, error in zip(records, errors) if error is None)
    return errors


def _write_one(record: GenerationRecord) -> BaseException | None:
    try:
        try:
            _write([record])
        except IntegrityError:
            # A model deleted while the request ran: keep the row, by handle only.
            record.served_model_id = None
            for attempt in record.attempts:
                attempt.model_id = None
            _write([record])
    except Exception as exc:  # noqa: BLE001 (handed to the request that waits for it)
        return exc
    return None


def _write(records: list[GenerationRecord]) -> None:
    """Error texts are scrubbed once more here, the last gate before the database
    (RELIABILITY.md, redaction rule 3)."""
    finished = timezone.now()
    with transaction.atomic():
        generations = Generation.objects.bulk_create([
            Generation(
                **{name: getattr(record, name) for name in GENERATION_FIELDS if hasattr(record, name)},
                served_model_id=record.served_model_id, finished_at=finished,
            )
            for record in records
        ])
        Attempt.objects.bulk_create([
            Attempt(
                generation=generation,
                position=a.position,
                model_id=a.model_id,
                model_handle=a.handle,
                outcome=a.outcome,
                http_status=a.http_status,
                latency_ms=a.latency_ms,
                error_text=redact(a.error_text)[:ERROR_TEXT_LIMIT],
                provider_request_id=a.provider_request_id[:200],
            )
            for generation, record in zip(generations, records)
            for a in record.attempts
        ])
        health = {provider: state for record in records for provider, state in record.health.items()}
        for provider, state in health.items():
            # update(), not save(): health is not configuration and must not rebuild every
            # process's snapshot.
            Provider.objects.filter(name=provider).exclude(health_state=state).update(health_state=state)


class UsageLog:
    """The queue of one event loop and the task that writes it, a batch at a time."""

    def __init__(self) -> None:
        self.queue: list[tuple[GenerationRecord, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    def submit(self, record: GenerationRecord) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        # Retrieved here: a request that went away is not there to read its error (logged).
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.queue.append((record, future))
        if self.task is None:
            # A context of its own: the task outlives the request that started it, and
            # must not use (or keep alive) that request's sync thread.
            self.task = loop.create_task(self._write_queued(), context=contextvars.Context())
        return future

    async def _write_queued(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
                try:
                    # Outside a request nothing else hands the connection back to the pool.
                    errors = await run_sync(write_many, [record for record, _ in batch])
                except BaseException as exc:  # noqa: BLE001 (every waiting request is told)
                    errors = [exc] * len(batch)
                for (record, future), error in zip(batch, errors):
                    if error is not None:
                        logger.error("usage row %s not written: %s", record.request_id, type(error).__name__)
                    if future.done():
                        continue
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)
        finally:
            self.task = None


_logs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, UsageLog] = weakref.WeakKeyDictionary()


async def awrite(record: GenerationRecord) -> None:
    """Queue the record and wait until it is committed (raises what stopped it). Cancelling
    the caller does not cancel the write."""
    log = _logs.setdefault(asyncio.get_running_loop(), UsageLog())
    await asyncio.shield(log.submit(record))


async def drain() -> None:
    """Wait for the rows queued on this loop (ASGI shutdown)."""
    log = _logs.get(asyncio.get_running_loop())
    while log is not None and log.task is not None:
        await asyncio.shield(log.task)
