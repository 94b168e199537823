"""Roll up a month of 1,000,000 generations on PostgreSQL, then build and read its report.

    .venv/bin/python bench/rollup.py [--rows 1000000] [--month 2025-05] [--keep]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/qf_bench) names the database; it
is created if missing and migrated. The usage tables are emptied and refilled with one
INSERT ... SELECT generate_series (seeded, so every run has the same rows): a few hundred
personas on a dozen models of six providers, six tasks, 40 keys, the usual mix of statuses,
tokens, costs and log-spread latencies, one attempt per served generation and failed
attempts before fallbacks and failures. --keep reuses the rows already there.

Then it times, in this one process:
- the rollup of the month (routing.reports.rollup.rollup_days), target < 60 s;
- the same again: idempotent, so the same rows (checked by a digest of the table);
- the month's report build (routing.reports.build.report_build), from the rollups;
- GET /api/reports/{id} as a staff session (Django's test client), target < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qf_bench"

HANDLES = [
    "openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet-4", "anthropic:claude-haiku-4",
    "google:gemini-2.5-pro", "google:gemini-2.5-flash", "mistral:mistral-large",
    "mistral:mistral-small", "ollama:llama3.1:8b", "ollama:qwen2.5:14b",
    "openrouter:deepseek/deepseek-chat", "openrouter:meta-llama/llama-3.3-70b",
]
PRICES_IN = [2.5, 0.15, 3.0, 0.8, 1.25, 0.3, 2.0, 0.2, 0.0, 0.0, 0.27, 0.59]  # USD per 1M tokens
PRICES_OUT = [10.0, 0.6, 15.0, 4.0, 10.0, 2.5, 6.0, 0.6, 0.0, 0.0, 1.1, 0.79]
TASKS = ["", "summarize", "classify", "draft", "translate", "extract"]
FAILURES = ["timeout", "upstream_error", "rate_limited", "all_models_failed"]
FALLBACKS = ["rate_limited", "timeout", "http_error", "circuit_open"]

# Each persona (skewed: low numbers are busier) has its own model, keeps to a few tasks and,
# one in ten aside, calls with one of 40 keys.
GENERATIONS = """
INSERT INTO routing_generation (
    request_id, created_at, finished_at, persona_slug, task_name, api_key_id, modality,
    requested_override, served_handle, served_level, status, error_code, finish_reason,
    tokens_in, tokens_out, usage_estimated, cost, input_price, output_price, latency_ms,
    ttft_ms, is_streamed)
SELECT gen_random_uuid(), at, at + latency * interval '1 millisecond', 'persona-' || persona,
    task, CASE WHEN persona %% 10 = 0 THEN NULL ELSE persona %% 40 + 1 END, 'text', '',
    CASE WHEN status IN ('failed', 'pending') THEN '' ELSE handles[model + 1] END,
    CASE WHEN status = 'ok_after_fallback' THEN 'fallback' ELSE 'persona' END, status,
    CASE status WHEN 'failed' THEN failures[1 + floor(r_code * 4)::int]
        WHEN 'failed_mid_stream' THEN 'stream_interrupted'
        WHEN 'client_disconnected' THEN 'client_disconnected' ELSE '' END,
    CASE WHEN status IN ('ok', 'ok_after_fallback') THEN 'stop' ELSE '' END,
    tokens_in, tokens_out, r_estimated < 0.05,
    round((tokens_in * prices_in[model + 1] + tokens_out * prices_out[model + 1]) / 1e6, 8),
    CASE WHEN tokens_in IS NULL THEN NULL ELSE prices_in[model + 1] END,
    CASE WHEN tokens_in IS NULL THEN NULL ELSE prices_out[model + 1] END,
    latency,
    CASE WHEN streamed AND status <> 'failed' THEN (latency * (0.05 + 0.3 * r_ttft))::int END,
    streamed
FROM (
    SELECT *,
        (persona * 7 + CASE WHEN status = 'ok_after_fallback' THEN 1 ELSE 0 END) %% 12 AS model,
        CASE WHEN status IN ('failed', 'pending') THEN NULL
            ELSE (40 + r_in ^ 2 * 8000)::int END AS tokens_in,
        CASE WHEN status IN ('failed', 'pending') THEN NULL
            ELSE (5 + r_out ^ 2 * 2000)::int END AS tokens_out,
        CASE WHEN status = 'pending' THEN NULL
            WHEN status = 'failed' THEN (20000 + r_latency * 70000)::int
            ELSE exp(ln(120) + r_latency * ln(500))::int END AS latency
    FROM (
        SELECT %(start)s::timestamptz + random() * %(seconds)s * interval '1 second' AS at,
            persona, handles, prices_in, prices_out, failures,
            tasks[1 + (persona + floor(random() * 3)::int) %% 6] AS task,
            CASE WHEN s < 0.93 THEN 'ok' WHEN s < 0.96 THEN 'ok_after_fallback'
                WHEN s < 0.98 THEN 'failed' WHEN s < 0.985 THEN 'failed_mid_stream'
                WHEN s < 0.995 THEN 'client_disconnected' ELSE 'pending' END AS status,
            random() < 0.4 AS streamed, random() AS r_in, random() AS r_out,
            random() AS r_latency, random() AS r_ttft, random() AS r_code, random() AS r_estimated
        FROM (
            SELECT (random() * random() * 300)::int AS persona, random() AS s, catalogue.*
            FROM generate_series(1, %(rows)s), (
                SELECT %(handles)s::text[] AS handles, %(prices_in)s::numeric[] AS prices_in,
                    %(prices_out)s::numeric[] AS prices_out, %(tasks)s::text[] AS tasks,
                    %(failures)s::text[] AS failures
            ) AS catalogue
        ) AS drawn
    ) AS described
) AS shaped
"""
# One attempt per served generation; before a fallback, or for a failure, failed ones.
ATTEMPTS = """
INSERT INTO routing_attempt (generation_id, position, model_handle, outcome, http_status,
    latency_ms, error_text, provider_request_id, started_at)
