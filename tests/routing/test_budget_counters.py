"""routing.budget's spend counters (issue 8): a budget check on the warm path reads this
month's spend from the shared cache, with no query and no thread; the usage writes keep
the counters current; a cold one is seeded from the rows; a cache that cannot be reached
sends every check back to the rows."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qfweb.errors import BudgetExceeded
from routing import budget as budget_module
from routing.budget import Budget, aenforce, enforce
from routing.config import PersonaProfile
from routing.engine import Job, generate
from routing.models import BudgetAlert, Generation
from routing.providers.base import Message
from routing.recording import GenerationRecord, write_many
from tests.fault import ok
from tests.routing.engine_setup import KEY_VAR, SECRET, build

pytestmark = pytest.mark.django_db
KEY = Budget("key", "7", Decimal("10.00"))
PERSONA = Budget("persona", "writer", Decimal("10.00"))


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request):
    """The embedded default's local-memory cache, then production's Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")


on_both_caches = pytest.mark.usefixtures("shared_cache")


def row(cost: str, *, key: int | None = 7, persona: str = "writer", at: datetime | None = None) -> None:
    """A usage row saved by itself, as a shell or a data fix would."""
    saved = Generation.objects.create(status="ok", cost=Decimal(cost), api_key_id=key, persona_slug=persona)
    if at is not None:  # created_at is auto_now_add: move it afterwards
        Generation.objects.filter(pk=saved.pk).update(created_at=at)


def record(cost: str | None, *, key: int | None = 7, persona: str = "writer") -> GenerationRecord:
    return GenerationRecord(
        request_id=str(uuid.uuid4()), status="ok", api_key_id=key, persona_slug=persona,
        cost=None if cost is None else Decimal(cost),
    )


def written(*records: GenerationRecord) -> None:
    """Store records the way the gateway does (recording's group commit)."""
    assert write_many(list(records)) == [None] * len(records)


def warning(budget: Budget, percent: int) -> str:
    return f"{budget.describe()} has spent {percent} % of its monthly budget"


def generation_reads(queries: CaptureQueriesContext) -> list[str]:
    table = Generation._meta.db_table
    return [q["sql"] for q in queries.captured_queries if table in q["sql"]]


# ---- seeding ----------------------------------------------------------------------------------


@on_both_caches
def test_the_first_check_sums_the_rows_then_reads_only_the_counter(django_assert_num_queries):
    row("8.5", persona="critic")
    row("50", key=8)  # another key's
    row("50", at=datetime(2020, 1, 1, tzinfo=UTC))  # another month's
    roomy = Budget("key", "7", Decimal("100"))
    with django_assert_num_queries(1):  # this month's spend of key 7
        assert enforce([roomy]) == ()
    with django_assert_num_queries(0):
        assert enforce([roomy]) == ()
    # The counter is the key's, whatever its limit: the rows' 8.5.
    assert enforce([KEY]) == (warning(KEY, 85),)


@on_both_caches
def test_a_write_before_any_check_is_summed_with_the_rows_once(django_assert_num_queries):
    written(record("8.5"))  # no counter yet: none is made
    with django_assert_num_queries(1):
        assert enforce([Budget("key", "7", Decimal("100"))]) == ()
    assert enforce([KEY]) == (warning(KEY, 85),)  # 8.5, not 17


@on_both_caches
def test_racing_seeders_keep_the_first_seed_and_the_writes_since(monkeypatch, django_assert_num_queries):
    row("5")
    real = budget_module.spent_this_month

    def racing_sum(scope, subjects):
        spent = real(scope, subjects)
        # Between our sum and our seed, another process seeds the counter with 5 and a
        # write of 3 is counted.
        monkeypatch.setattr(budget_module, "spent_this_month", real)
        assert enforce([KEY]) == ()
        written(record("3", persona=""))
        return spent  # 5: stale now

    monkeypatch.setattr(budget_module, "spent_this_month", racing_sum)
    assert enforce([KEY]) == (warning(KEY, 80),)  # the counter's 8
    with django_assert_num_queries(0):
        assert enforce([KEY]) == (warning(KEY, 80),)


# ---- counting the writes -----------------------------------------------------------------------


@on_both_caches
def test_a_write_is_counted_and_the_next_check_sees_it_without_a_query(django_assert_num_queries):
    row("8")
    assert enforce([KEY, PERSONA]) == (warning(KEY, 80), warning(PERSONA, 80))
    written(record("1"), record(None), record("0.25", key=None), record("40", key=8, persona="critic"))
    with django_assert_num_queries(0):
        assert enforce([KEY, PERSONA]) == (warning(KEY, 90), warning(PERSONA, 92))
    assert Generation.objects.filter(api_key_id=7).count() == 3


