"""A fault server for the tests: a real HTTP/1.1 server on 127.0.0.1 that speaks the wire
APIs qfweb calls (OpenAI chat/images/speech, Anthropic, Gemini, Ollama, Automatic1111,
ElevenLabs) on their real paths, and misbehaves on request. Test code only.

    def test_it_falls_back(fault):                  # fixture in tests/conftest.py
        fault.program("gpt-a", status(503), ok(text="hi"))   # 1st request 503, then ok
        base_url = fault.url + "/v1"                # OpenAI; Anthropic/Ollama: fault.url;
        ...                                         # Gemini: fault.url + "/v1beta"
        assert [r.model for r in fault.requests] == ["gpt-a", "gpt-a"]

Programs are per model name (body `model`, Gemini's path, ElevenLabs `model_id`, A1111
`override_settings.sd_model_checkpoint`); one step a request, the last repeating; `"*"`
covers models without a program and requests naming none (listings); no program: `ok()`.

Listings (GET: OpenAI and Anthropic /v1/models, told apart by `anthropic-version`, and
ElevenLabs' by `xi-api-key`; Gemini /v1beta/models; Ollama /api/tags; A1111
/sdapi/v1/sd-models) name the programmed models, else a small catalogue. They fail as the
"*" program says: `fault.program("*", status(404))` is a server without a listing.
Anthropic and Gemini serve pages of the size the client asks, at most `fault.page_size`.

Steps: ok, stream (delay, cut_after, stall_after, error_event), status (retry_after,
echo_key, param), stall, reset (TCP RST), malformed, truncated, html, redirect.
Inspection: fault.requests / requests_for(model) (Recorded rows), fault.disconnects /
wait_disconnect(model), reset_programs(). closed_port_url() refuses connections.
"""
from __future__ import annotations

import socket

from tests.fault.server import FaultServer, Recorded
from tests.fault.steps import html, malformed, ok, redirect, reset, stall, status, stream, truncated


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a deterministic "connection refused"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


__all__ = [
    "FaultServer", "Recorded", "closed_port_url", "html", "malformed", "ok", "redirect",
    "reset", "stall", "status", "stream", "truncated",
]
