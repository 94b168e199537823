"""routing.recording's group commit: usage rows that wait together are written in one
transaction, one bad row costs only itself, and no row is lost to a cancelled request or
a shutdown (issue 8; DESIGN.md, "nothing is lost")."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError

from routing import recording
from routing.models import Attempt, Generation
from routing.recording import AttemptRecord, GenerationRecord, awrite, drain
from tests.factories import model, provider

pytestmark = pytest.mark.django_db(transaction=True)


def record(model_id: int | None = None, **fields: object) -> GenerationRecord:
    """A served generation with one attempt, on `model_id`."""
    attempt = AttemptRecord(position=1, handle="a:gpt-a", model_id=model_id, outcome="ok")
    return GenerationRecord(
        request_id=uuid.uuid4().hex, status="ok", served_model_id=model_id, served_handle="a:gpt-a",
        attempts=[attempt], **fields,
    )


async def stored(*records: GenerationRecord) -> set[str]:
    """The request ids of these records that have their row."""
    rows = Generation.objects.filter(request_id__in=[r.request_id for r in records])
    return {value.hex async for value in rows.values_list("request_id", flat=True)}


@pytest.fixture
def transactions(monkeypatch) -> list[int]:
    """The number of records of each transaction, appended once it has committed."""
    sizes: list[int] = []
    write = recording._write

    def recorded(records: list[GenerationRecord]) -> None:
        write(records)
        sizes.append(len(records))

    monkeypatch.setattr(recording, "_write", recorded)
    return sizes


async def test_rows_submitted_together_share_transactions(transactions):
    records = [record() for _ in range(12)]
    await asyncio.gather(*(awrite(r) for r in records))
    assert await stored(*records) == {r.request_id for r in records}
    assert sum(transactions) == 12 and len(transactions) < 12


async def test_a_bad_row_fails_alone_and_its_request_is_told(caplog):
    good, bad, other = record(), record(cost=Decimal(-1)), record()  # the cost constraint refuses -1
    outcomes = await asyncio.gather(awrite(good), awrite(bad), awrite(other), return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], IntegrityError)
    assert await stored(good, bad, other) == {good.request_id, other.request_id}
    assert f"usage row {bad.request_id} not written: IntegrityError" in caplog.text


async def test_a_cancelled_request_still_gets_its_row():
    """Here the cancelled request is the one whose row started the writer."""
    mine, theirs = record(), record()
    cancelled = asyncio.create_task(awrite(mine))
    waiting = asyncio.create_task(awrite(theirs))
    await asyncio.sleep(0)  # both are queued
    cancelled.cancel()
    await waiting
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await stored(mine, theirs) == {mine.request_id, theirs.request_id}


async def test_drain_returns_once_every_queued_row_is_committed(transactions):
    records = [record() for _ in range(3)]
    waiting = [asyncio.create_task(awrite(r)) for r in records]
    await asyncio.sleep(0)  # queued; nothing but drain() waits for them
    await drain()
    assert sum(transactions) == 3
    assert await stored(*records) == {r.request_id for r in records}
    await asyncio.gather(*waiting)


@pytest.fixture
def live_and_deleted(transactional_db) -> tuple[int, int]:
    """The ids of a model and of one deleted since (as while a request ran)."""
    upstream = provider(name="a", kind="openai")
    deleted = model(upstream, "gpt-gone")
    deleted_id = deleted.pk
    deleted.delete()
    return model(upstream, "gpt-a").pk, deleted_id


async def test_a_row_whose_model_was_deleted_is_kept_by_handle(live_and_deleted):
    live_id, deleted_id = live_and_deleted
    orphan, served = record(deleted_id), record(live_id)
    await asyncio.gather(awrite(orphan), awrite(served))
    rows = {g.request_id.hex: g async for g in Generation.objects.all()}
    kept = rows[orphan.request_id]
    assert (kept.served_model_id, kept.served_handle) == (None, "a:gpt-a")
    assert rows[served.request_id].served_model_id == live_id  # the rest of the batch keeps its model
    attempt = await Attempt.objects.aget(generation__request_id=orphan.request_id)
    assert (attempt.model_id, attempt.model_handle) == (None, "a:gpt-a")
