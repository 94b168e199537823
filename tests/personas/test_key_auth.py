"""Required test 24 (RELIABILITY.md): an API key's life-cycle, from issue to revocation.

Shown once, stored as prefix + hash, never logged, returned or shown again; refused on the
very next request once revoked, even with its scopes cached; a forged secret is refused
exactly like a missing key; guessing is cut off; last use is recorded once a minute.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import caches

from personas.auth import FAILED_AUTH_PER_MINUTE
from personas.keys import api_key_issue, checksum, generate_key, hash_key
from personas.models import ApiKey
from tests.factories import bearer

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 5, 31, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def issued(admin_client, store, caplog):
    """A key issued through the API, with every log record from DEBUG up being captured."""
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(
        "/api/keys", {"name": "bot", "personas": ["scene_smith"]}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return body["key"], ApiKey.objects.get(pk=body["id"])


def secret_of(plaintext: str) -> str:
    """The part of a key that is not its public prefix."""
    return plaintext.split("_", 2)[2]


def problem(response) -> tuple:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"], error["field"]


def test_it_stores_only_the_prefix_and_the_hash(issued):
    plaintext, api_key = issued
    assert api_key.prefix == plaintext[:11]
    assert api_key.key_hash == hash_key(plaintext)
    columns = ApiKey.objects.filter(pk=api_key.pk).values().get()
    assert not any(secret_of(plaintext) in str(value) for value in columns.values())
    for field in ApiKey._meta.many_to_many:  # the scope tables
        through = field.remote_field.through
        assert not any(secret_of(plaintext) in str(row) for row in through.objects.values())


def test_it_never_shows_the_key_again_in_the_api(issued, admin_client):
    plaintext, api_key = issued
    for url in ("/api/keys", f"/api/keys/{api_key.pk}"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert secret_of(plaintext).encode() not in response.content
        assert api_key.key_hash.encode() not in response.content
        shown = response.json()
        assert "key" not in (shown[0] if isinstance(shown, list) else shown)


def test_it_never_shows_the_key_in_the_admin(issued, admin_client):
    plaintext, api_key = issued
    for url in ("/admin/personas/apikey/", f"/admin/personas/apikey/{api_key.pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert api_key.prefix.encode() in response.content
        assert secret_of(plaintext).encode() not in response.content
        assert api_key.key_hash.encode() not in response.content


def test_it_never_logs_the_key(issued, client, caplog):
    plaintext, api_key = issued
    for url in ("/api/me", "/api/usage", "/api/usage/summary", "/api/keys"):
        client.get(url, **bearer(plaintext))
    client.get("/api/me", **bearer(plaintext[:-1] + "x"))  # a mistyped key is logged as a 401
    assert caplog.records, "nothing was logged: the capture is not working"
    logged = caplog.text + "".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {vars(r)!r}" for r in caplog.records
    )
    assert secret_of(plaintext) not in logged
    assert plaintext[:-1] not in logged


def test_a_revoked_key_is_refused_on_the_very_next_request(
    issued, client, admin_client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    plaintext, api_key = issued
    assert client.get("/api/me", **bearer(plaintext)).status_code == 200
    with django_assert_num_queries(0):  # warm: the scopes come from the cache
        assert client.get("/api/me", **bearer(plaintext)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/api/keys/{api_key.pk}/revoke").status_code == 200
    response = client.get("/api/me", **bearer(plaintext))
    assert response.status_code == 401
    assert problem(response) == problem(client.get("/api/me"))


def test_a_forged_secret_with_a_real_prefix_and_a_valid_checksum_is_a_plain_401(issued, client):
    plaintext, api_key = issued
    assert client.get("/api/me", **bearer(plaintext)).status_code == 200  # the prefix is cached
    _, other = generate_key()
    body = api_key.prefix + other[11:-6]
    forged = body + checksum(body)
    assert forged != plaintext and forged[:11] == plaintext[:11]
    forged_response = client.get("/api/me", **bearer(forged))
    missing_response = client.get("/api/me")
    assert forged_response.status_code == 401
    assert problem(forged_response) == problem(missing_response)


def test_it_answers_429_after_too_many_failed_authentications_from_one_address(store, client):
    bad = bearer("qf_AAAAAAAA_" + "a" * 38)
    with time_machine.travel(T0, tick=False):
        statuses = [client.get("/api/me", **bad).status_code for _ in range(FAILED_AUTH_PER_MINUTE)]
        assert statuses == [401] * FAILED_AUTH_PER_MINUTE
        refused = client.get("/api/me", **bad)
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60
        # Another address is not affected.
        assert client.get("/api/me", REMOTE_ADDR="10.0.0.9", **bad).status_code == 401
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert client.get("/api/me", **bad).status_code == 401


def test_it_records_the_first_use_and_not_again_within_the_minute(issued, client):
    plaintext, api_key = issued
    assert api_key.last_used_at is None
    with time_machine.travel(T0, tick=False):
        client.get("/api/me", **bearer(plaintext))
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        client.get("/api/me", **bearer(plaintext))
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        client.get("/api/me", **bearer(plaintext))
    api_key.refresh_from_db()
    assert api_key.last_used_at == T0 + timedelta(seconds=61)


@pytest.fixture
def last_use_claims(monkeypatch) -> list[str]:
    """The keys of each claim of a minute's last use asked of the shared cache."""
    claims: list[str] = []
    backend = type(caches["default"])
    add = backend.add

    def recorded(self, key, *args, **kwargs):
        if key.startswith("apikey:used:"):
            claims.append(key)
        return add(self, key, *args, **kwargs)

    monkeypatch.setattr(backend, "add", recorded)
    return claims


def test_it_asks_the_shared_cache_about_last_use_once_a_minute_per_key(issued, client, last_use_claims):
    plaintext, api_key = issued
    other = api_key_issue(name="other", all_personas=True)
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            assert client.get("/api/me", **bearer(plaintext)).status_code == 200
        assert client.get("/api/me", **bearer(other.plaintext)).status_code == 200
    assert sorted(last_use_claims) == sorted([f"apikey:used:{api_key.pk}", f"apikey:used:{other.api_key.pk}"])
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        client.get("/api/me", **bearer(plaintext))
    assert len(last_use_claims) == 2
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        client.get("/api/me", **bearer(plaintext))
        client.get("/api/me", **bearer(plaintext))
    assert last_use_claims[2:] == [f"apikey:used:{api_key.pk}"]
