"""The engine over real HTTP against the fault server: fallback, retries, circuit breaking,
local rate limits, the deadline, and the rows it writes (RELIABILITY.md required tests
1, 5..11, 19, 28). Per-wire-API failure classes are in test_engine_wire.py; streams in
test_streaming.py."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.test import override_settings

from routing import circuit
from routing.circuit import State, Target
from routing.engine import GenerationFailed, generate
from routing.models import Generation, Provider
from tests.fault import closed_port_url, ok, reset, stall, status
from tests.routing.engine_setup import KEY_VAR, SECRET, build, job, outcomes, rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(fault, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    return build(fault.url)


async def test_a_plain_answer_is_recorded_with_exact_cost_and_the_prices_used(catalogue, fault):
    fault.program("gpt-a", ok(text="Hi there", tokens_in=1200, tokens_out=300))
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert (result.output.text, result.served, result.level, result.status) == ("Hi there", "a:gpt-a", "persona", "ok")
    generation, attempts = await rows(result.request_id)
    assert (generation.tokens_in, generation.tokens_out, generation.usage_estimated) == (1200, 300, False)
    # 1200 x 2.5 / 1M + 300 x 10 / 1M
    assert generation.cost == Decimal("0.006") == result.cost
    assert (generation.input_price, generation.output_price) == (Decimal("2.5"), Decimal("10"))
    assert (generation.served_handle, generation.served_level, generation.status) == ("a:gpt-a", "persona", "ok")
    assert outcomes(attempts) == [("a:gpt-a", "ok")]
    assert attempts[0].provider_request_id
    assert fault.requests[0].headers["authorization"] == f"Bearer {SECRET}"


async def test_without_provider_usage_tokens_are_estimated_and_flagged(catalogue, fault):
    fault.program("gpt-a", ok(text="x" * 40, usage=False))
    result = await generate(job("a:gpt-a"))
    generation, _ = await rows(result.request_id)
    assert generation.usage_estimated is True
    assert generation.tokens_out == 10  # 40 characters / 4
    assert generation.cost is not None


async def test_after_three_503s_the_model_is_skipped_without_a_call(catalogue, fault):
    """Required test 1."""
    fault.program("gpt-a", status(503))
    for _ in range(3):
        result = await generate(job("a:gpt-a", "b:gpt-b"))
        assert result.served == "b:gpt-b"
    calls = len(fault.requests_for("gpt-a"))
    assert calls == 3
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert len(fault.requests_for("gpt-a")) == calls
    generation, attempts = await rows(result.request_id)
    assert outcomes(attempts) == [("a:gpt-a", "circuit_open"), ("b:gpt-b", "ok")]
    assert attempts[0].latency_ms is None
    assert generation.status == "ok_after_fallback"


@override_settings(QF_CB_FAILURES=1)
async def test_bad_requests_and_cancellations_leave_the_circuit_closed(catalogue, fault):
    """Required test 5: a 400 is the request's fault; it reaches the caller as a 4xx with
    the field and the reason, and is not retried elsewhere."""
    fault.program("gpt-a", status(400, message="context_length_exceeded: too long", param="messages"))
    for _ in range(10):
        with pytest.raises(GenerationFailed) as failed:
            await generate(job("a:gpt-a", "b:gpt-b"))
        assert (failed.value.status, failed.value.field) == (400, "messages")
        assert "context_length_exceeded" in failed.value.message
    assert fault.requests_for("gpt-b") == []
    fault.program("gpt-a", stall(5))
    for _ in range(10):
        task = asyncio.create_task(generate(job("a:gpt-a", "b:gpt-b")))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1).state is State.CLOSED
    statuses = [s async for s in Generation.objects.values_list("status", flat=True)]
    assert statuses.count("failed") == 10 and statuses.count("client_disconnected") == 10


async def test_a_429_with_retry_after_skips_the_model_for_exactly_that_long(catalogue, fault):
    """Required test 6."""
    fault.program("gpt-a", status(429, retry_after=7), ok())
    with time_machine.travel(1_800_000_000, tick=True) as clock:
        result = await generate(job("a:gpt-a", "b:gpt-b"))
        assert result.served == "b:gpt-b"
        assert outcomes((await rows(result.request_id))[1])[0] == ("a:gpt-a", "rate_limited")
        clock.move_to(1_800_000_006.5)
        assert (await generate(job("a:gpt-a", "b:gpt-b"))).served == "b:gpt-b"
        clock.move_to(1_800_000_007.2)
        assert (await generate(job("a:gpt-a", "b:gpt-b"))).served == "a:gpt-a"
    assert len(fault.requests_for("gpt-a")) == 2


async def test_a_short_retry_after_is_waited_for_and_a_long_one_is_not(catalogue, fault, settings):
    catalogue["gpt-a"].max_retries = 1
    await catalogue["gpt-a"].asave()
    fault.program("gpt-a", status(429, retry_after_ms=200), ok(text="after wait"))
    started = time.monotonic()
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.output.text == "after wait" and time.monotonic() - started >= 0.2
    catalogue["gpt-c"].max_retries = 1  # a retry is left: only the deadline forbids the wait
    await catalogue["gpt-c"].asave()
    fault.program("gpt-c", status(429, retry_after=7), ok())
    started = time.monotonic()
    result = await generate(job("b:gpt-c", "b:gpt-b", deadline_s=5))
    assert result.served == "b:gpt-b"
    assert time.monotonic() - started < 1  # no sleep: 7 s is more than the deadline leaves


async def test_a_401_falls_back_at_once_marks_the_credential_and_opens_long(catalogue, fault, caplog):
    """Required tests 7 and 28: the echoed key is in no row and no log line."""
    fault.program("gpt-a", status(401, echo_key=True))
    with caplog.at_level(logging.DEBUG):
        result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.served == "b:gpt-b"
    generation, attempts = await rows(result.request_id)
    assert outcomes(attempts) == [("a:gpt-a", "auth"), ("b:gpt-b", "ok")]
    assert attempts[0].http_status == 401
    assert SECRET not in attempts[0].error_text and SECRET[-12:] not in attempts[0].error_text
    assert SECRET not in caplog.text
    assert (await Provider.objects.aget(name="a")).health_state == "credential_invalid"
    admission = circuit.admit([Target("provider", "a")], request_id="x", probe_ttl=1)
    assert admission.state is State.OPEN and admission.until - time.time() > 250


@override_settings(QF_CB_PANIC="probe")
async def test_when_every_model_is_open_the_soonest_is_tried(catalogue, fault):
    """Required test 8, policy probe."""
    circuit.record_failure(Target("model", "a:gpt-a"), circuit.Admission(State.CLOSED), open_for=50)
    circuit.record_failure(Target("model", "b:gpt-b"), circuit.Admission(State.CLOSED), open_for=20)
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.served == "b:gpt-b"
    assert outcomes((await rows(result.request_id))[1]) == [
        ("a:gpt-a", "circuit_open"), ("b:gpt-b", "circuit_open"), ("b:gpt-b", "ok"),
    ]
    assert fault.requests_for("gpt-a") == []
    assert circuit.admit([Target("model", "b:gpt-b")], request_id="y", probe_ttl=1).state is State.CLOSED


@override_settings(QF_CB_PANIC="fail_fast")
async def test_when_every_model_is_open_fail_fast_answers_503_with_retry_after(catalogue, fault):
    """Required test 8, policy fail_fast."""
    for handle, seconds in (("a:gpt-a", 50), ("b:gpt-b", 20)):
        circuit.record_failure(Target("model", handle), circuit.Admission(State.CLOSED), open_for=seconds)
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a", "b:gpt-b"))
    assert (failed.value.status, failed.value.code) == (503, "circuit_open")
    assert 18 <= failed.value.retry_after <= 20
    assert fault.requests == []
    generation, attempts = await rows(failed.value.request_id)
    assert generation.status == "failed" and [a.outcome for a in attempts] == ["circuit_open"] * 2


@pytest.mark.parametrize("where", ["closed port", "name that does not resolve", "TLS to a plain-HTTP server"])
async def test_no_connection_falls_back_at_once_without_a_retry(fault, monkeypatch, where):
    """Required test 9: no same-host retry, and the provider's circuit is the one counted."""
    monkeypatch.setenv(KEY_VAR, SECRET)
    url = {
        "closed port": closed_port_url(),
        "name that does not resolve": "http://nowhere.invalid",  # tests resolve no names
        "TLS to a plain-HTTP server": fault.url.replace("http://", "https://"),
    }[where]
    await sync_to_async(build)(fault.url, a_url=url, max_retries=2)
    started = time.monotonic()
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert time.monotonic() - started < 1
    assert outcomes((await rows(result.request_id))[1]) == [("a:gpt-a", "refused"), ("b:gpt-b", "ok")]
    assert circuit.admit([Target("provider", "a")], request_id="x", probe_ttl=1).failing == (Target("provider", "a"),)


