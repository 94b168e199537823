"""The real tasks through a real Celery worker (a separate process, prefork pool) on the
local Redis, sharing the test database and the cache with this process (issue 6, "Done
when"; RELIABILITY.md required test 32).

A worker in another process cannot see SQLite's in-memory test database, so on SQLite these
tests are skipped; CI runs them on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from celery import Celery
from django.db import connection

from routing.engine import generate
from routing.models import HealthCheck
from tests.fault import FaultServer
from tests.fault.steps import Ok, Stall, Status
from tests.routing.engine_setup import KEY_VAR, SECRET, build, job, outcomes, rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can reach: run on PostgreSQL")
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(peer_env, redis_cache, tmp_path):
    """A Celery worker with one process on a queue of this test's own; yields a function
    that sends a task to it."""
    queue = f"qft-{uuid.uuid4().hex[:8]}"
    env = peer_env | {
        "DATABASE_URL": database_url(), KEY_VAR: SECRET,
        # Only the task's own time limit can end a hung probe here.
        "QF_HEALTH_TIMEOUT_S": "60",
        "QF_TEST_CELERY_QUEUE": queue,  # tasks the worker sends itself stay on it too
    }
    log = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "celery", "--app", "qfweb", "worker",
        "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO", "--hostname", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    client = Celery(broker=env["REDIS_URL"])
    try:
        wait_for(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, 60)
        assert proc.poll() is None, log.read_text()

        def send(name: str, *args, **options) -> None:
            client.send_task(name, args=args, queue=queue, **options)

        send.log = log
        yield send
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.close()
        redis_cache["client"].delete(queue, f"_kombu.binding.{queue}")


def wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def next_check(provider: str, after: int = 0) -> HealthCheck:
    return wait_for(
        lambda: HealthCheck.objects.filter(provider__name=provider, pk__gt=after).order_by("pk").first(), 30
    )


@pytest.fixture
def catalogue(fault, monkeypatch, redis_cache):
    monkeypatch.setenv(KEY_VAR, SECRET)
    with FaultServer() as own:
        own.program("gpt-a", Ok(text="from a"))
        fault.program("gpt-b", Ok(text="from b"))
        fault.program("gpt-c", Ok(text="from c"))
        yield {"server_a": own, **build(fault.url, a_url=own.url)}


def serve(*handles: str):
    result = async_to_sync(generate)(job(*handles))
    return result, async_to_sync(rows)(result.request_id)[1]


def test_a_provider_that_goes_down_is_skipped_after_the_next_check_and_used_after_recovery(catalogue, worker):
    own = catalogue["server_a"]
    result, _ = serve("a:gpt-a", "b:gpt-b")
    assert result.served == "a:gpt-a"

    own.program("*", Status(503))  # a goes down
    worker("routing.tasks.health_check_provider", "a")
    down = next_check("a")
    assert (down.state, down.is_ok) == ("down", False)
    calls = len(own.requests_for("gpt-a"))

    result, attempts = serve("a:gpt-a", "b:gpt-b")
    assert outcomes(attempts) == [("a:gpt-a", "circuit_open"), ("b:gpt-b", "ok")]
    assert len(own.requests_for("gpt-a")) == calls  # skipped without a call

    own.program("*", Ok())  # a recovers
    worker("routing.tasks.health_check_provider", "a")
    assert next_check("a", after=down.pk).state == "healthy"
    result, attempts = serve("a:gpt-a", "b:gpt-b")
    assert (result.served, outcomes(attempts)) == ("a:gpt-a", [("a:gpt-a", "ok")])


def test_the_periodic_check_covers_every_enabled_provider(catalogue, worker):
    from routing.models import Provider

    Provider.objects.filter(name="b").update(is_enabled=False)
    worker("routing.tasks.health_check_all")
    assert next_check("a").state == "healthy"
    time.sleep(1)
    assert not HealthCheck.objects.filter(provider__name="b").exists()


def test_a_hung_probe_is_ended_by_the_time_limit_and_the_worker_goes_on(catalogue, worker):
    catalogue["server_a"].program("*", Stall(60))

    began = time.monotonic()
    worker("routing.tasks.health_check_provider", "a", soft_time_limit=1, time_limit=10)
    worker("routing.tasks.health_check_provider", "b")  # queued behind it, one process

    hung = next_check("a")
    assert (hung.state, hung.is_ok) == ("down", False)
    assert hung.error_text.startswith("no answer within 1")
    assert next_check("b").state == "healthy"
    assert time.monotonic() - began < 10
