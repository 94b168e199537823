"""FaultServer: a real HTTP/1.1 server on 127.0.0.1 in a thread of its own, answering each
request with the next step programmed for its model, and recording what it saw."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

from tests.fault.endpoint import Reply
from tests.fault.httpio import BadRequest, Conn, Request
from tests.fault.respond import respond, send
from tests.fault.routes import route
from tests.fault.steps import Ok, Step


@dataclass(frozen=True)
class Recorded:
    """One request as the server read it (header names lower-case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    model: str | None


class FaultServer:
    def __init__(self) -> None:
        self.url = ""
        self._programs: dict[str, list[Step]] = {}
        self._records: list[Recorded] = []
        self._disconnects: list[str | None] = []
        # The largest page a paged listing (Anthropic, Gemini) serves, whatever the client
        # asks: a test sets it to make a short catalogue span pages.
        self.page_size: int | None = None
        # One condition guards programs and records: the test thread and the loop share them.
        self._state = threading.Condition()
        self._connections: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> FaultServer:
        # Listening before the thread runs: the URL is known and connects queue at once.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sock, started), name="fault-server", daemon=True
        )
        self._thread.start()
        started.wait(5)
        return self

    def _run(self, sock: socket.socket, started: threading.Event) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._serve, sock=sock))
        started.set()
        loop.run_forever()

    def stop(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._thread = None

    async def _shutdown(self) -> None:
        # Cancelling the connections ends stalls at once instead of after their seconds.
        self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- programs -----------------------------------------------------------------------

    def program(self, model: str, *steps: Step) -> None:
        """Answer requests for `model` with `steps`, one per request, the last repeating."""
        if not steps:
            raise ValueError("program() needs at least one step")
        with self._state:
            self._programs[model] = list(steps)

    def reset_programs(self) -> None:
        """Forget the programs and everything recorded."""
        with self._state:
            self._programs.clear()
            self._records.clear()
            self._disconnects.clear()

    def _next_step(self, model: str | None) -> tuple[Step, tuple[str, ...]]:
        with self._state:
            # "*" covers models without a program, and requests naming none (listings).
            steps = self._programs.get(model) or self._programs.get("*") or [Ok()]
            step = steps.pop(0) if len(steps) > 1 else steps[0]
            known = tuple(name for name in self._programs if name != "*")
        return step, known

    # ---- inspection ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request in arrival order (a copy, safe to read while the server runs)."""
        with self._state:
            return list(self._records)

    def requests_for(self, model: str) -> list[Recorded]:
        return [r for r in self.requests if r.model == model]

    @property
    def disconnects(self) -> list[str | None]:
        """Models whose client closed the connection while a reply was still going out
        (a stream, a drip, a stall)."""
        with self._state:
            return list(self._disconnects)

    def wait_disconnect(self, model: str, timeout: float = 2.0) -> bool:
        with self._state:
            return self._state.wait_for(lambda: model in self._disconnects, timeout)

    # ---- serving (on the loop's thread) ------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        # Each frame must leave when written; Nagle would hold small ones for the client's ACK.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(reader, writer)
        try:
            while (req := await conn.read_request()) is not None:
                if not await self._answer(conn, req):
                    break
        except (BadRequest, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # server stopping; on 3.11 a cancelled handler task is logged as an error
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(self, conn: Conn, req: Request) -> bool:
        endpoint = route(req)
        req.model = endpoint.model(req) if endpoint else None
        with self._state:
            self._records.append(Recorded(
                req.method, req.path, req.query, req.headers, req.body, req.json, req.model
            ))
        if endpoint is None:
            error = {"error": {"message": f"fault server: no route for {req.method} {req.path}"}}
            return await send(conn, req, Reply(404, json.dumps(error).encode()), {})
        step, known = self._next_step(req.model)
        reply = respond(conn, req, endpoint, step, known, self.page_size)
        return await self._watching(conn, req.model, reply)

    async def _watching(self, conn: Conn, model: str | None, reply) -> bool:
        """Run `reply` while watching for the client to hang up; a hang-up (or a write that
        fails because of one) before the reply is out is a disconnect."""
        work = asyncio.ensure_future(reply)
        watch = asyncio.ensure_future(conn.until_peer_closes())
        try:
            await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            work.cancel()  # (no-op once done)
            watch.cancel()
            await asyncio.gather(work, watch, return_exceptions=True)
        if not work.cancelled() and not isinstance(work.exception(), ConnectionError):
            return work.result()  # (re-raises a bug in the reply rather than hiding it)
        with self._state:
            self._disconnects.append(model)
            self._state.notify_all()
        return False
