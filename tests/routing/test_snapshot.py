"""The configuration snapshot: fixed queries to build, none when warm, rebuilt after any
configuration row changes (STYLE B-3, the Zulip cache-test pattern)."""

from __future__ import annotations

import contextvars

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from personas.models import Persona, PersonaFallback, PersonaTaskOverride
from personas.profiles import profile_get
from routing.models import (
    Capability,
    Default,
    Model,
    ModelCapability,
    Provider,
    Task,
    TaskFallback,
    TaskRequirement,
)
from routing.resolution import resolve_live
from routing.snapshot import (
    VERSION_KEY,
    PerProcess,
    bump_config_version,
    config_current,
    config_version,
    one_version,
    snapshot_build,
    snapshot_get,
)
from tests import factories

pytestmark = pytest.mark.django_db


def resolve_smith(task: str | None = "response") -> list[str]:
    return resolve_live(persona=profile_get("scene_smith"), task=task).handles


def test_a_warm_resolve_runs_no_query_and_sees_the_next_change(demo, django_assert_num_queries):
    with CaptureQueriesContext(connection) as cold:
        first = resolve_smith()
    assert len(cold) == 11  # eight for the catalogue, three for the personas
    with django_assert_num_queries(0):
        assert resolve_smith() == first
        resolve_live(task="response")
    gpt4o = Model.objects.get(provider__name="openai", name="gpt-4o")
    gpt4o.is_enabled = False
    gpt4o.save()
    assert "openai:gpt-4o" in first and "openai:gpt-4o" not in resolve_smith()
    with django_assert_num_queries(0):
        resolve_smith()


def test_building_takes_the_same_queries_whatever_the_catalogue_size(demo):
    with CaptureQueriesContext(connection) as small:
        snapshot_build()
    extra = factories.provider("bulk", base_url="https://8.8.4.4/v1")
    reasoning = Capability.objects.get(name="reasoning")
    for i in range(40):
        m = factories.model(extra, f"m{i}", input_price=1, output_price=2)
        ModelCapability.objects.create(model=m, capability=reasoning, strength=3)
    task = Task.objects.create(name="bulk", primary=m)
    TaskFallback.objects.create(task=task, model=Model.objects.get(name="m1"), position=1)
    with CaptureQueriesContext(connection) as large:
        built = snapshot_build()
    assert len(large) == len(small) == 8
    assert built.models["bulk:m7"].capabilities == {"reasoning": 3}
    assert built.tasks["bulk"].fallbacks == ("bulk:m1",)


def _change(kind: str) -> None:
    """Save or delete one row of `kind`; every one must move the configuration version."""
    changes = {
        "provider": lambda: Provider.objects.get(name="openai").save(),
        "model": lambda: Model.objects.first().save(),
        "model deleted": lambda: Model.objects.filter(personas=None, fallback_for_personas=None, override_for_personas=None,
                                                       primary_for_tasks=None, fallback_for_tasks=None, default_for=None,
                                                       scenarios=None).first().delete(),
        "capability": lambda: Capability.objects.first().save(),
        "model capability": lambda: ModelCapability.objects.first().delete(),
        "task": lambda: Task.objects.first().save(),
        "task fallback": lambda: TaskFallback.objects.first().delete(),
        "task requirement": lambda: TaskRequirement.objects.first().save(),
        "default": lambda: Default.objects.first().save(),
        "persona": lambda: Persona.objects.first().save(),
        "persona fallback": lambda: PersonaFallback.objects.first().delete(),
        "persona task override": lambda: PersonaTaskOverride.objects.first().save(),
    }
    changes[kind]()


@pytest.mark.parametrize("kind", [
    "provider", "model", "model deleted", "capability", "model capability", "task", "task fallback",
    "task requirement", "default", "persona", "persona fallback", "persona task override",
])
def test_every_configuration_row_moves_the_version(demo, kind):
    before = config_version()
    _change(kind)
    assert config_version() > before


def test_the_change_is_seen_by_another_process_through_the_shared_version(demo, django_assert_num_queries):
    """Two holders stand for two processes: they share nothing but the cache."""
    here, there = PerProcess(snapshot_build), PerProcess(snapshot_build)
    assert here.get().tasks["response"].strategy == there.get().tasks["response"].strategy == "failover"
    task = Task.objects.get(name="response")
    task.strategy = "cost_optimized"
    task.save()
    assert there.get().tasks["response"].strategy == "cost_optimized"
    with django_assert_num_queries(0):
        there.get()