async def test_a_reset_connection_counts_against_the_model(catalogue, fault):
    fault.program("gpt-a", reset())
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert outcomes((await rows(result.request_id))[1]) == [("a:gpt-a", "refused"), ("b:gpt-b", "ok")]
    assert circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1).failing


@override_settings(QF_MIN_ATTEMPT_S=1.0)
async def test_stalling_models_end_in_a_504_within_the_deadline(fault, monkeypatch):
    """Required test 10, scaled down: read timeout 1 s, deadline 2.5 s."""
    monkeypatch.setenv(KEY_VAR, SECRET)
    await sync_to_async(build)(fault.url, timeout_s=1)
    fault.program("*", stall(10))
    started = time.monotonic()
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a", "b:gpt-b", "b:gpt-c", deadline_s=2.5))
    elapsed = time.monotonic() - started
    assert (failed.value.status, failed.value.code) == (504, "deadline_exceeded")
    assert elapsed < 2.5 + 1
    # a and b time out after 1 s each; 0.5 s is left, so c is never started.
    assert [a.outcome for a in failed.value.attempts] == ["timeout", "timeout"]
    assert fault.requests_for("gpt-c") == []


async def test_a_retry_is_exactly_one_more_call_after_a_jittered_backoff(catalogue, fault):
    """Required test 11: SDK and httpx retries are off; only the engine retries."""
    catalogue["gpt-a"].max_retries = 1
    catalogue["gpt-a"].retry_delay_s = 0.1
    await catalogue["gpt-a"].asave()
    fault.program("gpt-a", status(503), ok(text="second time"))
    started = time.monotonic()
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.output.text == "second time" and result.status == "ok"
    assert len(fault.requests_for("gpt-a")) == 2
    assert time.monotonic() - started < 0.1 + 0.5  # full jitter: at most the base delay
    assert outcomes((await rows(result.request_id))[1]) == [("a:gpt-a", "http_error"), ("a:gpt-a", "ok")]


