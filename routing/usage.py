"""Reads of the usage record: generations filtered to what a caller may see, one with its
attempts, and summaries (STYLE B-7 selectors; RELIABILITY.md OWASP API1).

Every read starts from `generations_for(caller)`, which keeps a client key to its own
generations whatever filters it passes. Each read is a fixed number of queries, however
many rows match: lists and groups come from `values()` and aggregates, never from model
instances walked one by one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from qfweb.errors import NotFound
from routing.access import Caller, usage_key_filter
from routing.choices import GenerationStatus
from routing.models import Generation

# Served nothing. A client that went away is the client's doing, not a failure.
FAILURE_STATUSES = (GenerationStatus.FAILED, GenerationStatus.FAILED_MID_STREAM)

# Output name -> Generation field, for the list and the detail.
ITEM_FIELDS = {
    "request_id": "request_id",
    "created_at": "created_at",
    "persona": "persona_slug",
    "task": "task_name",
    "key_id": "api_key_id",
    "modality": "modality",
    "requested_override": "requested_override",
    "served_model": "served_handle",
    "served_level": "served_level",
    "status": "status",
    "error_code": "error_code",
    "finish_reason": "finish_reason",
    "tokens_in": "tokens_in",
    "tokens_out": "tokens_out",
    "images": "images",
    "characters": "characters",
    "usage_estimated": "usage_estimated",
    "cost": "cost",
    "latency_ms": "latency_ms",
    "ttft_ms": "ttft_ms",
    "streamed": "is_streamed",
}


def generations_for(
    caller: Caller,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    persona: str | None = None,
    task: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    key: int | None = None,
    status: str | None = None,
) -> QuerySet[Generation]:
    """The generations `caller` may see that match the filters; `since` is inclusive,
    `until` exclusive. A client key's own-key filter is applied on top of `key`, so
    naming another key's id matches nothing."""
    generations = Generation.objects.all()
    scope = usage_key_filter(caller)
    if scope is not None:
        generations = generations.filter(api_key_id=scope)
    elif not caller.is_staff:  # fail closed: neither staff nor a key sees nothing
        generations = generations.none()
    exact = {
        "created_at__gte": since,
        "created_at__lt": until,
        "persona_slug": persona,
        "task_name": task,
        "served_handle": model,
        "api_key_id": key,
        "status": status,
    }
    generations = generations.filter(**{k: v for k, v in exact.items() if v is not None})
    if provider:
        generations = generations.filter(served_handle__startswith=f"{provider}:")
    elif provider is not None:  # "", as the summary names generations that nothing served
        generations = generations.filter(served_handle="")
    return generations


def usage_page(generations: QuerySet[Generation], *, page: int, page_size: int) -> dict[str, Any]:
    """`{"count", "items"}`, newest first: two queries."""
    start = (page - 1) * page_size
    rows = generations.order_by("-created_at", "-id").values(*ITEM_FIELDS.values())
    return {"count": generations.count(), "items": _items(rows[start:start + page_size])}


def usage_detail(caller: Caller, request_id: UUID) -> dict[str, Any]:
    """One generation with its attempts; another key's generation is as missing as an
    unknown one. The attempts' error text (redacted, but an upstream's words) is added
    for staff only."""
    generation = (
        generations_for(caller).filter(request_id=request_id).prefetch_related("attempts").first()
    )
    if generation is None:
        raise NotFound(f"unknown generation {request_id}", field="request_id")
    detail = {out: getattr(generation, field) for out, field in ITEM_FIELDS.items()}
    detail["attempts"] = [
        {
            "position": a.position,
            "model": a.model_handle,
            "outcome": a.outcome,
            "http_status": a.http_status,
            "latency_ms": a.latency_ms,
            **({"error_text": a.error_text} if caller.is_staff else {}),
        }
        for a in generation.attempts.all()
    ]
    return detail


# ---- summary --------------------------------------------------------------------------

