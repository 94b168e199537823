"""/api/usage: the generations, one with its attempts, and the summary; a client key sees
only its own (RELIABILITY.md OWASP API1, required test 21)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from personas.models import ApiKey
from routing.models import Attempt, Generation
from tests.factories import bearer, issue_key

pytestmark = pytest.mark.django_db
NOON = datetime(2025, 5, 31, 12, 0, tzinfo=UTC)


def generation(*, at: datetime = NOON, **fields) -> Generation:
    fields.setdefault("status", "ok")
    fields.setdefault("served_handle", "openai:gpt-4o")
    row = Generation.objects.create(**fields)
    Generation.objects.filter(pk=row.pk).update(created_at=at)  # auto_now_add on insert
    return row


@pytest.fixture
def keys(db):
    """Two client keys, A and B: (plaintext, id) each."""
    pairs = {}
    for name in ("a", "b"):
        plaintext = issue_key(name=name)
        pairs[name] = (plaintext, ApiKey.objects.get(prefix=plaintext[:11]).pk)
    return pairs


@pytest.fixture
def usage(keys):
    """A's two generations (one with attempts), B's one, and one made without a key."""
    a_id, b_id = keys["a"][1], keys["b"][1]
    rows = {
        "a1": generation(api_key_id=a_id, persona_slug="scene_smith", tokens_in=10,
                         cost=Decimal("0.001"), at=NOON.replace(hour=10)),
        "a2": generation(api_key_id=a_id, status="ok_after_fallback", at=NOON.replace(hour=11),
                         served_handle="anthropic:claude-sonnet-4"),
        "b1": generation(api_key_id=b_id, persona_slug="illustrator", cost=Decimal("9")),
        "staff": generation(api_key_id=None, task_name="response"),
    }
    Attempt.objects.create(
        generation=rows["a2"], position=1, model_handle="openai:gpt-4o", outcome="http_error",
        http_status=503, latency_ms=12, error_text="upstream unavailable",
    )
    Attempt.objects.create(
        generation=rows["a2"], position=2, model_handle="anthropic:claude-sonnet-4", outcome="ok"
    )
    return rows


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["request_id"] for item in response.json()["items"]]


# ---- list -----------------------------------------------------------------------------


def test_it_lists_a_keys_own_generations_newest_first(client, keys, usage):
    response = client.get("/api/usage", **bearer(keys["a"][0]))
    assert listed(response) == [str(usage["a2"].request_id), str(usage["a1"].request_id)]
    assert response.json()["count"] == 2


def test_it_shows_each_item_with_its_cost_as_a_decimal_string(client, keys, usage):
    response = client.get("/api/usage?persona=scene_smith", **bearer(keys["a"][0]))
    (item,) = response.json()["items"]
    assert item["persona"] == "scene_smith" and item["key_id"] == keys["a"][1]
    assert item["served_model"] == "openai:gpt-4o" and item["status"] == "ok"
    assert item["cost"] == "0.00100000" and item["tokens_in"] == 10
    assert item["streamed"] is False and item["usage_estimated"] is False


def test_it_lists_everything_for_staff(admin_client, usage):
    response = admin_client.get("/api/usage")
    assert response.json()["count"] == 4


def test_it_pages(admin_client, usage):
    first = admin_client.get("/api/usage?page=1&page_size=3").json()
    second = admin_client.get("/api/usage?page=2&page_size=3").json()
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert first["count"] == second["count"] == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=201", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("since=yesterday", "since"),
        ("until=2025-02-30", "until"),
        ("since=2025-05-31T25:00", "since"),
        ("until=9999-12-31", "until"),  # the day after does not exist
        ("status=done", "status"),
        ("key=x", "key"),
    ],
)
def test_it_rejects_a_bad_parameter_naming_it(admin_client, query, field):
    response = admin_client.get(f"/api/usage?{query}")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since=2025-05-31T11:00:00Z", {"a2", "b1", "staff"}),
        ("until=2025-05-31T11:00:00Z", {"a1"}),
        ("until=2025-05-30", set()),
        ("until=2025-05-31", {"a1", "a2", "b1", "staff"}),  # a date takes in its whole day
        ("since=2025-05-31T12:00:00%2B01:00", {"a2", "b1", "staff"}),
        ("provider=anthropic", {"a2"}),
        ("model=openai:gpt-4o", {"a1", "b1", "staff"}),
        ("task=response", {"staff"}),
        ("status=ok_after_fallback", {"a2"}),
    ],
)
def test_it_filters(admin_client, usage, query, expected):
    names = {str(row.request_id): name for name, row in usage.items()}
    assert {names[r] for r in listed(admin_client.get(f"/api/usage?{query}"))} == expected


# ---- detail ---------------------------------------------------------------------------


def test_it_shows_one_generation_with_its_attempts_without_error_text(client, keys, usage):
    response = client.get(f"/api/usage/{usage['a2'].request_id}", **bearer(keys["a"][0]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok_after_fallback"
    assert body["attempts"] == [
        {"position": 1, "model": "openai:gpt-4o", "outcome": "http_error", "http_status": 503,
         "latency_ms": 12},
        {"position": 2, "model": "anthropic:claude-sonnet-4", "outcome": "ok",
         "http_status": None, "latency_ms": None},
    ]
    assert b"upstream unavailable" not in response.content


def test_it_shows_staff_the_attempts_error_text(admin_client, usage):
    response = admin_client.get(f"/api/usage/{usage['a2'].request_id}")
    assert [a["error_text"] for a in response.json()["attempts"]] == ["upstream unavailable", ""]


def test_it_rejects_a_malformed_request_id(admin_client):
    response = admin_client.get("/api/usage/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "request_id"


# ---- scope (BOLA) ---------------------------------------------------------------------


def test_a_key_cannot_list_another_keys_generations_even_by_naming_it(client, keys, usage):
    a, b_id = keys["a"][0], keys["b"][1]
    response = client.get(f"/api/usage?key={b_id}", **bearer(a))
    assert response.json() == {"count": 0, "items": []}


def test_a_key_cannot_summarise_another_keys_generations(client, keys, usage):
    a, b_id = keys["a"][0], keys["b"][1]
    own = client.get("/api/usage/summary", **bearer(a)).json()
    named = client.get(f"/api/usage/summary?key={b_id}", **bearer(a)).json()
    assert own["totals"]["requests"] == 2 and own["totals"]["cost"] == "0.00100000"
    assert [g["name"] for g in own["by_key"]] == [str(keys["a"][1])]
    assert named["totals"]["requests"] == 0 and named["by_persona"] == []


def test_a_key_gets_404_for_another_keys_generation_as_for_a_missing_one(client, keys, usage):
    a = keys["a"][0]
    others = client.get(f"/api/usage/{usage['b1'].request_id}", **bearer(a))
    staffs = client.get(f"/api/usage/{usage['staff'].request_id}", **bearer(a))
    missing = client.get(f"/api/usage/{uuid.uuid4()}", **bearer(a))
    assert others.status_code == staffs.status_code == missing.status_code == 404
    shape = {(r.json()["error"]["code"], r.json()["error"]["field"]) for r in (others, missing)}
    assert shape == {("not_found", "request_id")}
    assert b"illustrator" not in others.content


def test_it_needs_a_key(client, usage):
    for url in ("/api/usage", "/api/usage/summary", f"/api/usage/{usage['a1'].request_id}"):
        assert client.get(url).status_code == 401


# ---- summary --------------------------------------------------------------------------


def test_it_summarises_for_staff_with_the_list_filters(admin_client, usage):
    body = admin_client.get("/api/usage/summary?since=2025-05-31T11:00:00Z").json()
    totals = body["totals"]
    assert totals["requests"] == 3 and totals["fallbacks"] == 1 and totals["failures"] == 0
    assert totals["by_status"]["ok_after_fallback"] == 1
    assert totals["cost"] == "9.00000000"
    assert {g["name"] for g in body["by_provider"]} == {"openai", "anthropic"}
    assert [g["name"] for g in body["by_day"]] == ["2025-05-31"]


def test_it_writes_zero_costs_in_fixed_point(admin_client, db):
    generation(cost=Decimal(0))
    assert admin_client.get("/api/usage").json()["items"][0]["cost"] == "0.00000000"
    summary = admin_client.get("/api/usage/summary?status=failed").json()
    assert summary["totals"]["cost"] == "0.00000000"


def test_it_rejects_a_bad_summary_filter_naming_it(admin_client):
    response = admin_client.get("/api/usage/summary?status=nope")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"


# ---- query budget ---------------------------------------------------------------------


def test_its_query_count_does_not_grow_with_rows(client, keys, django_assert_max_num_queries):
    a, a_id = keys["a"]
    rows = [generation(api_key_id=a_id, at=NOON.replace(minute=m)) for m in range(40)]
    for row in rows:
        Attempt.objects.create(generation=row, position=1, model_handle="x:y", outcome="ok")
        Attempt.objects.create(generation=row, position=2, model_handle="x:z", outcome="ok")
    client.get("/api/me", **bearer(a))  # the key's scopes are cached, its use recorded
    # count + page
    with django_assert_max_num_queries(2):
        assert len(listed(client.get("/api/usage?page_size=200", **bearer(a)))) == 40
    # the generation, its attempts
    with django_assert_max_num_queries(2):
        response = client.get(f"/api/usage/{rows[0].request_id}", **bearer(a))
        assert len(response.json()["attempts"]) == 2
    # totals, six breakdowns, the timings
    with django_assert_max_num_queries(8):
        assert client.get("/api/usage/summary", **bearer(a)).json()["totals"]["requests"] == 40
