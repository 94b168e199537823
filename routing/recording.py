"""Usage rows: one Generation and its Attempts per request, written in one transaction
(DESIGN.md, "nothing is lost"). The engine fills the plain records below as it goes and
writes them once, also when a stream breaks or the client goes away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone

from qfweb.redact import redact
from routing.models import Attempt, Generation, Provider
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


def write(record: GenerationRecord) -> Generation:
    """Store the generation and its attempts; error texts are scrubbed once more here, the
    last gate before the database (RELIABILITY.md, redaction rule 3)."""
    try:
        return _write(record)
    except IntegrityError:
        # A model deleted while the request ran: keep the row, by handle only.
        record.served_model_id = None
        for attempt in record.attempts:
            attempt.model_id = None
        return _write(record)


def _write(record: GenerationRecord) -> Generation:
    values = {name: getattr(record, name) for name in GENERATION_FIELDS if hasattr(record, name)}
    with transaction.atomic():
        generation = Generation.objects.create(
            **values, served_model_id=record.served_model_id, finished_at=timezone.now()
        )
        Attempt.objects.bulk_create(
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
            for a in record.attempts
        )
        for provider, state in record.health.items():
            # update(), not save(): health is not configuration and must not rebuild every
            # process's snapshot.
            Provider.objects.filter(name=provider).exclude(health_state=state).update(health_state=state)
    return generation


awrite = sync_to_async(write)
