"""The configuration snapshot: built from the database in a fixed number of queries, held
per process, and rebuilt in every process after any configuration row changes (STYLE B-3).

Processes agree through one integer in the Django cache, the configuration version. A
post_save / post_delete receiver bumps it at once (so this process sees its own change,
even inside a transaction) and again when the transaction commits (so no other process
can rebuild from rows that are not committed yet and keep them under the new version).
A warm `snapshot_get()` is one cache read and no SQL; inside a request (`one_version`)
the version is read once, whatever number of values ask for it.

Async code calls `await config_current()` first: it builds, off the event loop, whatever
is behind; after it, `get()` on the loop reads memory only (issue 8: no thread hop and no
query on the warm path).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from qfweb.cache import aget_many
from routing.config import ConfigSnapshot, ModelInfo, ProviderInfo, TaskInfo
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
from routing.offloop import run_sync

VERSION_KEY = "routing:config-version"
T = TypeVar("T")


# The version as this request first read it ([] before that); None outside requests.
_request_version: ContextVar[list[int] | None] = ContextVar("qf_request_config_version", default=None)


@contextmanager
def one_version() -> Iterator[None]:
    """Within this block (a request), the version is read from the cache once."""
    token = _request_version.set([])
    try:
        yield
    finally:
        _request_version.reset(token)


async def aread_version() -> None:
    """Read this request's version (one_version) without blocking the event loop; should
    that fail, config_version() reads it as ever."""
    memo = _request_version.get()
    if memo is None or memo:
        return
    try:
        found = await aget_many([VERSION_KEY])
    except Exception:  # noqa: BLE001 (the sync read below reports the cache's failure)
        return
    if VERSION_KEY in found:
        memo.append(found[VERSION_KEY])


def config_version() -> int:
    memo = _request_version.get()
    if memo:
        return memo[0]
    version = cache.get(VERSION_KEY)
    if version is None:
        # First use, or the cache lost it: start from the clock, so the new value is above
        # whatever version any process still holds.
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY)
    if memo is not None:
        memo.append(version)
    return version


def bump_config_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # the key is gone; a fresh clock value is as good as a bump
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    if memo := _request_version.get():
        memo.clear()  # this request changed the configuration: it reads the new version


def config_changed(**_: object) -> None:
    """Signal receiver for every configuration model (connected by `watch`)."""
    bump_config_version()
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return
    # Once per transaction (and savepoint) is enough; robust, so a cache outage after the
    # commit cannot turn a committed write into an error.
    level = set(connection.savepoint_ids)
    if not any(sids == level for sids, *_ in _pending_bumps()):
        transaction.on_commit(bump_config_version, robust=True)


def _pending_bumps() -> tuple[object, ...]:
    """This thread's queued after-commit bumps. Django drops those of a transaction or
    savepoint that rolls back, so its queue is the truth to ask."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return ()
    return tuple(entry for entry in connection.run_on_commit if entry[1] is bump_config_version)


def watch(*senders: type[models.Model]) -> None:
    """Bump the configuration version whenever a row of these models is saved or deleted."""
    for sender in senders:
        post_save.connect(config_changed, sender=sender, dispatch_uid=f"config-{sender._meta.label}-save")
        post_delete.connect(config_changed, sender=sender, dispatch_uid=f"config-{sender._meta.label}-delete")


class PerProcess(Generic[T]):
    """A value built from the database, kept until the configuration version moves."""

    def __init__(self, build: Callable[[int], T]) -> None:
        self._build = build
        # (version, value, the pending bumps of the uncommitted changes it was built from)
        self._held: tuple[int, T, tuple[object, ...]] | None = None
        _all.add(self)

    def get(self) -> T:
        # Read the version before building: a build that races a bump is labelled with the
        # older version and so replaced on the next call.
        version = config_version()
        held = self._held
        if held is not None and not self._behind(held, version):
            return held[1]
        if held is not None and _on_event_loop():
            # The ORM may not run here. config_current() made this current moments ago
            # (a newer version came since): serve it, the next request rebuilds.
            return held[1]
        held = (version, self._build(version), _pending_bumps())
        self._held = held
        return held[1]

    def is_current(self) -> bool:
        held = self._held
        return held is not None and not self._behind(held, config_version())

    @staticmethod
    def _behind(held: tuple[int, T, tuple[object, ...]], version: int) -> bool:
        # Versions only grow, so one built under a later version than this request read
        # is current too. A value built inside a transaction that changed the configuration
        # holds only while those changes are pending: after a rollback no bump comes.
        return held[0] < version or bool(held[2] and not _still_pending(held[2]))

    def forget(self, **_: object) -> None:
        self._held = None


_all: weakref.WeakSet[PerProcess] = weakref.WeakSet()  # the module-level ones live on


async def config_current() -> None:
    """Bring every per-process value up to the configuration version, building off the
    loop when one is behind; warm, this is the request's one cache read."""
    await aread_version()
    if not all(value.is_current() for value in _all):
        await run_sync(_build_all)


