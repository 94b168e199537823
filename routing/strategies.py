"""Selection strategies: each orders the candidates of one level that offers several.

A strategy is `order(candidates, context) -> candidates`, pure and deterministic: what varies
between requests (the round-robin counter, the request id, measured latencies) comes in
through the context, so the same inputs always give the same order. Sorts are stable, so
ties keep the configured order. The names equal `routing.choices.Strategy`'s values.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from routing.config import ModelInfo, ProviderInfo, empty_mapping
from routing.pricing import estimate_cost, list_price


@dataclass(frozen=True, slots=True)
class StrategyContext:
    rotation: int = 0  # the shared round-robin counter for this persona and task
    request_id: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    requirements: Mapping[str, int] = empty_mapping()
    latency_ms: Mapping[str, float] = empty_mapping()  # measured per handle; wins over health checks
    providers: Mapping[str, ProviderInfo] = empty_mapping()

    def cost(self, model: ModelInfo) -> float:
        """The estimated cost of this request; an unknown price sorts last."""
        cost = estimate_cost(
            model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            characters=self.characters,
        )
        return float("inf") if cost is None else cost

    def latency(self, model: ModelInfo) -> float:
        measured = self.latency_ms.get(model.handle)
        if measured is None:
            provider = self.providers.get(model.provider)
            measured = provider.latency_ms if provider else None
        return float("inf") if measured is None else measured


Order = Callable[[Sequence[ModelInfo], StrategyContext], list[ModelInfo]]


def failover(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    return list(models)


def round_robin(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    if not models:
        return []
    start = ctx.rotation % len(models)
    return [*models[start:], *models[:start]]


def cost_optimized(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    return sorted(models, key=ctx.cost)


def lowest_latency(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    return sorted(models, key=ctx.latency)


def weighted(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    """An A/B split: the first model is drawn with probability weight / total, from a
    generator seeded by the request id, so a retried request lands on the same arm. The rest
    follow in the same weighted draw (Efraimidis-Spirakis keys); weight 0 goes last."""
    seed = int.from_bytes(hashlib.blake2b(ctx.request_id.encode(), digest_size=8).digest(), "big")
    draw = random.Random(seed)

    def key(model: ModelInfo) -> float:
        u = draw.random()
        return u ** (1.0 / model.weight) if model.weight > 0 else -1.0

    keys = {id(m): key(m) for m in models}
    return sorted(models, key=lambda m: -keys[id(m)])


def capability_score(model: ModelInfo, requirements: Mapping[str, int]) -> int:
    return sum(model.capabilities.get(name, 0) for name in requirements)


def capability_rank(models: Iterable[ModelInfo], requirements: Mapping[str, int]) -> list[ModelInfo]:
    """Strongest on the required capabilities first, then the lowest list price, then by
    handle (so ties do not depend on the order a database returned the rows in)."""
    return sorted(models, key=lambda m: (-capability_score(m, requirements), list_price(m), m.handle))


def capability(models: Sequence[ModelInfo], ctx: StrategyContext) -> list[ModelInfo]:
    return capability_rank(models, ctx.requirements)


STRATEGIES: dict[str, Order] = {
    "failover": failover,
    "round_robin": round_robin,
    "cost_optimized": cost_optimized,
    "lowest_latency": lowest_latency,
    "weighted": weighted,
    "capability": capability,
}
