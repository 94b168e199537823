"""Carry out one step on the wire: render it with the endpoint, then send it whole, cut it,
stall it or break it at the byte level."""
from __future__ import annotations

import asyncio
import socket
import struct

from tests.fault.endpoint import Answer, Endpoint, Failure, Reply
from tests.fault.httpio import LAST_CHUNK, Conn, Request, chunk, head, reason
from tests.fault.steps import (
    Html,
    Malformed,
    Ok,
    Redirect,
    Reset,
    Stall,
    Status,
    Step,
    Stream,
    Truncated,
)


def answer_of(step: Ok | Stream, model: str | None, known: tuple[str, ...],
              page_size: int | None = None) -> Answer:
    if isinstance(step, Stream):
        return Answer(model, step.chunks, step.tokens_in, step.tokens_out, step.usage, "stop",
                      known, page_size)
    return Answer(model, step.pieces(model), step.tokens_in, step.tokens_out, step.usage,
                  step.finish, known, page_size)


def failure_of(step: Status, req: Request) -> Failure:
    message = step.message or f"upstream says {step.code}"
    if step.echo_key:
        # As real 401 bodies do, which is what redaction must cope with.
        key = req.credential() or ""
        default = f"Incorrect API key provided: {key}"
        message = f"{step.message}: {key}" if step.message else default
    return Failure(step.code, message, step.param, step.retry_after)


def retry_headers(step: Status) -> dict[str, str]:
    headers = {}
    if isinstance(step.retry_after, str):
        headers["retry-after"] = step.retry_after  # an HTTP date
    elif step.retry_after is not None:
        headers["retry-after"] = f"{step.retry_after:g}"
    if step.retry_after_ms is not None:
        headers["retry-after-ms"] = str(step.retry_after_ms)
    return headers


def abort_with_rst(conn: Conn) -> None:
    # Linger on with a zero timeout turns close() into a RST instead of a FIN.
    sock = conn.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.writer.transport.abort()


async def close(conn: Conn) -> bool:
    """Flush what was written, then FIN without ending the body: a cut reply."""
    await conn.drain()
    conn.writer.close()
    return False


def connection(req: Request) -> dict[str, str]:
    return {"connection": "keep-alive" if req.keep_alive else "close"}


async def send(conn: Conn, req: Request, reply: Reply, headers: dict[str, str]) -> bool:
    conn.write(head(reply.status, {
        "content-type": reply.content_type,
        "content-length": str(len(reply.body)),
        **connection(req),
        **headers,
        **reply.headers,
    }) + reply.body)
    await conn.drain()
    return req.keep_alive


def reached(limit: int | None, sent: int, total: int) -> bool:
    """Whether a cut/stall limit applies once `sent` content events are out (a limit past
    the last event applies after it)."""
    return limit is not None and sent == min(limit, total)


async def send_stream(conn: Conn, req: Request, endpoint: Endpoint, answer: Answer,
                      step: Ok | Stream, headers: dict[str, str]) -> bool:
    plan = endpoint.stream(req, answer)
    conn.write(head(200, {
        "content-type": plan.content_type,
        "transfer-encoding": "chunked",
        "cache-control": "no-cache",
        **connection(req),
        **headers,
    }) + b"".join(chunk(frame) for frame in plan.prelude))
    await conn.drain()
    shape = step if isinstance(step, Stream) else Stream()  # ok(): no cut, stall or drip
    total = len(plan.content)
    for sent in range(total + 1):
        if reached(shape.cut_after, sent, total):
            return await close(conn)
        if reached(shape.stall_after, sent, total):
            await asyncio.sleep(shape.stall_s)
            return await close(conn)
        if sent == total:
            break
        if sent and shape.delay:
            await asyncio.sleep(shape.delay)
        conn.write(chunk(plan.content[sent]))
        await conn.drain()
    if shape.error_event:
        tail = [endpoint.stream_error(req, shape.error_event)]
    else:
        tail = plan.ending
    conn.write(b"".join(chunk(frame) for frame in tail) + LAST_CHUNK)
    await conn.drain()
    return req.keep_alive


HTML = (
    "<!DOCTYPE html>\n<html><head><title>{code} {phrase}</title></head>\n"
    "<body><h1>{phrase}</h1><p>The upstream proxy could not serve this request.</p></body></html>\n"
)


async def respond(conn: Conn, req: Request, endpoint: Endpoint, step: Step,
                  known: tuple[str, ...], page_size: int | None = None) -> bool:
    """Answer `req` as `step` says; True when the connection may serve another request.
    `known` and `page_size` shape listings."""
    if isinstance(step, Stall):
        await asyncio.sleep(step.seconds)
        conn.writer.close()
        return False
    if isinstance(step, Reset):
        abort_with_rst(conn)
        return False
    if isinstance(step, Redirect):
        reply = Reply(302, b"", "text/plain", {"location": step.location})
        return await send(conn, req, reply, {})
    if isinstance(step, Html):
        phrase = reason(step.status)
        page = HTML.format(code=step.status, phrase=phrase).encode()
        return await send(conn, req, Reply(step.status, page, "text/html; charset=utf-8"), {})

    headers = endpoint.headers()
    streaming = endpoint.streams(req)
    if isinstance(step, Status):
        reply = endpoint.error(req, failure_of(step, req))
        return await send(conn, req, reply, headers | retry_headers(step))
    if isinstance(step, Malformed):
        if streaming:
            reply = Reply(200, endpoint.garbage, endpoint.stream_type)
        else:
            reply = Reply(200, b'{"not json')
        return await send(conn, req, reply, headers)

    answer = answer_of(step if isinstance(step, Ok | Stream) else Ok(), req.model, known,
                       page_size)
    if isinstance(step, Truncated):
        if streaming:
            full = Reply(200, endpoint.stream(req, answer).body(), endpoint.stream_type)
        else:
            full = endpoint.answer(req, answer)
        sent = full.body[: len(full.body) // 2]
        conn.write(head(200, {"content-type": full.content_type,
                              "content-length": str(len(full.body)), **headers}) + sent)
        return await close(conn)
    if streaming:
        return await send_stream(conn, req, endpoint, answer, step, headers)
    return await send(conn, req, endpoint.answer(req, answer), headers)