async def test_a_model_over_its_request_rate_is_skipped_not_waited_on(catalogue, fault):
    catalogue["gpt-a"].rate_limit_rpm = 1
    await catalogue["gpt-a"].asave()
    assert (await generate(job("a:gpt-a", "b:gpt-b"))).served == "a:gpt-a"
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert outcomes((await rows(result.request_id))[1]) == [("a:gpt-a", "rate_limited_locally"), ("b:gpt-b", "ok")]
    assert len(fault.requests_for("gpt-a")) == 1


async def test_a_provider_over_its_request_rate_is_skipped_for_all_its_models(catalogue, fault):
    catalogue["b"].rate_limit_rpm = 1
    await catalogue["b"].asave()
    await generate(job("b:gpt-b"))
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("b:gpt-c"))
    assert (failed.value.status, failed.value.code) == (429, "rate_limited")
    assert failed.value.retry_after <= 60


async def test_a_missing_credential_is_refused_here_without_a_call_or_a_trip(catalogue, fault, monkeypatch):
    monkeypatch.delenv(KEY_VAR)
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a"))
    assert fault.requests == []
    assert "TEST_PROVIDER_KEY" in failed.value.attempts[0].error_text
    assert not circuit.admit([Target("provider", "a")], request_id="x", probe_ttl=1).failing


