"""The breaker's rules on one process (local-memory cache, frozen clock): R2, R4, R5.
Shared state across processes is in test_circuit_shared.py."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from routing import circuit
from routing.circuit import State, Target

MODEL = Target("model", "a:m")
PROVIDER = Target("provider", "a")
T0 = 1_800_000_000.0  # a fixed wall clock


def admit(*targets: Target, request_id: str = "r", probe_ttl: float = 5):
    return circuit.admit(targets or (PROVIDER, MODEL), request_id=request_id, probe_ttl=probe_ttl)


def fail(target: Target = MODEL, times: int = 1, **kwargs):
    opened = None
    for _ in range(times):
        opened = circuit.record_failure(target, admit(), **kwargs)
    return opened


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_it_stays_closed_below_the_failure_threshold(clock):
    assert fail(times=2) is None
    assert admit().state is State.CLOSED


def test_it_opens_on_the_third_consecutive_failure_for_the_base_period_with_jitter(clock):
    until = fail(times=3)
    assert 27 <= until - T0 <= 33  # 30 s +- 10 %
    assert admit().state is State.OPEN
    assert admit().until == until


def test_a_success_forgets_consecutive_failures(clock):
    fail(times=2)
    circuit.record_success(admit())
    assert fail(times=2) is None
    assert admit().state is State.CLOSED


@override_settings(QF_CB_FAILURES=1)
def test_after_the_open_period_exactly_one_request_probes(clock):
    until = fail()
    clock.move_to(until + 0.001)
    admissions = [admit(request_id=f"r{i}") for i in range(10)]
    assert [a.state for a in admissions].count(State.PROBE) == 1
    assert [a.state for a in admissions].count(State.OPEN) == 9


@override_settings(QF_CB_FAILURES=1)
def test_a_successful_probe_closes_the_circuit(clock):
    clock.move_to(fail() + 1)
    probe = admit()
    assert probe.probes == (MODEL,)
    circuit.record_success(probe)
    assert admit().state is State.CLOSED
    assert admit().state is State.CLOSED  # no permit is held any more


@override_settings(QF_CB_FAILURES=1)
def test_a_failed_probe_reopens_for_twice_as_long_then_four_times_capped(clock):
    periods = []
    until = fail()
    periods.append(until - T0)
    for _ in range(5):
        clock.move_to(until + 1)
        now = until + 1
        probe = admit()
        assert probe.state is State.PROBE
        until = circuit.record_failure(MODEL, probe)
        periods.append(until - now)
    bounds = [(27, 33), (54, 66), (108, 132), (216, 264), (270, 300 * 1.1), (270, 330)]
    for period, (low, high) in zip(periods, bounds, strict=True):
        assert low <= period <= high


@override_settings(QF_CB_FAILURES=1)
def test_a_hung_probe_gives_its_permit_back_after_the_attempt_timeout(clock):
    clock.move_to(fail() + 1)
    assert admit(probe_ttl=5).state is State.PROBE
    assert admit(request_id="other").state is State.OPEN
    clock.shift(6)
    assert admit(request_id="other").state is State.PROBE


@override_settings(QF_CB_FAILURES=1)
def test_k_decays_after_a_good_probe_and_ten_quiet_minutes(clock):
    closed_at = fail() + 1
    clock.move_to(closed_at)
    circuit.record_success(admit())
    clock.move_to(closed_at + 599)
    assert 54 <= fail() - (closed_at + 599) <= 66  # within ten minutes: 2T
    clock.move_to(closed_at + 599 + 70)
    circuit.record_success(admit())
    start = closed_at + 599 + 70 + 601
    clock.move_to(start)
    assert 27 <= fail() - start <= 33  # ten quiet minutes later: back to T


def test_an_explicit_period_opens_for_exactly_that_long(clock):
    until = fail(open_for=7.0)
    assert until == T0 + 7
    clock.move_to(T0 + 6.9)
    assert admit().state is State.OPEN
    clock.move_to(T0 + 7.01)
    assert admit().state is State.PROBE


def test_an_open_provider_blocks_all_its_models_and_a_model_only_itself(clock):
    circuit.record_failure(PROVIDER, admit(), open_for=10)
    assert admit(PROVIDER, Target("model", "a:other")).state is State.OPEN
    circuit.reset(PROVIDER)
    circuit.record_failure(MODEL, admit(), open_for=10)
    assert admit(PROVIDER, MODEL).state is State.OPEN
    assert admit(PROVIDER, Target("model", "a:other")).state is State.CLOSED


def test_released_permits_let_the_next_request_probe(clock):
    clock.move_to(fail(open_for=1) + 0.5)
    probe = admit()
    circuit.release(probe)
    assert admit(request_id="next").state is State.PROBE


def test_state_lives_under_documented_cache_keys(clock):
    fail(times=3)
    assert cache.get("cb:model:a:m:open") is not None
    assert cache.get("cb:model:a:m:tripped") is not None
    assert cache.get("cb:model:a:m:openings") == 1


def test_a_provider_permit_is_given_back_when_its_model_is_open_itself(clock):
    """Review finding: a request for an open model held its provider's only probe permit,
    so the provider's healthy models stayed shut."""
    clock.move_to(circuit.record_failure(PROVIDER, admit(), open_for=1) + 0.5)
    circuit.record_failure(MODEL, admit(Target("model", "a:m")), open_for=100)
    assert admit(PROVIDER, MODEL).state is State.OPEN
    assert admit(PROVIDER, Target("model", "a:other")).state is State.PROBE


def test_failures_of_requests_already_in_flight_do_not_reopen_an_open_circuit(clock):
    """Review finding: a burst of 30 failures opened the circuit ten times, at 300 s."""
    admissions = [admit(request_id=f"r{i}") for i in range(30)]
    ends = [circuit.record_failure(MODEL, a) for a in admissions]
    assert len([end for end in ends if end]) == 1
    assert cache.get("cb:model:a:m:openings") == 1
    assert 27 <= ends[2] - T0 <= 33


@override_settings(QF_CB_FAILURES=1)
def test_a_probe_that_fails_at_the_other_scope_gives_its_permit_back(clock):
    clock.move_to(fail() + 1)
    probe = admit()
    assert probe.probes == (MODEL,)
    circuit.record_failure(PROVIDER, probe)  # a connection failure: the provider's fault
    assert admit(MODEL, request_id="next").state is State.PROBE


def test_an_unreachable_cache_lets_requests_through(settings):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }}
    assert admit().state is State.CLOSED
    assert circuit.record_failure(MODEL, admit()) is None
