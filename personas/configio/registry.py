"""Source document 004: the task-driven model registry (modelRegistry.json).

    {"models": [{"id", "provider", "modelName", "maxTokens", "temperature", "contextWindow",
                 "costPer1kTokens", "capabilities": [...]}],
     "taskMappings": [{"taskName", "primaryModelId", "fallbackModelIds", "description"}],
     "defaultModelId": "..."}

Model ids are local to the file; in the store a model is `provider:modelName`, labelled
with its id. costPer1kTokens becomes the per-1M input and output price (x1000), maxTokens
and temperature the model's default parameters, capabilities rows of moderate strength
(a strength already stored is kept). defaultModelId becomes the global text default.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from personas.configio.known import KNOWN_PROVIDERS, capability_category
from personas.configio.plan import Entry, Plan, join

MODEL_KEYS = (
    "id",
    "provider",
    "modelName",
    "maxTokens",
    "temperature",
    "contextWindow",
    "costPer1kTokens",
    "capabilities",
)
TASK_KEYS = ("taskName", "primaryModelId", "fallbackModelIds", "description")
MODEL_FIELDS = {
    "name": "modelName",
    "display_name": "id",
    "context_window": "contextWindow",
    "default_params.max_tokens": "maxTokens",
    "default_params.temperature": "temperature",
    "input_price": "costPer1kTokens",
    "output_price": "costPer1kTokens",
    "capabilities": "capabilities",
}


def read_registry(doc: dict[str, Any]) -> Plan:
    plan = Plan()
    for key in doc:
        if key not in ("models", "taskMappings", "defaultModelId"):
            plan.error(str(key), "unknown section (expected: models, taskMappings, defaultModelId)")
    handles: dict[str, str] = {}
    for index, item in enumerate(_list(doc, "models", plan)):
        _model(plan, index, item, handles)
    for index, item in enumerate(_list(doc, "taskMappings", plan)):
        _task(plan, index, item, handles)
    if "defaultModelId" in doc:
        handle = _handle(plan, "defaultModelId", doc["defaultModelId"], handles)
        if handle:
            plan.defaults.append(
                Entry(
                    "defaultModelId", {"modality": "text"}, {"model": handle}, fields={"model": ""}
                )
            )
    return plan


def _list(doc: dict[str, Any], key: str, plan: Plan) -> list[Any]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        plan.error(key, "must be a list")
        return []
    return value


def _model(plan: Plan, index: int, item: Any, handles: dict[str, str]) -> None:
    model_id = item.get("id") if isinstance(item, dict) else None
    at = f"models[{model_id}]" if isinstance(model_id, str) and model_id else f"models[{index}]"
    if not isinstance(item, dict):
        plan.error(at, "must be an object")
        return
    for key in item:
        if key not in MODEL_KEYS:
            plan.error(join(at, key), f"unknown field (expected: {', '.join(MODEL_KEYS)})")
    missing = [
        k
        for k in ("id", "provider", "modelName")
        if not isinstance(item.get(k), str) or not item[k]
    ]
    for key in missing:
        plan.error(join(at, key), "is required (a string)")
    if missing or model_id in handles:
        if not missing:
            plan.error(at, "id is listed twice")
        return
    provider, name = item["provider"], item["modelName"]
    handles[model_id] = f"{provider}:{name}"
    _ensure_provider(plan, at, provider)
    data = _model_data(plan, at, item)
    plan.models.append(Entry(at, {"provider": provider, "name": name}, data, fields=MODEL_FIELDS))


def _model_data(plan: Plan, at: str, item: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"default_params": {}}
    if item["id"] != item["modelName"]:
        data["display_name"] = item["id"]  # the file's label for the model
    for ours, theirs in (("max_tokens", "maxTokens"), ("temperature", "temperature")):
        if theirs in item:
            data["default_params"][ours] = item[theirs]
    if "contextWindow" in item:
        data["context_window"] = item["contextWindow"]
    if "costPer1kTokens" in item:
        price = _per_million(item["costPer1kTokens"])
        if price is None:
            plan.error(join(at, "costPer1kTokens"), "must be a number")
        else:
            data["input_price"] = data["output_price"] = price
    if "capabilities" in item:
        data["capabilities"] = _capabilities(plan, join(at, "capabilities"), item["capabilities"])
    return data


def _per_million(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:  # in Decimal: 0.0015 x 1000 must be 1.5, not 1.5000000000000002
        return Decimal(str(value)) * 1000
    except InvalidOperation:
        return None


def _capabilities(plan: Plan, at: str, value: Any) -> dict[str, None]:
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        plan.error(at, "must be a list of capability names")
        return {}
    for name in value:
        if not any(e.key["name"] == name for e in plan.capabilities):
            plan.capabilities.append(
                Entry(at, {"name": name}, defaults={"category": capability_category(name)})
            )
    return {name: None for name in value}  # None: keep a stored strength, else moderate


def _ensure_provider(plan: Plan, at: str, name: str) -> None:
    """The registry names providers without describing them: known names are created when
    missing; any other must already be in the store."""
    known = KNOWN_PROVIDERS.get(name)
    if known is not None and not any(e.key["name"] == name for e in plan.providers):
        plan.providers.append(
            Entry(
                join(at, "provider"),
                {"name": name},
                defaults=known.defaults(),
                create_as=known.name,
            )
        )


def _task(plan: Plan, index: int, item: Any, handles: dict[str, str]) -> None:
    name = item.get("taskName") if isinstance(item, dict) else None
    at = f"taskMappings[{name}]" if isinstance(name, str) and name else f"taskMappings[{index}]"
    if not isinstance(name, str) or not name:
        plan.error(at, "must be an object with a taskName")
        return
    for key in item:
        if key not in TASK_KEYS:
            plan.error(join(at, key), f"unknown field (expected: {', '.join(TASK_KEYS)})")
    data: dict[str, Any] = {}
    if "primaryModelId" in item:
        data["primary"] = _handle(plan, join(at, "primaryModelId"), item["primaryModelId"], handles)
    fallbacks = item.get("fallbackModelIds") or []
    if not isinstance(fallbacks, list):
        plan.error(join(at, "fallbackModelIds"), "must be a list of model ids")
        fallbacks = []
    found = [
        _handle(plan, f"{at}.fallbackModelIds[{i}]", f, handles) for i, f in enumerate(fallbacks)
    ]
    data["fallbacks"] = [handle for handle in found if handle]
    if "description" in item:
        data["description"] = item["description"]
    fields = {
        "primary": "primaryModelId",
        "fallbacks": "fallbackModelIds",
        "description": "description",
        "name": "taskName",
    }
    plan.tasks.append(Entry(at, {"name": name}, data, defaults={"modality": "text"}, fields=fields))


def _handle(plan: Plan, at: str, model_id: Any, handles: dict[str, str]) -> str | None:
    if isinstance(model_id, str) and model_id in handles:
        return handles[model_id]
    plan.error(at, f"unknown model id {model_id!r} (not in models)")
    return None
