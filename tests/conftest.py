from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


# ---- admin: a small store with one row of every kind, and form-data helpers -------------


@pytest.fixture
def store(db, admin_user):
    """Providers, models, a capability, a task with fallbacks and a requirement, a default,
    personas with fallbacks and an override, a scenario, an API key, a generation with
    attempts, a health check and a persona change: enough for every admin page."""
    from types import SimpleNamespace

    from django.contrib.auth.models import Group

    from personas.history import persona_record_change
    from personas.keys import api_key_issue
    from personas.models import (
        Persona,
        PersonaFallback,
        PersonaTaskOverride,
        Scenario,
        ScenarioModel,
    )
    from routing.choices import CapabilityCategory, Strength
    from routing.models import (
        Attempt,
        Capability,
        Default,
        Generation,
        HealthCheck,
        Model,
        ModelCapability,
        Provider,
        Task,
        TaskFallback,
        TaskRequirement,
    )

    from datetime import UTC, date, datetime
    from decimal import Decimal

    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    from routing.models import BudgetAlert

    s = SimpleNamespace()
    # IP-literal base URLs: validating them needs no DNS, so admin POSTs stay offline.
    s.openai = Provider.objects.create(
        name="openai",
        kind="openai",
        base_url="https://8.8.8.8/v1",
        credential_ref="${OPENAI_API_KEY}",
    )
    s.anthropic = Provider.objects.create(
        name="anthropic", kind="anthropic", base_url="https://1.1.1.1"
    )
    s.echo = Provider.objects.create(name="echo", kind="echo")
    s.gpt4o = Model.objects.create(
        provider=s.openai,
        name="gpt-4o",
        modality="text",
        context_window=128_000,
        input_price="2.5",
        output_price="10",
    )
    s.mini = Model.objects.create(provider=s.openai, name="gpt-4o-mini", modality="text")
    s.claude = Model.objects.create(provider=s.anthropic, name="claude-sonnet-4", modality="text")
    s.echo_text = Model.objects.create(provider=s.echo, name="echo", modality="text")
    s.echo_image = Model.objects.create(
        provider=s.echo, name="echo-image", modality="image", image_price="0.04"
    )
    s.echo.default_model = s.echo_image
    s.echo.save()
    s.reasoning = Capability.objects.create(name="reasoning", category=CapabilityCategory.TASK)
    s.link = ModelCapability.objects.create(
        model=s.gpt4o, capability=s.reasoning, strength=Strength.STRONG
    )
    s.task = Task.objects.create(name="response", primary=s.gpt4o)
    TaskFallback.objects.create(task=s.task, model=s.claude, position=1)
    TaskFallback.objects.create(task=s.task, model=s.echo_text, position=2)
    TaskRequirement.objects.create(
        task=s.task, capability=s.reasoning, min_strength=Strength.MODERATE
    )
    s.default = Default.objects.create(modality="text", model=s.echo_text)
    s.smith = Persona.objects.create(
        slug="scene_smith", name="Scene Smith", model=s.gpt4o, params={"temperature": 0.7}
    )
    PersonaFallback.objects.create(persona=s.smith, model=s.claude, position=1)
    PersonaTaskOverride.objects.create(persona=s.smith, task=s.task, model=s.mini)
    s.illustrator = Persona.objects.create(slug="illustrator", provider=s.echo)
    s.change = persona_record_change(persona=s.smith, action="created", actor="fixture")
    s.scenario = Scenario.objects.create(name="debate", group_size=10)
    ScenarioModel.objects.create(scenario=s.scenario, model=s.gpt4o, count=5)
    ScenarioModel.objects.create(scenario=s.scenario, model=s.claude, count=5)
    s.issued = api_key_issue(name="app", personas=[s.smith], tasks=[s.task], created_by=admin_user)
    s.generation = Generation.objects.create(
        persona_slug="scene_smith",
        task_name="response",
        served_model=s.claude,
        served_handle="anthropic:claude-sonnet-4",
        status="ok_after_fallback",
        tokens_in=10,
        tokens_out=20,
    )
    Attempt.objects.create(
        generation=s.generation,
        position=1,
        model=s.gpt4o,
        model_handle="openai:gpt-4o",
        outcome="http_error",
        http_status=503,
        error_text="upstream unavailable",
    )
    Attempt.objects.create(
        generation=s.generation,
        position=2,
        model=s.claude,
        model_handle="anthropic:claude-sonnet-4",
        outcome="ok",
    )
    s.health = HealthCheck.objects.create(
        provider=s.openai, model=s.gpt4o, is_ok=False, error_text="timeout"
    )
    s.group = Group.objects.create(name="operators")
    s.alert = BudgetAlert.objects.create(
        scope="key", subject=str(s.issued.api_key.pk), month=date(2025, 5, 1), level=80,
        budget=Decimal("10"), spent=Decimal("8.5"),
    )
    s.every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    # (migrate puts the default schedule in too; this row is the store's own.)
    s.periodic = PeriodicTask.objects.create(
        name="store: prune", task="routing.tasks.prune_health_checks", interval=s.every_minute
    )
    CrontabSchedule.objects.create(minute="30", hour="0")
    SolarSchedule.objects.create(event="sunrise", latitude=48.85, longitude=2.35)
    ClockedSchedule.objects.create(clocked_time=datetime(2025, 6, 1, tzinfo=UTC))
    return s


