"""An instant OpenAI-compatible upstream for the benchmarks: `POST .../chat/completions`,
whole or streamed (server-sent events, with the usage chunk the adapter asks for), and
`GET .../models`. HTTP/1.1 keep-alive on a raw asyncio protocol with httptools and uvloop,
so that the figures measure the gateway, not the mock.

    python bench/mock_upstream.py --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket

import httptools
import uvloop

TEXT = "Hello from the mock upstream."
COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
}).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()


def _chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "bench", "choices": choices}
    if usage:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


STREAM = b"".join([
    _chunk({"role": "assistant", "content": ""}),
    *(_chunk({"content": word}) for word in TEXT.split(" ")),
    _chunk({}, finish="stop"),
    _chunk({}, usage={"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}),
    b"data: [DONE]\n\n",
])


def _whole(body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\nx-request-id: req-bench\r\n\r\n" + body
    )


WHOLE = _whole(COMPLETION)
# A stream is sent chunked, as real providers do, in one write: the gateway still parses
# each event, and the mock costs the same for every case.
STREAMED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
    b"x-request-id: req-bench\r\n\r\n" + f"{len(STREAM):x}\r\n".encode() + STREAM + b"\r\n0\r\n\r\n"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        if self.url.endswith(b"/chat/completions"):
            self.transport.write(STREAMED if b'"stream":true' in body.replace(b" ", b"") else WHOLE)
        elif self.url.endswith(b"/models"):
            self.transport.write(_whole(MODELS))
        else:
            self.transport.write(NOT_FOUND)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(sock: socket.socket) -> None:
    server = await asyncio.get_running_loop().create_server(Upstream, sock=sock, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)  # the parent reads the port from here
    os.environ.pop("PYTHONASYNCIODEBUG", None)
    uvloop.run(serve(sock))


if __name__ == "__main__":
    main()