SELECT id, 1, served_handle, 'ok', 200, latency_ms, '', '', created_at
    FROM routing_generation WHERE status IN ('ok', 'client_disconnected')
UNION ALL
SELECT id, 1, 'primary:model', (%(fallbacks)s::text[])[1 + id %% 4],
    CASE id %% 4 WHEN 0 THEN 429 WHEN 2 THEN 503 END, 900, 'upstream said no', '', created_at
    FROM routing_generation WHERE status IN ('ok_after_fallback', 'failed', 'failed_mid_stream')
UNION ALL
SELECT id, 2, CASE WHEN served_handle = '' THEN 'second:model' ELSE served_handle END,
    CASE status WHEN 'ok_after_fallback' THEN 'ok' WHEN 'failed' THEN 'timeout'
        ELSE 'bad_response' END,
    CASE WHEN status = 'ok_after_fallback' THEN 200 END, latency_ms, '', '', created_at
    FROM routing_generation WHERE status IN ('ok_after_fallback', 'failed', 'failed_mid_stream')
"""


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url: str, data_dir: str) -> None:
    os.environ.update(QF_ENV="dev", QF_DATA_DIR=data_dir, QF_LOG_LEVEL="WARNING", DATABASE_URL=url)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(rows: int, first: date, end: date) -> tuple[int, float]:
    """Replace the usage tables' rows with `rows` generations in [first, end) (TIME_ZONE)."""
    from django.db import connection, transaction

    from routing.reports.periods import day_bounds

    start, _ = day_bounds(first)
    finish, _ = day_bounds(end)
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE routing_attempt, routing_generation, routing_dailyrollup, routing_costreport"
        )
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(GENERATIONS, {
            "start": start, "seconds": (finish - start).total_seconds(), "rows": rows,
            "handles": HANDLES, "prices_in": PRICES_IN, "prices_out": PRICES_OUT,
            "tasks": TASKS, "failures": FAILURES,
        })
        cursor.execute(ATTEMPTS, {"fallbacks": FALLBACKS})
        attempts = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE routing_generation, routing_attempt")
    return attempts, time.perf_counter() - began


def rollup_digest() -> str:
    """An md5 of every rollup row but its id, in a fixed order: equal digests, equal rows."""
    from django.db import connection

    from routing.models import DailyRollup

    names = ", ".join(f.column for f in DailyRollup._meta.fields if f.name != "id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
            f"FROM (SELECT {names} FROM routing_dailyrollup) AS r"
        )
        return cursor.fetchone()[0]


def totals_match() -> bool:
    from django.db.models import Count, Sum

    from routing.models import DailyRollup, Generation

    rolled = DailyRollup.objects.aggregate(
        requests=Sum("requests"), cost=Sum("cost"), tokens_in=Sum("tokens_in")
    )
    raw = Generation.objects.aggregate(
        requests=Count("pk"), cost=Sum("cost"), tokens_in=Sum("tokens_in")
    )
    return rolled == raw


def timed(fn, *args):
    began = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--month", default="2025-05", help="YYYY-MM, in TIME_ZONE")
    parser.add_argument("--keep", action="store_true", help="reuse the generations already stored")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    first = date.fromisoformat(f"{args.month}-01")
    end = (first + timedelta(days=32)).replace(day=1)
    ensure_database(url)
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(url, data_dir)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from routing.models import Generation
        from routing.reports.build import report_build
        from routing.reports.rollup import rollup_days

        print(f"database: {connection.settings_dict['NAME']} on PostgreSQL "
              f"{connection.pg_version // 10000}; TIME_ZONE {settings.TIME_ZONE}")
        if args.keep and Generation.objects.exists():
            print(f"kept {Generation.objects.count():,} generations")
        else:
            attempts, seconds = fill(args.rows, first, end)
            print(f"inserted {args.rows:,} generations and {attempts:,} attempts "
                  f"over {args.month} in {seconds:.1f} s")

        last = end - timedelta(days=1)
        rows, first_run = timed(rollup_days, first, last)
        digest = rollup_digest()
        days = (end - first).days
        print(f"rollup of {days} days: {rows:,} rows in {first_run:6.1f} s  (target < 60 s)")
        again, second_run = timed(rollup_days, first, last)
        same = "same rows" if again == rows and rollup_digest() == digest else "DIFFERENT ROWS"
        print(f"rollup again:        {again:,} rows in {second_run:6.1f} s  "
              f"(target < 60 s; {same})")
        print(f"rollup totals equal the raw rows' (requests, cost, tokens): {totals_match()}")

        report, build = timed(report_build, "month", first)
        print(f"month report build:  {build * 1000:8.0f} ms from the rollups")

        staff = get_user_model().objects.filter(username="bench-staff").first() or (
            get_user_model().objects.create_user("bench-staff", is_staff=True)
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(staff)
        # The process's first request pays for imports and URL resolving: not the report's.
        _, warm_up = timed(client.get, "/api/me")
        path = f"/api/reports/{report.pk}"
        times = []
        for _ in range(21):
            response, seconds = timed(client.get, path)
            assert response.status_code == 200, response.content[:500]
            times.append(seconds * 1000)
        median = statistics.median(times[1:])
        print(f"GET {path}:  first {times[0]:.0f} ms, median {median:.0f} ms, "
              f"max {max(times[1:]):.0f} ms  (target < 300 ms; {len(response.content):,} bytes; "
              f"the process's first request, GET /api/me, took {warm_up * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
