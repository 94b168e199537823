"""routing.usage: what a caller may see of the usage record, pages of it and summaries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from qfweb.errors import NotFound
from routing.access import Caller
from routing.models import Attempt, Generation
from routing.usage import generations_for, percentile, usage_detail, usage_page, usage_summary

STAFF = Caller.staff("operator")
KEY_A = Caller(key_id=1, name="a")
NOON = datetime(2025, 5, 31, 12, 0, tzinfo=UTC)


def generation(*, at: datetime = NOON, **fields) -> Generation:
    """A usage row as the engine would leave it; created_at is set after the insert, since
    the field is auto_now_add."""
    fields.setdefault("status", "ok")
    fields.setdefault("served_handle", "openai:gpt-4o")
    row = Generation.objects.create(**fields)
    Generation.objects.filter(pk=row.pk).update(created_at=at)
    row.refresh_from_db()
    return row


def request_ids(generations) -> set:
    return set(generations.values_list("request_id", flat=True))


# ---- scope ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_a_client_key_to_its_own_generations():
    mine = generation(api_key_id=1)
    generation(api_key_id=2)
    generation(api_key_id=None)  # the dashboard's or the command line's
    assert request_ids(generations_for(KEY_A)) == {mine.request_id}


@pytest.mark.django_db
def test_it_gives_a_client_key_nothing_when_it_names_another_key():
    generation(api_key_id=1)
    generation(api_key_id=2)
    assert not generations_for(KEY_A, key=2).exists()
    assert generations_for(KEY_A, key=1).count() == 1


@pytest.mark.django_db
def test_it_shows_staff_every_generation_and_filters_by_key():
    generation(api_key_id=1)
    generation(api_key_id=2)
    generation(api_key_id=None)
    assert generations_for(STAFF).count() == 3
    assert generations_for(STAFF, key=2).count() == 1


@pytest.mark.django_db
def test_it_shows_nothing_to_a_caller_that_is_neither_staff_nor_a_key():
    generation(api_key_id=None)
    assert not generations_for(Caller(key_id=None, name="nobody")).exists()


# ---- filters --------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_filters_by_time_with_an_inclusive_start_and_an_exclusive_end():
    early = generation(at=datetime(2025, 5, 30, 23, 59, tzinfo=UTC))
    start = generation(at=datetime(2025, 5, 31, 0, 0, tzinfo=UTC))
    generation(at=datetime(2025, 6, 1, 0, 0, tzinfo=UTC))
    found = generations_for(
        STAFF, since=datetime(2025, 5, 31, tzinfo=UTC), until=datetime(2025, 6, 1, tzinfo=UTC)
    )
    assert request_ids(found) == {start.request_id}
    assert early.request_id not in request_ids(found)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"persona": "scene_smith"}, {"smith"}),
        ({"task": "response"}, {"claude"}),
        ({"model": "openai:gpt-4o"}, {"smith"}),
        ({"provider": "anthropic"}, {"claude"}),
        ({"provider": "anthropic:claude"}, set()),  # a provider name, not a handle prefix
        ({"provider": ""}, {"failed"}),  # nothing served
        ({"status": "failed"}, {"failed"}),
        ({"persona": "scene_smith", "status": "failed"}, set()),
    ],
)
def test_it_filters_by_each_field(filters, expected):
    rows = {
        "smith": generation(persona_slug="scene_smith", served_handle="openai:gpt-4o"),
        "claude": generation(task_name="response", served_handle="anthropic:claude-sonnet-4"),
        "failed": generation(status="failed", served_handle=""),
    }
    names = {row.request_id: name for name, row in rows.items()}
    assert {names[r] for r in request_ids(generations_for(STAFF, **filters))} == expected


# ---- pages and detail -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_pages_newest_first_with_the_total_count():
    rows = [generation(at=NOON.replace(hour=h)) for h in range(5)]
    first = usage_page(generations_for(STAFF), page=1, page_size=2)
    third = usage_page(generations_for(STAFF), page=3, page_size=2)
    assert first["count"] == 5 and third["count"] == 5
    assert [i["request_id"] for i in first["items"]] == [rows[4].request_id, rows[3].request_id]
    assert [i["request_id"] for i in third["items"]] == [rows[0].request_id]


@pytest.mark.django_db
def test_it_names_the_item_fields_for_clients():
    generation(
        persona_slug="scene_smith", task_name="response", api_key_id=7, is_streamed=True,
        tokens_in=3, cost=Decimal("0.5"),
    )
    item = usage_page(generations_for(STAFF), page=1, page_size=1)["items"][0]
    assert item["persona"] == "scene_smith" and item["task"] == "response"
    assert item["key_id"] == 7 and item["streamed"] is True
    assert item["served_model"] == "openai:gpt-4o" and item["cost"] == Decimal("0.5")


@pytest.mark.django_db
def test_it_gives_the_attempts_error_text_to_staff_only():
    row = generation(api_key_id=1)
    Attempt.objects.create(
        generation=row, position=1, model_handle="openai:gpt-4o", outcome="http_error",
        http_status=503, error_text="upstream said no",
    )
    staff = usage_detail(STAFF, row.request_id)["attempts"]
    client = usage_detail(KEY_A, row.request_id)["attempts"]
    assert staff == [
        {"position": 1, "model": "openai:gpt-4o", "outcome": "http_error", "http_status": 503,
         "latency_ms": None, "error_text": "upstream said no"}
    ]
    assert "error_text" not in client[0] and client[0]["http_status"] == 503


@pytest.mark.django_db
def test_it_answers_another_keys_generation_as_missing():
    row = generation(api_key_id=2)
    with pytest.raises(NotFound) as other:
        usage_detail(KEY_A, row.request_id)
    with pytest.raises(NotFound) as missing:
        usage_detail(KEY_A, uuid.uuid4())
    assert other.value.field == missing.value.field == "request_id"


# ---- summary --------------------------------------------------------------------------


@pytest.fixture
def mixed(db):
    """Two days, two providers, every kind of outcome."""
    day1, day2 = NOON, NOON.replace(day=30)
    generation(at=day1, persona_slug="scene_smith", api_key_id=1, tokens_in=10, tokens_out=20,
               cost=Decimal("0.00100000"), latency_ms=100, ttft_ms=10)
    generation(at=day1, persona_slug="scene_smith", api_key_id=1, status="ok_after_fallback",
               served_handle="anthropic:claude-sonnet-4", tokens_in=5, tokens_out=5,
               cost=Decimal("0.00300000"), usage_estimated=True, latency_ms=300, ttft_ms=30)
    generation(at=day2, task_name="response", api_key_id=2, status="failed", served_handle="",
               latency_ms=50)
    generation(at=day2, task_name="response", status="failed_mid_stream",
               served_handle="anthropic:claude-sonnet-4", tokens_in=1, latency_ms=1000)
    generation(at=day2, status="client_disconnected")


def test_it_sums_the_totals(mixed):
    totals = usage_summary(generations_for(STAFF))["totals"]
    assert totals["requests"] == 5
    assert totals["fallbacks"] == 1
    assert totals["failures"] == 2  # failed and failed_mid_stream; a client leaving is not
    assert (totals["tokens_in"], totals["tokens_out"]) == (16, 25)
    assert totals["cost"] == Decimal("0.004")
    assert totals["cost_estimated_share"] == pytest.approx(0.75)
    assert totals["by_status"] == {
        "pending": 0, "ok": 1, "ok_after_fallback": 1, "failed": 1, "failed_mid_stream": 1,
        "client_disconnected": 1,
    }


def test_it_takes_percentiles_over_the_rows_that_have_timings(mixed):
    totals = usage_summary(generations_for(STAFF))["totals"]
    # latencies 50, 100, 300, 1000 (one row has none); ttft 10, 30
    assert (totals["latency_p50_ms"], totals["latency_p95_ms"]) == (100, 1000)
    assert totals["ttft_p50_ms"] == 10


def test_it_breaks_down_by_every_dimension(mixed):
    summary = usage_summary(generations_for(STAFF))

    def figures(name: str) -> dict:
        return {g["name"]: (g["requests"], g["failures"], g["cost"]) for g in summary[name]}

    assert figures("by_persona") == {
        "scene_smith": (2, 0, Decimal("0.004")), "": (3, 2, Decimal(0)),
    }
    assert figures("by_provider") == {
        "openai": (2, 0, Decimal("0.001")), "anthropic": (2, 1, Decimal("0.003")),
        "": (1, 1, Decimal(0)),
    }
    assert figures("by_model")["anthropic:claude-sonnet-4"] == (2, 1, Decimal("0.003"))
    assert figures("by_key") == {
        "1": (2, 0, Decimal("0.004")), "2": (1, 1, Decimal(0)), "": (2, 1, Decimal(0)),
    }
    assert figures("by_task")["response"] == (2, 2, Decimal(0))
    assert figures("by_status")["failed"] == (1, 1, Decimal(0))
    assert [g["name"] for g in summary["by_day"]] == ["2025-05-30", "2025-05-31"]
    assert summary["by_day"][1]["tokens_in"] == 15


def test_it_summarises_only_what_a_client_key_may_see(mixed):
    summary = usage_summary(generations_for(KEY_A))
    assert summary["totals"]["requests"] == 2
    assert [g["name"] for g in summary["by_key"]] == ["1"]


@pytest.mark.django_db
def test_it_summarises_nothing_as_zeros():
    totals = usage_summary(generations_for(STAFF))["totals"]
    assert totals["requests"] == 0 and totals["cost"] == 0
    assert totals["cost_estimated_share"] == 0.0 and totals["latency_p50_ms"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 30])
def test_it_reads_a_summary_in_a_fixed_number_of_queries(rows, django_assert_num_queries):
    for i in range(rows):
        generation(persona_slug=f"p{i}", api_key_id=i, served_handle=f"prov{i}:m", latency_ms=i)
    # totals, six breakdowns (persona, task, model, key, status, day), the timings
    with django_assert_num_queries(8):
        usage_summary(generations_for(STAFF))


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7], 95, 7),
        ([1, 2, 3, 4], 50, 2),
        ([4, 3, 2, 1], 95, 4),
        (list(range(1, 101)), 95, 95),
    ],
)
def test_percentile_is_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected
