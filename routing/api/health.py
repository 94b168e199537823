"""Provider health under /api/ (issue 6): "check now", and the history of checks.

Any caller may read the history (like the provider itself); the error texts, staff only. A
check calls the provider with its credential, so it needs the catalog's write scope.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from qfweb.schemas import errors
from routing import health
from routing.access import require_catalog_write
from routing.models import HealthCheck
from routing.offloop import run_sync
from routing.schemas.catalog import NAME, PageQuery
from routing.schemas.health import HealthCheckOut, HealthCheckPage
from routing.selectors import provider_found

router = Router(tags=["health"])


@router.post(
    "/providers/{name}/health-check",
    response={201: HealthCheckOut, **errors(403, 404)},
    summary="Probe a provider now",
    description="Probes the provider with the cheapest call its API offers, stores the check, "
    "updates the provider's health state and opens or closes its circuit, as the periodic "
    "check does.",
)
async def health_check_now(request: HttpRequest, name: str = NAME) -> Status[HealthCheck]:
    require_catalog_write(request.auth)
    provider = await run_sync(provider_found, name)
    return Status(201, await health.acheck(provider.name))


@router.get(
    "/providers/{name}/health",
    response={200: HealthCheckPage, **errors(404)},
    summary="A provider's health checks, newest first",
)
def health_history(request: HttpRequest, page: Query[PageQuery], name: str = NAME) -> dict[str, Any]:
    provider = provider_found(name)
    checks = page.of(HealthCheck.objects.filter(provider=provider).select_related("provider").order_by("-checked_at", "-id"))
    if not request.auth.is_staff:
        # An upstream's error text can hold what it should not show (an internal page
        # behind a private base URL): staff only, as in the usage record.
        for check in checks["items"]:
            check.error_text = ""
    return checks