@on_both_caches
def test_a_spent_budget_is_refused_from_the_counter():
    row("9.5")
    enforce([KEY])
    written(record("0.5"))
    with CaptureQueriesContext(connection) as queries, pytest.raises(BudgetExceeded) as raised:
        enforce([KEY])
    assert "(10.0000 USD this month)" in raised.value.message
    assert generation_reads(queries) == []  # only the alert's queries
    assert BudgetAlert.objects.get(level=100).spent == Decimal("10")


@on_both_caches
def test_a_row_saved_by_itself_is_summed_at_the_next_check():
    row("7")
    assert enforce([KEY]) == ()
    row("1")  # not a gateway write: the counter is dropped
    with CaptureQueriesContext(connection) as queries:
        assert enforce([KEY]) == (warning(KEY, 80),)
    assert len(generation_reads(queries)) == 1


# ---- the month ----------------------------------------------------------------------------------


@on_both_caches
def test_a_new_month_starts_from_its_own_rows(django_assert_num_queries):
    with time_machine.travel(datetime(2025, 3, 31, 23, 58, tzinfo=UTC), tick=False):
        row("9")
        assert enforce([KEY]) == (warning(KEY, 90),)
    # Three minutes on, March's counter is still cached; April has a counter of its own.
    with time_machine.travel(datetime(2025, 4, 1, 0, 1, tzinfo=UTC), tick=False):
        with django_assert_num_queries(1):
            assert enforce([KEY]) == ()
        written(record("8.5"))
        assert enforce([KEY]) == (warning(KEY, 85),)


# ---- a cache that cannot be reached -------------------------------------------------------------


def test_an_unreachable_cache_sends_every_check_to_the_rows(settings, django_assert_num_queries):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }}
    row("10", persona="critic")
    written(record("0.5", key=8))  # the write is not failed by its count
    for _ in range(2):
        with pytest.raises(BudgetExceeded):
            enforce([KEY])
        with django_assert_num_queries(1):
            assert enforce([Budget("key", "8", Decimal("100"))]) == ()
    # The alerts' flags are out of reach too: the rows decide, and each is raised once.
    assert enforce([PERSONA]) == ()
    tight = Budget("key", "8", Decimal("0.60"))
    assert enforce([tight]) == enforce([tight]) == (warning(tight, 83),)
    alerts = sorted(BudgetAlert.objects.values_list("subject", "level"))
    assert alerts == [("7", 80), ("7", 100), ("8", 80)]


# ---- on the event loop ------------------------------------------------------------------------


async def no_thread(function, *args):
    raise AssertionError(f"{function.__name__} was sent to a thread")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("spent", "said"), [("1", ()), ("8.5", (warning(KEY, 85),)), ("12", None)])
async def test_a_warm_check_runs_on_the_loop(monkeypatch, spent, said):
    await sync_to_async(row)(spent)
    try:  # cold: in a thread, which seeds the counter and records the alerts due
        assert await aenforce((KEY,)) == said
    except BudgetExceeded:
        assert said is None
    # Warm: no thread, and so no query either (the loop would refuse one).
    monkeypatch.setattr(budget_module, "run_sync", no_thread)
    if said is None:
        with pytest.raises(BudgetExceeded):
            await aenforce((KEY,))
    else:
        assert await aenforce((KEY,)) == said


@pytest.fixture
def catalogue(fault, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    fault.program("gpt-a", ok(tokens_in=1200, tokens_out=300))  # 0.006 USD a request
    return build(fault.url)


@pytest.mark.django_db(transaction=True)
async def test_the_engine_counts_what_it_records_and_checks_on_the_loop(catalogue, fault, monkeypatch):
    # Spend before the month's first request: a counter at 0 that a write raises by exactly
    # its cost is dropped and seeded again (count_spend), which would hide the point here.
    await sync_to_async(row)("0.002", key=None, persona="p")
    persona = PersonaProfile(slug="p", model="a:gpt-a", monthly_budget=Decimal("0.02"))
    job = Job(messages=(Message("user", "hi"),), persona=persona)
    hop = budget_module.run_sync

    await generate(job)  # cold: seeds the counter at 0.002, then counts its own 0.006
    monkeypatch.setattr(budget_module, "run_sync", no_thread)
    await generate(replace(job, request_id=uuid.uuid4().hex))  # 0.008: below the warning level
    await generate(replace(job, request_id=uuid.uuid4().hex))  # 0.014: below 0.016 still
    monkeypatch.setattr(budget_module, "run_sync", hop)  # the refusal records its alerts
    with pytest.raises(BudgetExceeded) as raised:
        await generate(replace(job, request_id=uuid.uuid4().hex))
    assert "(0.0200 USD this month)" in raised.value.message
    assert await Generation.objects.filter(persona_slug="p").acount() == 4
    assert len(fault.requests_for("gpt-a")) == 3
