"""/api/providers/{name}/health-check and /health (issue 6): "check now" probes the provider
over real HTTP (the fault server), records the check and the provider's state; the history
is paged newest first. Only a key that may change the catalog may make a provider be called,
and the provider's credential never comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from routing.models import HealthCheck, Provider
from tests.factories import bearer, issue_key
from tests.fault import ok, status
from tests.routing.engine_setup import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(gateway):
    """A key that may change the shared catalog."""
    return bearer(issue_key(name="operator", all_personas=True, all_tasks=True, may_write=True))


def check_now(client: Client, name: str, auth: dict):
    return client.post(f"/api/providers/{name}/health-check", **auth)


def provider_a() -> Provider:
    return Provider.objects.get(name="a")


# ---- check now ----------------------------------------------------------------------------


def test_check_now_probes_records_and_updates_the_provider(client, operator, fault):
    fault.program("gpt-a", ok())  # the listing names the programmed models
    response = check_now(client, "a", operator)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"provider", "state", "is_ok", "latency_ms", "error", "checked_at"}
    assert (body["provider"], body["state"], body["is_ok"]) == ("a", "healthy", True)
    assert body["error"] == "" and isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0
    check = HealthCheck.objects.get()
    assert (check.provider.name, check.state) == ("a", "healthy")
    assert check.latency_ms == body["latency_ms"]
    provider = provider_a()
    assert (provider.health_state, provider.health_latency_ms) == ("healthy", body["latency_ms"])
    assert provider.health_checked_at == check.checked_at
    [probe] = fault.requests
    assert (probe.method, probe.path) == ("GET", "/v1/models")  # a listing: no tokens spent
    assert probe.headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("answer", "state"),
    [(status(503), "down"), (status(401), "credential_invalid"), (status(429), "degraded")],
)
def test_check_now_reports_what_the_probe_found(client, operator, fault, answer, state):
    fault.program("*", answer)
    response = check_now(client, "a", operator)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == state and body["is_ok"] is (state == "degraded")
    assert provider_a().health_state == state
    assert HealthCheck.objects.get().state == state


def test_a_model_the_provider_does_not_list_is_reported(client, operator, fault):
    fault.program("other-model", ok())  # the listing names only this one
    body = check_now(client, "b", operator).json()
    assert body["state"] == "model_missing" and not body["is_ok"]
    assert "b:gpt-b" in body["error"] and "b:gpt-c" in body["error"]


def test_the_credential_never_comes_back(client, operator, fault):
    fault.program("*", status(401, message=f"bad key {SECRET}", echo_key=True))
    answers = [check_now(client, "a", operator), client.get("/api/providers/a/health", **operator)]
    for response in answers:
        assert response.status_code in (200, 201)
        assert SECRET not in response.content.decode()
    assert SECRET not in HealthCheck.objects.get().error_text


def test_a_provider_is_found_by_its_alias(client, operator, fault):
    provider = provider_a()
    provider.aliases = ["alpha"]
    provider.save()
    fault.program("gpt-a", ok())
    response = check_now(client, "alpha", operator)
    assert response.status_code == 201, response.content
    assert response.json()["provider"] == "a"
    history = client.get("/api/providers/alpha/health", **operator).json()
    assert [c["provider"] for c in history["items"]] == ["a"]


@pytest.mark.parametrize(
    "scopes",
    [
        {"all_personas": True, "all_tasks": True},  # reads only
        {"personas": ("writer",), "may_write": True},  # writes, but only for one persona
    ],
    ids=["read-only", "scoped-writer"],
)
def test_a_key_that_may_not_change_the_catalog_calls_nobody(client, gateway, fault, scopes):
    auth = bearer(issue_key(name="limited", **scopes))
    response = check_now(client, "a", auth)
    assert response.status_code == 403, response.content
    assert response.json()["error"]["field"] == "scope"
    assert fault.requests == []
    assert not HealthCheck.objects.exists() and provider_a().health_state == "unknown"


def test_an_unknown_provider_is_404(client, operator, fault):
    history = client.get("/api/providers/nowhere/health", **operator)
    answers = [check_now(client, "nowhere", operator), history]
    for response in answers:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["field"] == "provider"
    assert fault.requests == []


def test_without_a_key_it_is_401(client, gateway, fault):
    assert client.post("/api/providers/a/health-check").status_code == 401
    assert fault.requests == []


# ---- the history --------------------------------------------------------------------------


def checks_of(provider: Provider, count: int) -> list[HealthCheck]:
    """`count` checks an hour apart, the newest last."""
    start = timezone.now() - timedelta(hours=count)
    made = []
    for n in range(count):
        check = HealthCheck.objects.create(provider=provider, is_ok=True, latency_ms=n)
        HealthCheck.objects.filter(pk=check.pk).update(checked_at=start + timedelta(hours=n))
        made.append(check)
    return made


def test_the_history_is_paged_newest_first(client, gateway):
    reader = bearer(gateway.key)  # any caller may read it
    checks_of(Provider.objects.get(name="b"), 3)  # another provider's checks stay out
    checks_of(provider_a(), 5)
    first = client.get("/api/providers/a/health?page_size=2", **reader)
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["count"] == 5
    assert [c["latency_ms"] for c in body["items"]] == [4, 3]
    rest = client.get("/api/providers/a/health?page=2&page_size=2", **reader).json()["items"]
    last = client.get("/api/providers/a/health?page=3&page_size=2", **reader).json()["items"]
    assert [c["latency_ms"] for c in rest + last] == [2, 1, 0]
    assert {c["provider"] for c in body["items"] + rest + last} == {"a"}


def test_upstream_error_texts_are_for_staff_only(client, admin_client, gateway):
    HealthCheck.objects.create(
        provider=provider_a(), is_ok=False, state="down", error_text="HTTP 500: <html>intranet</html>"
    )
    as_key = client.get("/api/providers/a/health", **bearer(gateway.key)).json()["items"][0]
    as_staff = admin_client.get("/api/providers/a/health").json()["items"][0]
    assert (as_key["state"], as_key["error"]) == ("down", "")
    assert as_staff["error"] == "HTTP 500: <html>intranet</html>"


@pytest.mark.parametrize(("query", "field"), [("page=0", "page"), ("page_size=201", "page_size")])
def test_a_bad_page_is_422_naming_the_field(client, gateway, query, field):
    response = client.get(f"/api/providers/a/health?{query}", **bearer(gateway.key))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("count", [2, 40])
def test_the_history_takes_a_fixed_number_of_queries(
    client, gateway, django_assert_max_num_queries, count
):
    checks_of(provider_a(), count)
    reader = bearer(gateway.key)
    client.get("/api/providers/a/health", **reader)  # the key's first use this minute writes
    with django_assert_max_num_queries(3):  # the provider, the count, the page
        response = client.get("/api/providers/a/health?page_size=50", **reader)
    assert len(response.json()["items"]) == count