def test_a_commit_bumps_the_version_again(django_capture_on_commit_callbacks):
    """Another process may rebuild between the save and the commit; the bump after the
    commit makes it rebuild once more, from committed rows."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        echo = factories.provider("echo", kind="echo")
        factories.model(echo, "echo")
    assert len(callbacks) == 1  # one per transaction, however many rows change
    before = config_version()
    callbacks[0]()
    assert config_version() == before + 1


def test_a_rolled_back_transaction_does_not_stop_later_commits_from_bumping(django_capture_on_commit_callbacks):
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.provider("first", kind="echo")
        raise RuntimeError("rolled back")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        factories.provider("second", kind="echo")
    assert len(callbacks) == 1


def test_a_snapshot_read_inside_a_rolled_back_transaction_is_not_kept(demo):
    with pytest.raises(RuntimeError), transaction.atomic():
        gpt4o = Model.objects.get(provider__name="openai", name="gpt-4o")
        gpt4o.is_enabled = False
        gpt4o.save()
        assert snapshot_get().models["openai:gpt-4o"].is_enabled is False  # this transaction's view
        raise RuntimeError("rolled back")
    assert snapshot_get().models["openai:gpt-4o"].is_enabled is True


def test_a_lost_version_restarts_from_a_new_value(demo):
    snapshot = snapshot_get()
    cache.delete(VERSION_KEY)
    assert snapshot_get() is not snapshot
    assert snapshot_get().version == config_version() != snapshot.version


def test_settings_changes_rebuild_the_snapshot(demo, settings):
    assert snapshot_get().multi_model is True
    settings.QF_MULTI_MODEL = False
    settings.QF_TASK_MODELS = {"response": "gemini:gemini-1.5-pro"}
    snapshot = snapshot_get()
    assert snapshot.multi_model is False and snapshot.env_task_models == {"response": "gemini:gemini-1.5-pro"}
    assert resolve_smith() == ["echo:echo"]


# ---- one version read per request, and the event loop (issue 8) -------------------------


@pytest.fixture
def version_reads(monkeypatch) -> list[str]:
    """Each read of the configuration version from the cache."""
    reads: list[str] = []
    backend = type(caches["default"])
    get = backend.get

    def recorded(self, key, *args, **kwargs):
        if key == VERSION_KEY:
            reads.append(key)
        return get(self, key, *args, **kwargs)

    monkeypatch.setattr(backend, "get", recorded)
    return reads


def test_inside_one_version_the_version_is_read_from_the_cache_once(demo, version_reads):
    config_version()  # the very first read stores a version
    version_reads.clear()
    with one_version():
        version = config_version()
        resolve_smith()  # the snapshot and the persona profiles ask too
        assert config_version() == version
    assert len(version_reads) == 1
    config_version()  # outside a request every call asks
    assert len(version_reads) == 2


def test_a_change_inside_one_version_is_seen_by_the_rest_of_the_request(demo):
    with one_version():
        before = snapshot_get()
        gpt4o = Model.objects.get(provider__name="openai", name="gpt-4o")
        gpt4o.is_enabled = False
        gpt4o.save()
        assert config_version() > before.version
        assert snapshot_get().models["openai:gpt-4o"].is_enabled is False


@pytest.mark.django_db(transaction=True)
async def test_on_the_loop_a_stale_value_is_served_until_config_current_rebuilds_it(demo):
    held = await sync_to_async(snapshot_get)()
    bump_config_version()
    # Building here would query on the loop, which the ORM refuses (SynchronousOnlyOperation).
    assert snapshot_get() is held
    await config_current()
    current = snapshot_get()
    assert current is not held and current.version == config_version()


def test_a_value_built_under_a_newer_version_than_the_request_read_is_kept(demo, django_assert_num_queries):
    holder = PerProcess(snapshot_build)
    with one_version():
        read = config_version()
        # Meanwhile another request (a context of its own) sees a change and rebuilds.
        contextvars.Context().run(bump_config_version)
        newer = contextvars.Context().run(holder.get)
        assert newer.version > read == config_version()
        with django_assert_num_queries(0):
            assert holder.get() is newer
