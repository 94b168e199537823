"""Middleware of our own; every one is async-capable, so the async API views run on the
server's event loop with no thread hop (STACK B1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from csp.middleware import CSPMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Every response carries the id of its request (`X-Request-ID`), made here, never taken
    from the client: the generation rows, logs and error bodies are found by it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.is_async:
            return self.__acall__(request)
        request.request_id = uuid.uuid4().hex
        return _tag(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = uuid.uuid4().hex
        return _tag(request, await self.get_response(request))


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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp, made async-capable: its hooks only build a header, so they run inline
    instead of in the thread MiddlewareMixin would hop to on every async request."""

    sync_capable = True
    async_capable = True

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)
        return self.process_response(request, await self.get_response(request))
