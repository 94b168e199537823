"""The fault server's misbehaviours, programs and records, seen through plain httpx (a real
client over real sockets), and its own lifecycle."""
from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from tests.fault import (
    FaultServer,
    closed_port_url,
    html,
    malformed,
    ok,
    redirect,
    reset,
    stall,
    status,
    stream,
    truncated,
)

CHAT = "/v1/chat/completions"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def http():
    # One client for the module: building an httpx.Client costs ~25 ms (its TLS context).
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def chat(fault, http):
    def post(model="gpt-a", timeout=5.0, **body):
        return http.post(fault.url + CHAT, json={"model": model, "messages": HI, **body},
                         timeout=timeout)

    return post


def sse_data(lines):
    return [line[6:] for line in lines if line.startswith("data: ")]


# ---- faults -------------------------------------------------------------------------------


def test_a_stall_times_the_client_out_and_ends_when_the_client_gives_up(fault, chat):
    fault.program("gpt-a", stall(30))
    started = time.monotonic()

    with pytest.raises(httpx.ReadTimeout):
        chat(timeout=httpx.Timeout(5.0, read=0.2))

    assert time.monotonic() - started < 2
    assert fault.wait_disconnect("gpt-a", timeout=1)


def test_stopping_the_server_ends_a_stall_at_once(http):
    server = FaultServer().start()
    server.program("gpt-a", stall(30))
    errors = []
    request = lambda: http.post(server.url + CHAT, json={"model": "gpt-a"})  # noqa: E731
    client = threading.Thread(target=lambda: errors.append(_error_of(request)))
    client.start()
    _wait_for(lambda: server.requests)

    started = time.monotonic()
    server.stop()
    client.join(5)

    assert time.monotonic() - started < 1
    assert isinstance(errors[0], httpx.RemoteProtocolError | httpx.ReadError)


def test_a_reset_is_a_transport_error(fault, chat):
    fault.program("gpt-a", reset())

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        chat()