def _bound_values(form) -> dict:
    from django.forms import CheckboxInput, ModelMultipleChoiceField, MultipleChoiceField

    data: dict = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field.widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(bound.field, ModelMultipleChoiceField | MultipleChoiceField):
            data[bound.html_name] = [str(v) for v in value or []]
        elif value is None:
            data[bound.html_name] = ""
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = str(value)
    return data


def admin_form_data(response) -> dict:
    """The POST body an unchanged admin add/change form would send, inlines included."""
    data = _bound_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(_bound_values(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(_bound_values(form))
    return data


@pytest.fixture
def form_data():
    return admin_form_data


# ---- configuration import/export: the whole store as plain data ------------------------

CONFIG_MODELS = (
    "routing.Capability", "routing.Provider", "routing.Model", "routing.ModelCapability",
    "routing.Task", "routing.TaskFallback", "routing.TaskRequirement", "routing.Default",
    "personas.Persona", "personas.PersonaFallback", "personas.PersonaTaskOverride",
    "personas.Scenario", "personas.ScenarioModel",
)


def config_rows() -> dict:
    """Every row of the configuration models as plain data, without ids and timestamps, with
    foreign keys by name (str of the row), so two states of the store compare with ==."""
    from django.apps import apps

    rows = {}
    for label in CONFIG_MODELS:
        model = apps.get_model(label)
        skipped = ("id", "created_at", "updated_at")
        fields = [f for f in model._meta.concrete_fields if f.name not in skipped]
        dumped = []
        for obj in model.objects.all():
            row = {}
            for field in fields:
                value = getattr(obj, field.name)
                row[field.name] = str(value) if field.is_relation and value is not None else value
            dumped.append(row)
        rows[label] = sorted(dumped, key=repr)
    return rows


def flush_config_rows() -> None:
    """Delete the configuration (history and usage tables are left alone)."""
    from personas.models import Persona, Scenario
    from routing.models import Capability, Default, Provider, Task

    for model in (Persona, Scenario, Default, Task, Provider, Capability):
        model.objects.all().delete()


@pytest.fixture
def store_snapshot():
    return config_rows


@pytest.fixture
def flush_config():
    return flush_config_rows


@pytest.fixture
def demo(db, no_dns):
    """The demo configuration (personas/demo.yaml), loaded as `qf demo` does."""
    from personas.configio.demo import demo_load

    return demo_load()


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Host names resolve to nothing, as offline: base-URL checks (routing.urlsafety) then
    accept public names without asking a DNS server, so no test depends on the network."""
    import socket

    real_getaddrinfo = socket.getaddrinfo

    def offline(host, *args, **kwargs):
        # Loopback stays reachable: live-server tests connect to 127.0.0.1 and localhost.
        if host in ("localhost", "127.0.0.1", "::1"):
            return real_getaddrinfo(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "offline (tests)")

    monkeypatch.setattr(socket, "getaddrinfo", offline)


# ---- fault server: a real HTTP server speaking the provider APIs, misbehaving on request --


@pytest.fixture
def fault():
    """A running tests.fault.FaultServer (fresh programs and records for each test)."""
    from tests.fault import FaultServer

    with FaultServer() as server:
        yield server


@pytest.fixture
def gateway(fault, monkeypatch, transactional_db):
    """tests/gateway_setup.py's store on the fault server, its provider key in the environment."""
    from tests.gateway_setup import build_gateway
    from tests.routing.engine_setup import KEY_VAR, SECRET

    monkeypatch.setenv(KEY_VAR, SECRET)
    return build_gateway(fault.url)


@pytest.fixture
def live_url(transactional_db):
    """qfweb's ASGI application under a real uvicorn on 127.0.0.1, in a thread of this
    process (so it shares the test database), for clients that need a real server."""
    import threading
    import time

    import uvicorn

    from qfweb.asgi import application

    config = uvicorn.Config(application, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-qfweb", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


# ---- the local Redis, shared with a second process (tests.routing.cache_peer) ------------

REDIS_HOST = "127.0.0.1:6379"


@pytest.fixture
def redis_cache():
    """The Django cache on the local Redis, under a key prefix of this test's own, and the
    environment another process needs to share it. Databases 8+ keep clear of the data a
    developer may have in 0..7; one per xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = 8 + int(worker[2:]) % 8
    url = f"redis://{REDIS_HOST}/{db}"
    prefix = f"qft-{uuid.uuid4().hex[:8]}"
    settings = {
        "default": {"BACKEND": "qfweb.cache.SharedRedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    }
    client = redis.Redis.from_url(url)
    with override_settings(CACHES=settings):
        yield {"url": url, "prefix": prefix, "client": client}
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    cache.close()


@pytest.fixture
def peer_env(redis_cache):
    """Environment for a second qfweb process sharing `redis_cache`."""
    env = dict(os.environ)
    env.update(
        QF_ENV="dev", REDIS_URL=redis_cache["url"], QF_CACHE_PREFIX=redis_cache["prefix"],
        DJANGO_SETTINGS_MODULE="tests.settings",
    )
    return env


@pytest.fixture
def loop_thread_without_connection(transactional_db):
    """The test's thread holds no open database connection, as a server's event-loop thread
    never does: only then does qfweb.asgi_handler send the request signals inline. (The
    async tests' loop runs on the test's thread, whose connection the fixtures opened.)"""
    from django.db import connections

    connections.close_all()
    if any(c.connection is not None for c in connections.all(initialized_only=True)):
        # Django never closes SQLite's in-memory test database; PostgreSQL's run covers it.
        pytest.skip("this thread's in-memory SQLite connection cannot be closed")
