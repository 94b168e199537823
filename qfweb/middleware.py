"""Middleware of our own; every one is async-capable, so the async API views run on the
server's event loop with no thread hop (STACK B1).

Django's own middleware (MiddlewareMixin) is async-capable only in name: on an async request
it runs each hook through sync_to_async, in a thread made for that request; seven of them
cost 14 hops and a thread start per API call (issue 8's profile). Their hooks read the
request and set headers, so here they run on the loop; the few that can reach the database
(saving a modified session, storing messages) still go to the thread when they would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security
from whitenoise.middleware import WhiteNoiseMiddleware

from routing.snapshot import one_version

REQUEST_ID_HEADER = "X-Request-ID"


class _BothModes:
    """A middleware of our own, sync or async as the stack around it: `call` and `__acall__`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.__acall__(request) if self.is_async else self.call(request)

    def call(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError


class RequestIdMiddleware(_BothModes):
    """Every response carries the id of its request (`X-Request-ID`), made here, never taken
    from the client: the generation rows, logs and error bodies are found by it."""

    def call(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = uuid.uuid4().hex
        return _tag(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = uuid.uuid4().hex
        return _tag(request, await self.get_response(request))


class ConfigVersionMiddleware(_BothModes):
    """The configuration version is read from the shared cache once per request, however
    many cached values (snapshot, personas, key scopes) ask for it (routing.snapshot)."""

    def call(self, request: HttpRequest) -> HttpResponseBase:
        with one_version():
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        with one_version():
            return await self.get_response(request)


def _tag(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    response.setdefault(REQUEST_ID_HEADER, request.request_id)
    return response


def request_id_of(request: HttpRequest) -> str:
    """The request's id; requests built outside the middleware stack get one here."""
    if not hasattr(request, "request_id"):
        request.request_id = uuid.uuid4().hex
    return request.request_id


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, made async-capable. WhiteNoise 6 is sync-only, and one sync middleware
    makes Django run everything below it, the async API views included, in a worker thread
    on an event loop of its own (STACK B1): a thread per request, and a stream's background
    work tied to a loop that ends with the view."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        super().__init__(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        # Finding a file may touch the disk (autorefresh in development): off the loop then.
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            response = await sync_to_async(self.serve)(static_file, request)
            if response.streaming:
                response.streaming_content = _read_in_thread(iter(response.streaming_content))
            return response
        return await self.get_response(request)


async def _read_in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A file's chunks, each read off the loop. Django would otherwise read a sync iterator
    whole into memory under ASGI, with a warning on every static file."""
    while (chunk := await sync_to_async(next, thread_sensitive=False)(chunks, None)) is not None:
        yield chunk


class InlineHooks:
    """For a MiddlewareMixin class whose hooks do no I/O: on an async request they run on
    the loop. `writes` names the case where process_response may reach the database."""

    def __init__(self, get_response: Callable) -> None:
        super().__init__(get_response)  # type: ignore[call-arg]
        if self.async_mode and hasattr(self, "process_view"):
            # Django wraps a sync process_view in sync_to_async; a coroutine it calls as is.
            process_view = self.process_view

            async def inline_process_view(*args: object) -> HttpResponseBase | None:
                return process_view(*args)

            self.process_view = inline_process_view

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if not hasattr(self, "process_response"):
            return response
        if self.writes(request):
            return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
        return self.process_response(request, response)

    def writes(self, request: HttpRequest) -> bool:
        return False


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    pass


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    """The token is in a cookie (CSRF_USE_SESSIONS is off), so no hook reads the session."""


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """request.user stays lazy: the views that read it run in a thread."""


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    def writes(self, request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    def writes(self, request: HttpRequest) -> bool:
        # Messages read or added may be stored in (or cleared from) the session.
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class ContentSecurityPolicyMiddleware(InlineHooks, CSPMiddleware):
    """django-csp: its hooks only build a header."""
