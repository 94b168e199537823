"""Source document 001: multi-model experiment configuration (YAML).

    ENABLE_MULTI_MODEL: true          # not stored: qfweb's switch is the QF_MULTI_MODEL setting
    NUM_AGENTS: 10                    # the default group size of the scenarios
    model_configs:
      openai/gpt-4: {api_key_env: OPENROUTER_API_KEY, max_tokens: 1000, temperature: 0.7,
                     rate_limit: 60, retry_delay: 1.0, custom_params: {}}
    scenarios:
      - {name: mixed_5_5, model_distribution: {openai/gpt-4: 5, anthropic/claude-3-sonnet: 5}}

Every model type is served through OpenRouter (the document's unified interface), so a
model config becomes the model `openrouter:<model_type>`; an api_key_env other than
OPENROUTER_API_KEY becomes the model's own credential reference.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from personas.configio.known import KNOWN_PROVIDERS
from personas.configio.plan import Entry, Plan, join, mapping_of

PROVIDER = KNOWN_PROVIDERS["openrouter"]
CONFIG_KEYS = (
    "model_type",
    "api_key_env",
    "max_tokens",
    "temperature",
    "rate_limit",
    "retry_delay",
    "custom_params",
)
CONFIG_FIELDS = {
    "name": "model_type",
    "default_params.max_tokens": "max_tokens",
    "default_params.temperature": "temperature",
    "default_params.custom": "custom_params",
    "rate_limit_rpm": "rate_limit",
    "retry_delay_s": "retry_delay",
    "credential_ref": "api_key_env",
}


def read_multimodel(doc: dict[str, Any]) -> Plan:
    plan = Plan()
    for key in doc:
        if key not in ("ENABLE_MULTI_MODEL", "NUM_AGENTS", "model_configs", "scenarios"):
            plan.notices.append(f"{key}: not a model setting; ignored")
    if "ENABLE_MULTI_MODEL" in doc:
        state = "on" if settings.QF_MULTI_MODEL else "off"
        plan.notices.append(
            "ENABLE_MULTI_MODEL: not stored; qfweb's switch is the QF_MULTI_MODEL setting"
            f" (now {state})"
        )
    size = doc.get("NUM_AGENTS")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        plan.error("NUM_AGENTS", "must be a positive whole number")
        size = None
    types: dict[str, str] = {}
    for key, conf in _configs(doc.get("model_configs"), plan).items():
        _model(plan, key, conf, types)
    if types:
        plan.providers.append(
            Entry("model_configs", {"name": PROVIDER.name}, defaults=PROVIDER.defaults())
        )
    for at, item in _scenarios(doc.get("scenarios"), plan):
        _scenario(plan, at, item, types, size)
    return plan


def _configs(value: Any, plan: Plan) -> dict[str, Any]:
    """model_configs keyed by model type, or a list of configs that each name theirs."""
    if isinstance(value, list):
        keyed = {}
        for index, conf in enumerate(value):
            model_type = conf.get("model_type") if isinstance(conf, dict) else None
            if not isinstance(model_type, str) or not model_type:
                plan.error(f"model_configs[{index}]", "must be an object with a model_type")
            else:
                keyed[model_type] = conf
        return keyed
    return mapping_of(value, "model_configs", plan, "a mapping of model types to their settings")


def _model(plan: Plan, key: str, conf: Any, types: dict[str, str]) -> None:
    at = f"model_configs.{key}"
    conf = mapping_of(conf, at, plan)
    for name in conf:
        if name not in CONFIG_KEYS:
            plan.error(join(at, name), f"unknown field (expected: {', '.join(CONFIG_KEYS)})")
    model_type = conf.get("model_type", key)
    if model_type != key:
        plan.error(join(at, "model_type"), f"is {model_type!r} but the entry is keyed {key!r}")
        return
    params = {
        ours: conf[theirs]
        for ours, theirs in (("max_tokens", "max_tokens"), ("temperature", "temperature"))
        if theirs in conf
    }
    if conf.get("custom_params"):
        params["custom"] = conf["custom_params"]
    data: dict[str, Any] = {"default_params": params}
    if "rate_limit" in conf:
        data["rate_limit_rpm"] = conf["rate_limit"]
    if "retry_delay" in conf:
        data["retry_delay_s"] = conf["retry_delay"]
    env = conf.get("api_key_env", PROVIDER.credential_env)
    if not isinstance(env, str) or not env:
        plan.error(join(at, "api_key_env"), "must be an environment variable name")
    else:  # empty: the model uses the provider's key, as the document's default does
        data["credential_ref"] = "" if env == PROVIDER.credential_env else f"${{{env}}}"
    types[key] = f"{PROVIDER.name}:{key}"
    plan.models.append(
        Entry(at, {"provider": PROVIDER.name, "name": key}, data, fields=CONFIG_FIELDS)
    )


def _scenarios(value: Any, plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        return [
            (f"scenarios.{name}", {"name": name, **mapping_of(item, f"scenarios.{name}", plan)})
            for name, item in value.items()
        ]
    if value is not None and not isinstance(value, list):
        plan.error("scenarios", "must be a list of scenarios")
        return []
    found = []
    for index, item in enumerate(value or []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            plan.error(f"scenarios[{index}]", "must be an object with a name")
        else:
            found.append((f"scenarios[{name}]", item))
    return found


def _scenario(
    plan: Plan, at: str, item: dict[str, Any], types: dict[str, str], size: int | None
) -> None:
    for key in item:
        if key not in ("name", "description", "model_distribution", "num_agents"):
            plan.error(
                join(at, key),
                "unknown field (expected: name, description, model_distribution, num_agents)",
            )
    distribution = {}
    for model_type, count in mapping_of(
        item.get("model_distribution"), join(at, "model_distribution"), plan
    ).items():
        if model_type in types:
            distribution[types[model_type]] = count
        else:
            plan.error(f"{at}.model_distribution.{model_type}", "is not one of the model_configs")
    data: dict[str, Any] = {"distribution": distribution}
    if "description" in item:
        data["description"] = item["description"]
    group_size = item.get("num_agents", size)
    if group_size is not None:
        data["group_size"] = group_size
    fields = {
        "distribution": "model_distribution",
        "group_size": "num_agents" if "num_agents" in item else "NUM_AGENTS",
    }
    fields.update({f"distribution.{h}": f"model_distribution.{t}" for t, h in types.items()})
    plan.scenarios.append(Entry(at, {"name": item["name"]}, data, fields=fields))