def test_a_reset_is_a_tcp_rst_not_a_clean_close(fault):
    fault.program("gpt-a", reset())
    payload = json.dumps({"model": "gpt-a"}).encode()
    request = b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s" % (
        CHAT.encode(), len(payload), payload)

    with socket.create_connection(("127.0.0.1", int(fault.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(request)
        sock.settimeout(2)
        # A FIN reads as b""; only a RST raises.
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_a_stream_cut_after_two_events_gives_two_events_then_a_transport_error(fault, http):
    fault.program("gpt-a", stream(chunks=("a", "b", "c", "d"), cut_after=2))
    lines = []

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with http.stream("POST", fault.url + CHAT, json={"model": "gpt-a", "stream": True}) as r:
            lines.extend(r.iter_lines())

    contents = [json.loads(d)["choices"][0]["delta"].get("content") for d in sse_data(lines)]
    assert contents == ["", "a", "b"]  # the opening role chunk, then two content events
    assert "[DONE]" not in sse_data(lines)


def test_a_stream_stalled_after_one_event_times_the_reader_out(fault, http):
    fault.program("claude-a", stream(chunks=("a", "b"), stall_after=1))
    lines = []

    with pytest.raises(httpx.ReadTimeout):
        with http.stream("POST", fault.url + "/v1/messages",
                          json={"model": "claude-a", "stream": True},
                          timeout=httpx.Timeout(5.0, read=0.2)) as response:
            lines.extend(response.iter_lines())

    assert [line for line in lines if line.startswith("event:")][-1] == "event: content_block_delta"
    assert sum("text_delta" in line for line in lines) == 1


def test_a_drip_spaces_content_events_by_the_delay(fault, http):
    fault.program("llama-a", stream(chunks=("a", "b", "c"), delay=0.15))
    arrivals = []

    with http.stream("POST", fault.url + "/api/chat", json={"model": "llama-a"}) as response:
        for _line in response.iter_lines():
            arrivals.append(time.monotonic())

    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(arrivals) == 4  # three pieces and the done object
    assert all(gap >= 0.14 for gap in gaps[:2]) and gaps[2] < 0.1


def test_truncated_promises_more_bytes_than_it_sends(fault, chat):
    fault.program("gpt-a", truncated())

    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        chat()


def test_malformed_is_a_200_whose_body_is_not_json(fault, chat):
    fault.program("gpt-a", malformed())
    response = chat()

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_malformed_stream_is_garbage_sse(fault, chat):
    fault.program("gpt-a", malformed())
    response = chat(stream=True)

    assert response.headers["content-type"].startswith("text/event-stream")
    with pytest.raises(json.JSONDecodeError):
        json.loads(sse_data(response.text.splitlines())[0])


def test_html_is_a_page_where_json_was_expected(fault, chat):
    fault.program("gpt-a", html(502))
    response = chat()

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_a_redirect_points_at_the_metadata_address_and_is_not_followed(fault, chat):
    fault.program("gpt-a", redirect())
    response = chat()

    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    assert len(fault.requests) == 1


def test_a_closed_port_refuses_the_connection(http):
    with pytest.raises(httpx.ConnectError):
        http.get(closed_port_url() + "/v1/models")


@pytest.mark.parametrize(
    ("headers", "key"),
    [({"authorization": "Bearer sk-secret-1"}, "sk-secret-1"),
     ({"x-api-key": "sk-ant-secret"}, "sk-ant-secret"),
     ({"x-goog-api-key": "AIza-secret"}, "AIza-secret")],
)
def test_echo_key_puts_the_credential_in_the_error_message(fault, http, headers, key):
    fault.program("gpt-a", status(401, echo_key=True))
    response = http.post(fault.url + CHAT, json={"model": "gpt-a"}, headers=headers)

    assert response.status_code == 401
    assert key in response.json()["error"]["message"]


def test_status_sends_both_retry_headers(fault, chat):
    fault.program("gpt-a", status(429, retry_after=1.5, retry_after_ms=1500))
    response = chat()

    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("1.5", "1500")
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_a_client_hanging_up_mid_stream_is_a_disconnect(fault, http, chat):
    fault.program("gpt-a", stream(chunks=("a", "b"), stall_after=1))
    fault.program("gpt-b", ok())

    with http.stream("POST", fault.url + CHAT, json={"model": "gpt-a", "stream": True}) as r:
        next(r.iter_lines())
    started = time.monotonic()

    assert fault.wait_disconnect("gpt-a", timeout=1)
    assert time.monotonic() - started < 1
    chat(model="gpt-b", stream=True)
    assert fault.disconnects == ["gpt-a"]  # a stream read to its end is no disconnect


@pytest.mark.parametrize(
    ("path", "body", "usage_fields"),
    [(CHAT, {"stream": True, "stream_options": {"include_usage": True}}, ['"usage"']),
     ("/v1beta/models/gpt-a:streamGenerateContent?alt=sse", {}, ["usageMetadata"]),
     ("/api/chat", {}, ["prompt_eval_count", "eval_count"])],
)
def test_usage_false_omits_the_usage_fields(fault, http, path, body, usage_fields):
    with_usage = http.post(fault.url + path, json={"model": "gpt-a", **body}).text
    fault.program("gpt-a", ok(usage=False))
    without = http.post(fault.url + path, json={"model": "gpt-a", **body}).text

    for field in usage_fields:
        assert field in with_usage and field not in without


# ---- programs and records ---------------------------------------------------------------


def test_steps_are_consumed_in_order_and_the_last_repeats(fault, chat):
    fault.program("gpt-a", status(503), status(429), ok(text="fine"))

    codes = [chat().status_code for _ in range(5)]

    assert codes == [503, 429, 200, 200, 200]
    assert chat().json()["choices"][0]["message"]["content"] == "fine"


def test_a_star_program_covers_models_without_one(fault, chat):
    fault.program("*", status(500))
    fault.program("gpt-a", ok())

    assert chat(model="gpt-a").status_code == 200
    assert chat(model="gpt-other").status_code == 500


def test_an_unprogrammed_model_gets_ok(fault, chat):
    response = chat(model="gpt-z")

    assert response.json()["choices"][0]["message"]["content"] == "Hello from gpt-z"


def test_requests_record_method_path_query_headers_json_and_model(fault, http, chat):
    http.post(fault.url + "/v1beta/models/gemini-a:streamGenerateContent?alt=sse",
               json={"contents": []}, headers={"X-Goog-Api-Key": "AIza-k"})
    chat(model="gpt-a", temperature=0.5)

    gemini, openai_chat = fault.requests
    assert (gemini.method, gemini.path, gemini.query) == (
        "POST", "/v1beta/models/gemini-a:streamGenerateContent", {"alt": "sse"})
    assert gemini.headers["x-goog-api-key"] == "AIza-k" and gemini.model == "gemini-a"
    assert openai_chat.json == {"model": "gpt-a", "messages": HI, "temperature": 0.5}
    assert json.loads(openai_chat.body) == openai_chat.json
    assert fault.requests_for("gpt-a") == [openai_chat]


def test_reset_programs_forgets_programs_and_records(fault, chat):
    fault.program("gpt-a", status(500))
    chat()

    fault.reset_programs()

    assert fault.requests == [] and fault.disconnects == []
    assert chat().status_code == 200


def test_an_unknown_route_is_a_404_and_recorded(fault, http):
    response = http.post(fault.url + "/v2/nowhere", json={"model": "gpt-a"})

    assert response.status_code == 404
    assert fault.requests[0].path == "/v2/nowhere"


def test_one_connection_serves_several_requests(fault):
    with httpx.Client(base_url=fault.url) as client:
        for _ in range(3):
            client.post(CHAT, json={"model": "gpt-a"})
            client.post(CHAT, json={"model": "gpt-a", "stream": True})
        pool = client._transport._pool.connections

    assert len(pool) == 1 and len(fault.requests) == 6


def test_it_starts_fast():
    started = time.monotonic()
    server = FaultServer().start()
    elapsed = time.monotonic() - started
    server.stop()

    assert elapsed < 0.05


# ---- helpers ----------------------------------------------------------------------------


def _error_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 (the error is what the test looks at)
        return error
    return None


def _wait_for(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)
