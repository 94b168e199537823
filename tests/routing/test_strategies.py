"""Each strategy orders the candidates inside a level group, through the resolver. No database."""

from __future__ import annotations

from collections import Counter

import pytest

from routing.config import ProviderInfo, TaskInfo
from routing.resolve import Level, ResolveRequest, resolve
from tests.routing.catalog import PROVIDERS, model, persona, snapshot

# A task whose three models differ in price shape, latency and weight.
A = model("openai:a", input_price=1, output_price=20, weight=3, context_window=100_000)  # cheap in, dear out
B = model("anthropic:b", input_price=10, output_price=2, weight=1, context_window=100_000)  # dear in, cheap out
C = model("gemini:c", input_price=None, output_price=None, weight=0, context_window=100_000)  # price unknown
ECHO = model("echo:echo")
POOL = TaskInfo("pool", primary=A.handle, fallbacks=(B.handle, C.handle))


def config(strategy="failover", latencies=None, **fields):
    providers = [
        ProviderInfo(p.name, p.kind, aliases=p.aliases, latency_ms=(latencies or {}).get(p.name))
        for p in PROVIDERS
    ]
    return snapshot(models=[A, B, C, ECHO], providers=providers,
                    tasks=[TaskInfo(**{**_fields(POOL), "strategy": strategy})],
                    defaults={}, env_default_models={}, **fields)


def _fields(task: TaskInfo) -> dict:
    return {name: getattr(task, name) for name in task.__dataclass_fields__}


def order(snap, **request) -> list[str]:
    request.setdefault("task", "pool")
    return [e.model.name for e in resolve(snap, ResolveRequest(**request)).chain if e.model.name != "echo"]


TABLE = {
    "failover keeps the configured order": ("failover", {}, ["a", "b", "c"]),
    "round_robin starts at the counter": ("round_robin", {"rotation": 1}, ["b", "c", "a"]),
    "round_robin wraps around": ("round_robin", {"rotation": 5}, ["c", "a", "b"]),
    "cost_optimized: an input-heavy request prefers cheap input": (
        "cost_optimized", {"input_tokens": 10_000, "output_tokens": 10}, ["a", "b", "c"]),
    "cost_optimized: an output-heavy request prefers cheap output": (
        "cost_optimized", {"input_tokens": 10, "output_tokens": 10_000}, ["b", "a", "c"]),
    "lowest_latency: measured latency first, unknown last": (
        "lowest_latency", {"latency_ms": {"anthropic:b": 90.0, "openai:a": 300.0}}, ["b", "a", "c"]),
    "capability with no requirements ranks by list price, whatever the request size": (
        "capability", {"input_tokens": 10_000}, ["b", "a", "c"]),  # b 12/M in+out, a 21/M
}


@pytest.mark.parametrize(("strategy", "request_fields", "expected"), TABLE.values(), ids=TABLE)
def test_task_strategy(strategy, request_fields, expected):
    assert order(config(strategy), **request_fields) == expected


def test_levels_keep_their_labels_when_reordered():
    chain = resolve(config("round_robin"), ResolveRequest(task="pool", rotation=1)).chain
    assert [(e.model.name, e.level) for e in chain[:3]] == [
        ("b", Level.TASK_FALLBACK), ("c", Level.TASK_FALLBACK), ("a", Level.TASK)
    ]


def test_lowest_latency_falls_back_to_the_health_check_latency():
    snap = config("lowest_latency", latencies={"openai": 400.0, "gemini": 50.0})
    assert order(snap) == ["c", "a", "b"]
    # A measured latency wins over the provider's probe.
    assert order(snap, latency_ms={"openai:a": 10.0}) == ["a", "c", "b"]


def test_weighted_is_stable_per_request_id():
    snap = config("weighted")
    for request_id in ("r-1", "r-2", "a7f0c9"):
        assert order(snap, request_id=request_id) == order(snap, request_id=request_id)


def test_weighted_splits_by_weight_and_never_leads_with_weight_zero():
    snap = config("weighted")
    firsts = Counter(order(snap, request_id=f"req-{i}")[0] for i in range(4000))
    assert firsts["c"] == 0
    share = firsts["a"] / 4000  # weights 3:1
    assert 0.72 < share < 0.78, firsts


def test_the_request_strategy_also_orders_the_persona_group():
    snap = config()
    smith = persona("smith", model="openai:a", fallbacks=("anthropic:b",))
    chain = resolve(snap, ResolveRequest(persona=smith, strategy="cost_optimized", output_tokens=10_000)).chain
    assert [(e.model.name, e.level) for e in chain[:2]] == [("b", Level.PERSONA_FALLBACK), ("a", Level.PERSONA)]


def test_the_task_strategy_leaves_the_persona_group_as_configured():
    snap = config("cost_optimized")
    smith = persona("smith", model="openai:a", fallbacks=("anthropic:b",))
    chain = resolve(snap, ResolveRequest(persona=smith, task="pool", output_tokens=10_000)).chain
    assert [e.model.name for e in chain[:3]] == ["a", "b", "c"]


def test_the_request_strategy_wins_over_the_task_strategy():
    snap = config("round_robin")
    assert order(snap, rotation=1, strategy="failover") == ["a", "b", "c"]
    assert resolve(snap, ResolveRequest(task="pool", strategy="failover")).strategy == "failover"
