"""Health checks over real HTTP against the fault server: what a probe finds, what is stored,
and how it steers the engine through the circuits (issue 6; RELIABILITY.md test 32)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from routing import circuit, health
from routing.circuit import State, Target
from routing.engine import generate
from routing.models import HealthCheck, Provider
from routing.snapshot import config_version
from tests.fault import FaultServer
from tests.fault.steps import Ok, Reset, Stall, Status
from tests.routing.engine_setup import KEY_VAR, SECRET, build, job, outcomes, rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(fault, monkeypatch):
    """Provider a on a fault server of its own (to take it down alone), b on `fault`."""
    monkeypatch.setenv(KEY_VAR, SECRET)
    with FaultServer() as own:
        own.program("gpt-a", Ok(text="from a"))
        fault.program("gpt-b", Ok(text="from b"))
        fault.program("gpt-c", Ok(text="from c"))
        yield {"server_a": own, "server_b": fault, **build(fault.url, a_url=own.url)}


def is_open(target: Target) -> bool:
    return circuit.admit([target], request_id="t", probe_ttl=1).state is State.OPEN


def serve(*handles: str):
    result = async_to_sync(generate)(job(*handles))
    return result, async_to_sync(rows)(result.request_id)[1]


# ---- what a probe finds -----------------------------------------------------------------


def test_a_provider_that_answers_is_healthy_and_the_check_is_stored(catalogue):
    check = health.check("a")

    assert (check.state, check.is_ok, check.error_text) == ("healthy", True, "")
    provider = Provider.objects.get(name="a")
    assert provider.health_state == "healthy"
    assert provider.health_latency_ms == check.latency_ms is not None
    assert provider.health_checked_at == check.checked_at
    # The cheapest call: one listing, no generation.
    assert [(r.method, r.path) for r in catalogue["server_a"].requests] == [("GET", "/v1/models")]


@pytest.mark.parametrize(
    ("step", "state"),
    [
        (Status(503), "down"),
        (Reset(), "down"),
        (Status(401, echo_key=True), "credential_invalid"),
        (Status(403), "credential_invalid"),
        (Status(429, retry_after=3), "degraded"),
    ],
    ids=["503", "reset", "401", "403", "429"],
)
def test_a_failing_probe_sets_the_state_and_keeps_no_secret(catalogue, step, state):
    catalogue["server_a"].program("*", step)

    check = health.check("a")

    assert (check.state, check.is_ok) == (state, state == "degraded")
    assert Provider.objects.get(name="a").health_state == state
    assert SECRET not in check.error_text
    if state != "degraded":
        assert check.error_text


def test_a_probe_that_hangs_is_down_within_the_health_timeout(catalogue, settings):
    settings.QF_HEALTH_TIMEOUT_S = 0.5
    catalogue["server_a"].program("*", Stall(30))

    began = time.monotonic()
    check = health.check("a")

    assert check.state == "down"
    assert time.monotonic() - began < 2.5


def test_a_closed_port_is_down(catalogue, unused_tcp_port):
    Provider.objects.filter(name="a").update(base_url=f"http://127.0.0.1:{unused_tcp_port}/v1")
    from routing.snapshot import bump_config_version

    bump_config_version()
    assert health.check("a").state == "down"


def test_a_slow_answer_is_degraded(catalogue, monkeypatch, settings):
    settings.QF_HEALTH_SLOW_MS = 5000
    monkeypatch.setattr(health, "_ms", lambda began: 6000)  # the clock, not the network

    check = health.check("a")

    assert (check.state, check.is_ok, check.error_text) == ("degraded", True, "slow: 6000 ms")


# ---- steering the engine ----------------------------------------------------------------


def test_a_provider_found_down_is_skipped_without_a_call_until_a_check_finds_it_well(catalogue):
    own = catalogue["server_a"]
    own.program("*", Status(503))
    assert health.check("a").state == "down"
    assert is_open(Target("provider", "a"))
    own.reset_programs()
    own.program("gpt-a", Ok(text="from a"))

    result, attempts = serve("a:gpt-a", "b:gpt-b")

    assert (result.served, result.output.text) == ("b:gpt-b", "from b")
    assert outcomes(attempts) == [("a:gpt-a", "circuit_open"), ("b:gpt-b", "ok")]
    assert own.requests_for("gpt-a") == []  # skipped without a call

    assert health.check("a").state == "healthy"
    assert not is_open(Target("provider", "a"))
    result, attempts = serve("a:gpt-a", "b:gpt-b")
    assert (result.served, outcomes(attempts)) == ("a:gpt-a", [("a:gpt-a", "ok")])


def test_a_provider_down_stays_open_until_the_next_check_is_due(catalogue, settings):
    settings.QF_HEALTH_INTERVAL_S = 120
    catalogue["server_a"].program("*", Status(503))
    health.check("a")
    until = circuit.admit([Target("provider", "a")], request_id="t", probe_ttl=1).until
    assert 120 * 0.9 <= until - time.time() <= 120 * 1.1 + 1


def test_a_bad_credential_opens_the_provider_for_the_long_period(catalogue, settings):
    settings.QF_CB_LONG_OPEN_SECONDS = 300
    catalogue["server_a"].program("*", Status(401))
    health.check("a")
    until = circuit.admit([Target("provider", "a")], request_id="t", probe_ttl=1).until
    assert 300 * 0.9 <= until - time.time() <= 300 * 1.1 + 1


def test_models_the_provider_no_longer_lists_are_skipped_and_come_back_when_listed(catalogue):
    fault = catalogue["server_b"]
    fault.reset_programs()
    fault.program("gpt-b", Ok(text="from b"))  # listings name the programmed models only

    check = health.check("b")

    assert check.state == "model_missing"
    assert "b:gpt-c" in check.error_text and "b:gpt-b" not in check.error_text
    assert is_open(Target("model", "b:gpt-c"))
    assert not is_open(Target("model", "b:gpt-b")) and not is_open(Target("provider", "b"))
    _, attempts = serve("b:gpt-c", "b:gpt-b")
    assert outcomes(attempts) == [("b:gpt-c", "circuit_open"), ("b:gpt-b", "ok")]

    fault.program("gpt-c", Ok(text="from c"))
    assert health.check("b").state == "healthy"
    assert not is_open(Target("model", "b:gpt-c"))
    result, _ = serve("b:gpt-c", "b:gpt-b")
    assert result.output.text == "from c"


def test_a_healthy_check_closes_a_provider_circuit_live_traffic_opened(catalogue, settings):
    settings.QF_CB_FAILURES = 1
    own = catalogue["server_a"]
    own.program("gpt-a", Reset())
    serve("a:gpt-a", "b:gpt-b")
    own.program("gpt-a", Ok(text="from a"))
    assert is_open(Target("model", "a:gpt-a")) or is_open(Target("provider", "a"))

    health.check("a")

    assert not is_open(Target("provider", "a"))


# ---- live traffic feeds the same state --------------------------------------------------


def test_live_connection_failures_mark_the_provider_down_and_a_successful_probe_healthy(
    catalogue, settings, unused_tcp_port
):
    settings.QF_CB_FAILURES = 1
    settings.QF_CB_OPEN_SECONDS = 0.2
    good_url = Provider.objects.get(name="a").base_url
    Provider.objects.filter(name="a").update(health_state="healthy")
    a = Provider.objects.get(name="a")
    a.base_url = f"http://127.0.0.1:{unused_tcp_port}/v1"
    a.save()

    serve("a:gpt-a", "b:gpt-b")

    assert Provider.objects.get(name="a").health_state == "down"
    a.base_url = good_url
    a.save()
    time.sleep(0.5)  # the open period ends; the next request is the half-open probe
    result, attempts = serve("a:gpt-a", "b:gpt-b")
    assert (result.served, outcomes(attempts)) == ("a:gpt-a", [("a:gpt-a", "ok")])
    assert Provider.objects.get(name="a").health_state == "healthy"


def test_a_live_401_marks_the_credential_invalid(catalogue):
    catalogue["server_a"].program("gpt-a", Status(401))
    serve("a:gpt-a", "b:gpt-b")
    assert Provider.objects.get(name="a").health_state == "credential_invalid"


# ---- bookkeeping ------------------------------------------------------------------------


def test_routing_snapshots_are_rebuilt_only_when_state_or_latency_moved(catalogue, monkeypatch):
    monkeypatch.setattr(health, "_ms", lambda began: 100)
    health.check("a")
    version = config_version()
    health.check("a")  # same state, same latency
    assert config_version() == version
    monkeypatch.setattr(health, "_ms", lambda began: 200)  # lowest_latency would re-rank
    health.check("a")
    assert config_version() != version


def test_several_providers_are_probed_at_once(catalogue):
    checks = health.check_many(["a", "b"])
    assert [(c.provider.name, c.state) for c in checks] == [("a", "healthy"), ("b", "healthy")]


def test_a_check_that_overran_its_time_limit_is_recorded_as_down(catalogue):
    check = health.timed_out("a", 30)
    assert (check.state, check.is_ok, check.error_text) == ("down", False, "no answer within 30 s")
    assert is_open(Target("provider", "a"))


def test_old_checks_are_pruned_after_the_retention(catalogue, settings):
    settings.QF_HEALTH_RETENTION_DAYS = 7
    old, recent = health.check("a"), health.check("a")
    HealthCheck.objects.filter(pk=old.pk).update(checked_at=timezone.now() - timedelta(days=8))
    HealthCheck.objects.filter(pk=recent.pk).update(checked_at=timezone.now() - timedelta(days=6))

    assert health.prune() == 1
    assert list(HealthCheck.objects.values_list("pk", flat=True)) == [recent.pk]


def test_an_unknown_provider_is_a_404(catalogue):
    from qfweb.errors import NotFound

    with pytest.raises(NotFound):
        health.check("nope")


def test_the_admin_checks_the_selected_providers_now(catalogue, admin_client):
    catalogue["server_a"].program("*", Status(503))
    a, b = Provider.objects.get(name="a"), Provider.objects.get(name="b")

    response = admin_client.post(
        "/admin/routing/provider/", {"action": "check_now", "_selected_action": [a.pk, b.pk]}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert shown[0].startswith("a is down in ") and "503" in shown[0]
    assert shown[1].startswith("b is healthy in ")
    assert list(HealthCheck.objects.order_by("provider__name").values_list("provider__name", "state")) == [
        ("a", "down"), ("b", "healthy")
    ]


def test_without_a_listing_a_model_the_provider_does_not_know_is_missing(catalogue):
    own = catalogue["server_a"]
    own.program("*", Status(404))  # no listing: the probe makes a minimal generation
    own.program("gpt-a", Status(404, message="model gpt-a does not exist"))

    check = health.check("a")

    assert check.state == "model_missing"
    assert [r.method for r in own.requests] == ["GET", "POST"]
    # A 404 could be a listing's missing URL as well as the model: the engine's own
    # attempts decide (an unknown model opens it there), not the probe.
    assert not is_open(Target("model", "a:gpt-a")) and not is_open(Target("provider", "a"))


def test_a_latest_alias_counts_as_listed_when_a_dated_model_is(catalogue):
    from tests.factories import model

    own = catalogue["server_a"]
    model(catalogue["a"], "claude-x-latest")
    own.program("claude-x-20250101", Ok())  # listings name the programmed models only

    check = health.check("a")

    assert check.state == "healthy", check.error_text


def test_a_default_model_with_a_credential_of_its_own_does_not_speak_for_the_provider(catalogue):
    from routing.models import Model
    from routing.snapshot import bump_config_version
    from tests.factories import model

    own_key = model(catalogue["a"], "gpt-own", credential_ref="${UNSET_TEAM_KEY}")
    catalogue["server_a"].program("gpt-own", Ok())  # listed
    Provider.objects.filter(name="a").update(default_model=own_key)
    bump_config_version()

    assert health.check("a").state == "healthy"  # probed with gpt-a and the provider's key

    Model.objects.filter(name="gpt-a").update(is_enabled=False)  # gpt-own alone is left
    bump_config_version()
    check = health.check("a")
    assert check.state == "credential_invalid"
    assert is_open(Target("model", "a:gpt-own")) and not is_open(Target("provider", "a"))
