from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def environment(request: HttpRequest) -> dict[str, str]:
    """Which mode serves the page, so an operator never mistakes dev data for production."""
    return {"qf_env": settings.QF_ENV}