COST_PLACES = Decimal(10) ** -Generation._meta.get_field("cost").decimal_places
FIGURES = {  # each group's figures; aliased on the way in, as the names are also columns
    "requests": Count("pk"),
    "failures": Count("pk", filter=Q(status__in=FAILURE_STATUSES)),
    "tokens_in": Sum("tokens_in", default=0),
    "tokens_out": Sum("tokens_out", default=0),
    "cost": Sum("cost", default=Decimal(0)),
}
ALIASED = {f"total_{name}": figure for name, figure in FIGURES.items()}
GROUPS = {  # breakdown -> the column it groups by
    "persona": F("persona_slug"),
    "task": F("task_name"),
    "model": F("served_handle"),
    "key": F("api_key_id"),
    "status": F("status"),
    "day": TruncDate("created_at"),
}


def usage_summary(generations: QuerySet[Generation]) -> dict[str, Any]:
    """Totals and breakdowns of `generations`. Eight queries however many rows match: the
    totals, one per breakdown (providers are folded from the models), the timings."""
    generations = generations.order_by()
    totals = generations.aggregate(
        **ALIASED,
        fallbacks=Count("pk", filter=Q(status=GenerationStatus.OK_AFTER_FALLBACK)),
        estimated_cost=Sum("cost", filter=Q(usage_estimated=True), default=Decimal(0)),
    )
    groups = {name: _grouped(generations, column) for name, column in GROUPS.items()}
    groups["provider"] = _by_provider(groups["model"])
    groups["day"].sort(key=lambda g: g["name"])
    by_status = dict.fromkeys(GenerationStatus.values, 0)
    by_status.update({g["name"]: g["requests"] for g in groups["status"]})
    # Percentiles need the values themselves; fine at this scale (rollups will keep histograms).
    timings = list(generations.values_list("latency_ms", "ttft_ms"))
    latencies = [latency for latency, _ in timings if latency is not None]
    ttfts = [ttft for _, ttft in timings if ttft is not None]
    cost, estimated = money(totals["total_cost"]), money(totals["estimated_cost"])
    return {
        "totals": {
            **_figures(totals),
            "fallbacks": totals["fallbacks"],
            "by_status": by_status,
            "cost_estimated_share": float(estimated / cost) if cost else 0.0,
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p95_ms": percentile(latencies, 95),
            "ttft_p50_ms": percentile(ttfts, 50),
        },
        **{f"by_{name}": rows for name, rows in groups.items()},
    }


def percentile(values: Iterable[int], p: float) -> int | None:
    """Nearest-rank percentile: a value that occurred, never an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _grouped(generations: QuerySet[Generation], column: Any) -> list[dict[str, Any]]:
    rows = generations.annotate(group=column).values("group").annotate(**ALIASED)
    groups = [{"name": _name(row["group"]), **_figures(row)} for row in rows]
    return sorted(groups, key=lambda g: (-g["requests"], g["name"]))


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    figures = {name: row[f"total_{name}"] for name in FIGURES}
    figures["cost"] = money(figures["cost"])
    return figures


def money(value: Decimal) -> Decimal:
    """A sum at the column's precision. SQLite adds decimals as floats and returns stray
    digits (0.00100000000000000); PostgreSQL adds exactly; both then answer the same."""
    return value.quantize(COST_PLACES)


def _by_provider(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A handle is `provider:model`, so a provider's figures are the sum of its models'."""
    providers: dict[str, dict[str, Any]] = {}
    for row in models:
        name = row["name"].split(":", 1)[0] if ":" in row["name"] else ""
        group = providers.setdefault(name, {"name": name, **dict.fromkeys(FIGURES, 0)})
        for figure in FIGURES:
            group[figure] += row[figure]
    return sorted(providers.values(), key=lambda g: (-g["requests"], g["name"]))


def _name(value: object) -> str:
    """A group's name: "" for generations without one (no persona, no key, nothing served)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _items(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{out: row[field] for out, field in ITEM_FIELDS.items()} for row in rows]
