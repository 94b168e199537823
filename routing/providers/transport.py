"""The upstream connection pool: aiohttp's under httpx's client API (httpx-aiohttp).

httpx's own pool (httpcore) slows down under concurrency; over aiohttp's the same client
served about five times the requests a second at 32 clients on this machine (STACK.md,
"The upstream HTTP client: measured here"; issue 8). The adapters keep httpx's API.

httpx-aiohttp turns aiohttp's errors into httpx's coarsely (a server that hangs up
mid-reply becomes a ConnectTimeout), and which httpx error it is decides the failure's
category and whether the breaker blames the provider (routing.providers.failures). So the
original aiohttp error is mapped again here, precisely, before anything classifies it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def precise(exc: httpx.TransportError) -> httpx.TransportError:
    """The httpx error that says what the aiohttp error behind `exc` meant."""
    cause = exc.__cause__ or exc
    kind: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):  # connecting, or waiting for the pool
        kind = httpx.ConnectTimeout
    elif isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        kind = httpx.ProxyError
    elif isinstance(cause, aiohttp.ClientConnectorError):  # refused, DNS, TLS
        kind = httpx.ConnectError
    elif isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = httpx.RemoteProtocolError  # hung up, or a body cut short or malformed
    elif isinstance(cause, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(cause, aiohttp.ClientError | OSError):  # reset and the like
        kind = httpx.ReadError
    else:
        return exc
    return kind(str(cause) or type(cause).__name__)


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            raise precise(exc) from None

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.TransportError as exc:
            raise precise(exc) from None


class UpstreamTransport(AiohttpTransport):
    def __init__(self, *, limits: httpx.Limits, trust_env: bool) -> None:
        super().__init__(limits=limits, trust_env=trust_env)
        self.trust_env = trust_env

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        # Proxies from the environment only when asked (QF_UPSTREAM_TRUST_ENV).
        return aiohttp.ClientSession(connector=connector, trust_env=self.trust_env)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise precise(exc) from None
        response.stream = _Body(response.stream)
        return response
