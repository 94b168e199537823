"""Usage under /api/usage: the generations, one with its attempts, and a summary.

A client key reads only its own generations (routing.usage.generations_for); a staff session
reads all of them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router

from qfweb.schemas import errors
from routing.schemas.usage import (
    UsageDetailOut,
    UsageFilters,
    UsagePage,
    UsagePageOut,
    UsageSummaryOut,
)
from routing.usage import generations_for, usage_detail, usage_page, usage_summary

router = Router(tags=["usage"])


@router.get("/usage", response={200: UsagePageOut, **errors()}, summary="Generations, newest first")
def usage_list(request: HttpRequest, filters: UsagePage = Query(...)) -> dict[str, Any]:
    chosen = filters.model_dump(exclude={"page", "page_size"})
    generations = generations_for(request.auth, **chosen)
    return usage_page(generations, page=filters.page, page_size=filters.page_size)


# Before /usage/{request_id}, which would otherwise take "summary" for an id.
@router.get(
    "/usage/summary", response={200: UsageSummaryOut, **errors()},
    summary="Usage totals and breakdowns",
)
def usage_summary_get(request: HttpRequest, filters: UsageFilters = Query(...)) -> dict[str, Any]:
    return usage_summary(generations_for(request.auth, **filters.model_dump()))


@router.get(
    "/usage/{request_id}", response={200: UsageDetailOut, **errors(404)},
    summary="One generation with its attempts",
)
def usage_get(request: HttpRequest, request_id: UUID) -> dict[str, Any]:
    return usage_detail(request.auth, request_id)