async def test_parameters_merge_request_over_persona_over_task_over_model(catalogue, fault):
    from routing.config import PersonaProfile
    from routing.engine import Job
    from routing.providers.base import Message

    catalogue["gpt-a"].default_params = {"temperature": 0.1, "top_p": 0.5, "max_tokens": 100}
    catalogue["gpt-a"].max_output_tokens = 50
    await catalogue["gpt-a"].asave()
    persona = PersonaProfile(slug="p", model="a:gpt-a", params={"temperature": 0.7, "seed": 1}, system_prompt="Be brief.")
    await generate(Job(messages=(Message("user", "hi"),), persona=persona, params={"seed": 9}))
    sent = fault.requests_for("gpt-a")[0].json
    assert (sent["temperature"], sent["top_p"], sent["seed"], sent["max_tokens"]) == (0.7, 0.5, 9, 50)
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_bad_parameters_are_refused_before_any_call_naming_the_field(catalogue, fault):
    from qfweb.errors import QfError

    with pytest.raises(QfError) as refused:
        await generate(job("a:gpt-a", params={"temperature": 9}))
    assert refused.value.field == "params.temperature"
    assert fault.requests == [] and not await Generation.objects.aexists()


async def test_a_chain_with_no_servable_model_is_refused_saying_why(catalogue, fault):
    from qfweb.errors import QfError
    from routing.models import Model

    await Model.objects.all().aupdate(is_enabled=False)
    with pytest.raises(QfError) as refused:
        await generate(job("a:gpt-a"))
    assert refused.value.code == "no_model" and "a:gpt-a: disabled" in refused.value.message
    assert fault.requests == [] and not await Generation.objects.aexists()


async def test_after_the_open_period_one_of_ten_concurrent_requests_probes(catalogue, fault):
    """Required test 3: the other nine skip the half-open model; a good probe closes it."""
    until = circuit.record_failure(Target("model", "a:gpt-a"), circuit.Admission(State.CLOSED), open_for=1)
    fault.program("gpt-a", stall(0.3))  # the probe is still out while the others arrive
    with time_machine.travel(until + 0.1, tick=True):
        results = await asyncio.gather(*(generate(job("a:gpt-a", "b:gpt-b")) for _ in range(10)))
    assert len(fault.requests_for("gpt-a")) == 1
    assert all(result.served == "b:gpt-b" for result in results)
    skipped = [r for r in results if r.attempts[0].outcome == "circuit_open"]
    assert len(skipped) == 9
    # The failed probe reopened it (for 2T); once that has passed a good probe closes it.
    fault.program("gpt-a", ok(text="recovered"))
    with time_machine.travel(time.time() + 700, tick=True):
        assert (await generate(job("a:gpt-a", "b:gpt-b"))).output.text == "recovered"
        assert (await generate(job("a:gpt-a", "b:gpt-b"))).served == "a:gpt-a"
    assert len(fault.requests_for("gpt-a")) == 3


async def test_a_single_model_that_runs_out_the_deadline_is_a_504(catalogue, fault):
    """Review finding: the last model using up the deadline answered 502."""
    fault.program("gpt-a", stall(10))
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a", deadline_s=1.5))
    assert failed.value.status == 504


async def test_an_html_400_is_not_shown_to_the_caller(catalogue, fault):
    from tests.fault import html

    fault.program("gpt-a", html(status=400))
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a"))
    assert failed.value.status == 400 and "<" not in failed.value.message


async def test_a_huge_retry_after_opens_no_longer_than_the_long_period(catalogue, fault):
    fault.program("gpt-a", status(429, retry_after=999_999_999))
    await generate(job("a:gpt-a", "b:gpt-b"))
    admission = circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1)
    assert admission.state is State.OPEN and admission.until - time.time() <= 300


async def test_a_credential_reference_to_qfwebs_own_secrets_is_refused(catalogue, fault, monkeypatch):
    catalogue["a"].credential_ref = "${SECRET_KEY}"
    await catalogue["a"].asave()
    monkeypatch.setenv("SECRET_KEY", "the-server-signing-key-0123456789")
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.served == "b:gpt-b" and fault.requests_for("gpt-a") == []


async def test_an_unexpected_error_still_leaves_the_row(catalogue, fault, monkeypatch):
    from routing.providers.openai import OpenAIAdapter

    async def broken(self, call):
        raise RuntimeError("a bug")

    monkeypatch.setattr(OpenAIAdapter, "complete", broken)
    request = job("a:gpt-a")
    with pytest.raises(RuntimeError):
        await generate(request)
    generation, attempts = await rows(request.request_id)
    assert (generation.status, generation.error_code) == ("failed", "internal_error")


def test_the_credential_is_not_in_the_repr_of_a_call():
    from routing.providers.base import Call

    assert "sk-very-secret" not in repr(Call(model="m", messages=(), secret="sk-very-secret"))
