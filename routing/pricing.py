"""What a request will cost on a model, from the model's prices. Pure: no database."""

from __future__ import annotations

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
