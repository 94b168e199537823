"""HTTP/1.1 by hand: parse requests and frame replies, so a reply can break at any byte."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_HEAD = 64 * 1024


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    model: str | None = None
    params: dict[str, str] = field(default_factory=dict)  # path segments the route captured

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    def credential(self) -> str | None:
        """The key the request carried, in whichever header (or query) its API uses."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:]
        for name in ("x-api-key", "x-goog-api-key", "xi-api-key"):
            if name in self.headers:
                return self.headers[name]
        return self.query.get("key")


class Conn:
    """A connection with a read buffer of its own, so watching for the client's EOF while a
    reply is being written never loses bytes of a next (pipelined) request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()

    async def _fill(self) -> bool:
        try:
            data = await self.reader.read(65536)
        except ConnectionError:
            return False
        self.buf += data
        return bool(data)

    async def until_peer_closes(self) -> None:
        while await self._fill():
            pass

    async def _read_until(self, sep: bytes) -> bytes | None:
        while (end := self.buf.find(sep)) < 0:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("head too large")
            if not await self._fill():
                if self.buf:
                    raise BadRequest("connection closed mid-request")
                return None
        data = bytes(self.buf[: end + len(sep)])
        del self.buf[: end + len(sep)]
        return data

    async def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not await self._fill():
                raise BadRequest("connection closed mid-body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = await self._read_until(b"\r\n")
            if size_line is None:
                raise BadRequest("connection closed mid-body")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                # Trailers (rare) end with a blank line like the head.
                while await self._read_until(b"\r\n") not in (b"\r\n", None):
                    pass
                return bytes(body)
            body += await self._read_exact(size)
            await self._read_exact(2)

    async def read_request(self) -> Request | None:
        """The next request, or None when the client closed the connection between requests."""
        if not self.buf and not await self._fill():
            return None
        if not self.buf[:1].isalpha():
            # Not HTTP (a TLS ClientHello starts with 0x16): close at once, as a real server
            # answering 400 would, so the client fails fast.
            raise BadRequest("not an HTTP request")
        head = await self._read_until(b"\r\n\r\n")
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise BadRequest(f"bad request line {lines[0]!r}") from None
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            body = await self._read_exact(int(headers.get("content-length") or 0))
        url = urlsplit(target)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return Request(method, unquote(url.path), dict(parse_qsl(url.query)), headers, body, parsed)

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()


REASONS = {529: "Site Overloaded"}


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return REASONS.get(status, "Unknown")


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason(status)}", f"date: {formatdate(usegmt=True)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (an empty `data` would end the body, so it is skipped)."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


LAST_CHUNK = b"0\r\n\r\n"