def _build_all() -> None:
    for value in _all:
        value.get()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _still_pending(bumps: tuple[object, ...]) -> bool:
    pending = _pending_bumps()
    return all(any(entry is bump for entry in pending) for bump in bumps)


def snapshot_build(version: int = 0) -> ConfigSnapshot:
    """Eight queries, whatever the size of the catalogue."""
    freeze = MappingProxyType
    caps: dict[int, dict[str, int]] = defaultdict(dict)
    for model_id, name, strength in ModelCapability.objects.values_list("model_id", "capability__name", "strength"):
        caps[model_id][name] = strength
    provider_rows = list(
        Provider.objects.values_list(
            "id", "name", "kind", "is_enabled", "aliases", "default_model_id", "health_state", "health_latency_ms",
            "base_url", "allow_private_network", "timeout_s", "rate_limit_rpm", "credential_ref", "credential_encrypted",
        )
    )
    provider_names = {row[0]: row[1] for row in provider_rows}
    handles: dict[int, str] = {}
    models: dict[str, ModelInfo] = {}
    for row in Model.objects.values_list(
        "id", "provider_id", "name", "modality", "is_enabled", "context_window", "max_output_tokens",
        "input_price", "output_price", "image_price", "char_price", "weight",
        "default_params", "param_map", "credential_ref", "max_retries", "retry_delay_s", "timeout_s", "rate_limit_rpm",
    ):
        (pk, provider_id, name, modality, enabled, context, max_out, p_in, p_out, p_img, p_char, weight,
         params, param_map, credential_ref, retries, retry_delay, timeout, rpm) = row
        model = ModelInfo(
            provider=provider_names[provider_id], name=name, modality=modality, is_enabled=enabled,
            context_window=context, max_output_tokens=max_out, input_price=_float(p_in),
            output_price=_float(p_out), image_price=_float(p_img), char_price=_float(p_char),
            weight=weight, capabilities=freeze(caps.get(pk, {})), id=pk,
            default_params=freeze(params or {}), param_map=freeze(param_map or {}),
            credential_ref=credential_ref, max_retries=retries, retry_delay_s=retry_delay,
            timeout_s=timeout, rate_limit_rpm=rpm,
        )
        handles[pk] = model.handle
        models[model.handle] = model
    providers = {
        name: ProviderInfo(
            name=name, kind=kind, is_enabled=enabled, aliases=tuple(aliases or ()),
            default_model=handles.get(default_id), health_state=health, latency_ms=latency, id=pk,
            base_url=base_url, allow_private_network=private, timeout_s=timeout, rate_limit_rpm=rpm,
            credential_ref=credential_ref, credential_encrypted=encrypted,
        )
        for (pk, name, kind, enabled, aliases, default_id, health, latency,
             base_url, private, timeout, rpm, credential_ref, encrypted) in provider_rows
    }
    fallbacks: dict[int, list[str]] = defaultdict(list)
    for task_id, model_id in TaskFallback.objects.order_by("task_id", "position").values_list("task_id", "model_id"):
        fallbacks[task_id].append(handles[model_id])
    requirements: dict[int, dict[str, int]] = defaultdict(dict)
    for task_id, name, strength in TaskRequirement.objects.values_list("task_id", "capability__name", "min_strength"):
        requirements[task_id][name] = strength
    tasks = {
        name: TaskInfo(
            name=name, modality=modality, primary=handles.get(primary_id),
            fallbacks=tuple(fallbacks.get(pk, ())), requirements=freeze(requirements.get(pk, {})),
            strategy=strategy, default_params=freeze(params or {}),
        )
        for pk, name, modality, primary_id, strategy, params in Task.objects.values_list(
            "id", "name", "modality", "primary_id", "strategy", "default_params"
        )
    }
    return ConfigSnapshot(
        version=version,
        providers=freeze(providers),
        models=freeze(models),
        capabilities=freeze(dict(Capability.objects.values_list("name", "category"))),
        tasks=freeze(tasks),
        defaults=freeze({modality: handles[pk] for modality, pk in Default.objects.values_list("modality", "model_id")}),
        env_task_models=freeze(dict(settings.QF_TASK_MODELS)),
        env_default_models=freeze(dict(settings.QF_DEFAULT_MODELS)),
        builtin_models=freeze(dict(settings.QF_BUILTIN_MODELS)),
        multi_model=settings.QF_MULTI_MODEL,
    )


def _float(price: object) -> float | None:
    return None if price is None else float(price)  # type: ignore[arg-type]


_snapshot = PerProcess(snapshot_build)
snapshot_get = _snapshot.get
snapshot_forget = _snapshot.forget  # for settings changes, which bump no version

CONFIG_MODELS = (Provider, Model, Capability, ModelCapability, Task, TaskFallback, TaskRequirement, Default)
