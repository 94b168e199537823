"""What a request will cost on a model, from the model's prices. Pure: no database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from routing.config import ModelInfo

PER_MILLION = 1_000_000


def estimate_cost(
    model: ModelInfo,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    characters: int = 0,
    images: int = 1,
) -> float | None:
    """USD for one request of this size, or None when a price it needs is unknown. A text
    request of unknown size counts as one token each way, so unknown sizes still rank
    models by their combined price."""
    if model.modality == "image":
        return None if model.image_price is None else model.image_price * max(images, 1)
    if model.modality == "audio":
        return None if model.char_price is None else model.char_price * max(characters, 1) / 1000
    if model.input_price is None or model.output_price is None:
        return None
    return (
        model.input_price * max(input_tokens, 1) + model.output_price * max(output_tokens, 1)
    ) / PER_MILLION


def list_price(model: ModelInfo) -> float:
    """A model's price for ranking regardless of request size: input plus output per 1M
    tokens, per image, or per 1k characters; unknown prices rank last."""
    if model.modality == "image":
        price = model.image_price
    elif model.modality == "audio":
        price = model.char_price
    elif model.input_price is None or model.output_price is None:
        price = None
    else:
        price = model.input_price + model.output_price
    return float("inf") if price is None else price


# ---- what a served request cost, for the usage rows: exact decimals -----------------------

COST_QUANTUM = Decimal("0.00000001")  # Generation.cost has 8 decimal places


@dataclass(frozen=True, slots=True)
class Charge:
    cost: Decimal | None  # None when a price it needs is unknown
    input_price: Decimal | None = None  # the prices used, kept on the row
    output_price: Decimal | None = None
    image_price: Decimal | None = None
    char_price: Decimal | None = None


def charge(
    model: ModelInfo, *, tokens_in: int = 0, tokens_out: int = 0, images: int = 0, characters: int = 0
) -> Charge:
    """The cost of a served request from the model's prices and the reported units."""
    if model.modality == "image":
        price = _decimal(model.image_price)
        cost = None if price is None else price * images
        return Charge(_money(cost), image_price=price)
    if model.modality == "audio":
        price = _decimal(model.char_price)
        cost = None if price is None else price * characters / 1000
        return Charge(_money(cost), char_price=price)
    p_in, p_out = _decimal(model.input_price), _decimal(model.output_price)
    cost = None if p_in is None or p_out is None else (p_in * tokens_in + p_out * tokens_out) / PER_MILLION
    return Charge(_money(cost), input_price=p_in, output_price=p_out)


def estimate_tokens(text: str) -> int:
    """About four characters a token (STACK.md B6): used, and flagged, only when a provider
    reports no usage."""
    return math.ceil(len(text) / 4)


def _decimal(price: float | None) -> Decimal | None:
    # The snapshot holds prices as floats; str() gives back the stored decimal exactly
    # (prices have at most 14 significant digits, floats keep 15).
    return None if price is None else Decimal(str(price))


def _money(cost: Decimal | None) -> Decimal | None:
    return None if cost is None else cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
