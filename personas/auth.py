"""How API requests authenticate (STYLE B-12; RELIABILITY.md, client API keys and OWASP API2).

Apps send `Authorization: Bearer qf_...` (what the openai SDK sends with `api_key=`); the
dashboard's own calls ride the staff session, with Django's CSRF check. Either way the
operation gets a `routing.access.Caller` as `request.auth`. Keys are never read from the
query string.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from ninja.security import APIKeyCookie, HttpBearer

from personas.keys import acaller_for_key, caller_for_key
from qfweb.errors import QfError, RateLimited
from routing import ratelimit
from routing.access import Caller
from routing.offloop import run_sync

FAILED_AUTH_PER_MINUTE = 30  # per client address, then 429 (Coolify's figure)


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        return _count_failure(request, caller_for_key(token))


class AsyncApiKeyAuth(HttpBearer):
    async def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        return _count_failure(request, await acaller_for_key(token))


def _count_failure(request: HttpRequest, caller: Caller | None) -> Caller | None:
    """Guessing keys from one address is cut off after FAILED_AUTH_PER_MINUTE misses."""
    if caller is None:
        address = request.META.get("REMOTE_ADDR", "")
        if wait := ratelimit.take(f"authfail:{address}", FAILED_AUTH_PER_MINUTE):
            raise RateLimited("too many failed authentications", retry_after=wait, field="authorization")
    return caller


class StaffSessionAuth(APIKeyCookie):
    """A logged-in staff user's session; ninja checks the CSRF token on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # No session cookie: an app without a key gets 401, not a CSRF failure.
        if self.param_name not in request.COOKIES:
            return None
        try:
            return super()._get_key(request)
        except MultiPartParserError as exc:
            # The CSRF check reads the form body; a malformed one is the client's error.
            raise QfError(f"cannot be parsed: {exc}", field="body") from None

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            return Caller.staff(user.get_username(), superuser=user.is_superuser)
        return None


class AsyncStaffSessionAuth(StaffSessionAuth):
    """The same for async operations: loading the session user is a query."""

    async def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:  # type: ignore[override]
        return await run_sync(StaffSessionAuth.authenticate, self, request, key)


# Sync operations run in a thread already; async ones (generation) must not block the loop.
api_auth = [ApiKeyAuth(), StaffSessionAuth()]
async_api_auth = [AsyncApiKeyAuth(), AsyncStaffSessionAuth()]
