"""/api/keys: staff sessions list, issue, read and revoke client keys; client keys may not
(RELIABILITY.md OWASP API3 and API5)."""

from __future__ import annotations

import pytest
from django.test import Client

from personas.keys import hash_key
from personas.models import ApiKey
from tests.factories import bearer, issue_key

pytestmark = pytest.mark.django_db
SHOWN = {
    "id", "name", "prefix", "all_personas", "personas", "all_tasks", "tasks", "may_override",
    "may_write", "rate_limit_rpm", "monthly_budget", "created_at", "last_used_at", "revoked_at",
}


def create(client: Client, body: dict, **headers):
    return client.post("/api/keys", body, content_type="application/json", **headers)


# ---- issue ----------------------------------------------------------------------------


def test_it_issues_a_key_with_its_scopes_and_shows_the_plaintext(admin_client, store, admin_user):
    body = {
        "name": "bot", "personas": ["scene_smith", "illustrator"], "tasks": ["response"],
        "may_override": True, "rate_limit_rpm": 60, "monthly_budget": "25.50",
    }
    response = create(admin_client, body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert set(shown) == SHOWN | {"key"}
    assert shown["personas"] == ["illustrator", "scene_smith"] and shown["tasks"] == ["response"]
    assert shown["monthly_budget"] == "25.50" and shown["may_override"] and not shown["may_write"]
    row = ApiKey.objects.get(pk=shown["id"])
    assert row.key_hash == hash_key(shown["key"]) and shown["key"].startswith(row.prefix + "_")
    assert row.rate_limit_rpm == 60 and row.created_by == admin_user
    assert {p.slug for p in row.personas.all()} == {"scene_smith", "illustrator"}


def test_the_issued_key_works_at_once(admin_client, client, store):
    key = create(admin_client, {"name": "bot", "all_personas": True}).json()["key"]
    me = client.get("/api/me", **bearer(key))
    assert me.status_code == 200 and me.json()["personas"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "personas": ["scene_smith", "ghost"]}, "personas"),
        ({"name": "x", "tasks": ["nope"]}, "tasks"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "x", "rate_limit_rpm": 0}, "rate_limit_rpm"),
        ({"name": "x", "monthly_budget": "-1"}, "monthly_budget"),
        ({"name": "x", "monthly_budget": "1.234"}, "monthly_budget"),
        ({"name": "x", "key_hash": "0" * 64}, "key_hash"),
        ({"name": "x", "prefix": "qf_mine0000"}, "prefix"),
        ({"name": "x", "revoked_at": None}, "revoked_at"),
        ({"name": "x", "is_staff": True}, "is_staff"),
    ],
)
def test_it_rejects_a_bad_key_naming_the_field_and_issues_nothing(admin_client, store, body, field):
    before = ApiKey.objects.count()
    response = create(admin_client, body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert ApiKey.objects.count() == before


def test_it_names_every_unknown_persona_and_task(admin_client, store):
    body = {"name": "x", "personas": ["ghost"], "tasks": ["nope"]}
    errors = create(admin_client, body).json()["error"]["errors"]
    assert errors == [
        {"field": "personas", "message": "unknown persona 'ghost'"},
        {"field": "tasks", "message": "unknown task 'nope'"},
    ]


# ---- read -----------------------------------------------------------------------------


def test_it_lists_keys_without_their_hashes(admin_client, store):
    issue_key(name="other", all_tasks=True)
    response = admin_client.get("/api/keys")
    assert response.status_code == 200
    keys = response.json()
    assert [k["name"] for k in keys] == ["app", "other"]
    assert all(set(k) == SHOWN for k in keys)
    assert keys[0]["personas"] == ["scene_smith"] and keys[1]["all_tasks"] is True
    for row in ApiKey.objects.all():
        assert row.key_hash not in response.content.decode()


def test_it_lists_keys_in_a_fixed_number_of_queries(
    admin_client, store, django_assert_max_num_queries
):
    for i in range(10):
        issue_key(name=f"k{i}", personas=("scene_smith",), tasks=("response",))
    # session, user, keys, their personas, their tasks
    with django_assert_max_num_queries(5):
        assert len(admin_client.get("/api/keys").json()) == 11


def test_it_shows_one_key(admin_client, store):
    response = admin_client.get(f"/api/keys/{store.issued.api_key.pk}")
    assert response.status_code == 200
    assert response.json()["prefix"] == store.issued.api_key.prefix


@pytest.mark.parametrize("key_id", ["999999", "0", "x", str(2**63)])
def test_it_answers_a_missing_or_malformed_id_with_a_4xx(admin_client, store, key_id):
    for response in (
        admin_client.get(f"/api/keys/{key_id}"),
        admin_client.post(f"/api/keys/{key_id}/revoke"),
    ):
        assert response.status_code in (404, 422), response.content
        assert response.json()["error"]["field"] == "key_id"


# ---- revoke ---------------------------------------------------------------------------


def test_it_revokes_a_key_and_keeps_the_first_revocation_time(admin_client, store):
    api_key = store.issued.api_key
    first = admin_client.post(f"/api/keys/{api_key.pk}/revoke")
    assert first.status_code == 200 and first.json()["revoked_at"]
    again = admin_client.post(f"/api/keys/{api_key.pk}/revoke")
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_a_session_needs_the_csrf_token_to_issue_or_revoke(admin_user, store):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert create(strict, {"name": "x"}).status_code == 403
    assert strict.post(f"/api/keys/{store.issued.api_key.pk}/revoke").status_code == 403
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


# ---- client keys may not manage keys ---------------------------------------------------


@pytest.mark.parametrize(
    "scopes", [{}, {"may_write": True, "may_override": True, "all_personas": True}]
)
def test_a_client_key_gets_403_for_every_key_operation(client, store, scopes):
    key = issue_key(**scopes)
    own = ApiKey.objects.get(prefix=key[:11])
    before = ApiKey.objects.count()
    responses = [
        client.get("/api/keys", **bearer(key)),
        create(client, {"name": "mine", "all_personas": True}, **bearer(key)),
        client.get(f"/api/keys/{own.pk}", **bearer(key)),
        client.post(f"/api/keys/{store.issued.api_key.pk}/revoke", **bearer(key)),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert ApiKey.objects.count() == before
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_it_needs_authentication(client, store):
    assert client.get("/api/keys").status_code == 401
    assert create(client, {"name": "x"}).status_code == 401
