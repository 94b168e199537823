"""Source document 000: per-role provider configuration (YAML).

    providers:
      text:
        default: openai            # the global default for text: openai's default model
        openai: {api_key: ${OPENAI_API_KEY}, model: gpt-4o}
        ollama: {base_url: http://localhost:11434, model: llama3}
    roles:
      gatekeeper: {provider: ollama, model: llama3, temperature: 0.2, max_tokens: 1000}

A role becomes a persona of the same name, its modality detected from the name. A role
with a provider but no model uses that provider's default model. A role's `base_url`
configures (or creates) its provider, as example 3 of the document does for a1111.
"""

from __future__ import annotations

from typing import Any

from personas.configio.known import KNOWN_PROVIDERS
from personas.configio.plan import Entry, Plan, join, mapping_of, model_entry
from personas.modality import detect_modality
from routing.choices import Modality
from routing.handles import ENV_REF_RE

PROVIDER_KEYS = ("api_key", "base_url", "model", "kind")
ROLE_KEYS = ("provider", "model", "base_url", "name", "description", "system_prompt")


def read_roles(doc: dict[str, Any]) -> Plan:
    plan = Plan()
    for key in doc:
        if key not in ("providers", "roles"):
            plan.error(str(key), "unknown section (expected: providers, roles)")
    default_providers: dict[str, str] = {}
    sections = mapping_of(
        doc.get("providers"), "providers", plan, "a mapping of modalities to providers"
    )
    for modality, section in sections.items():
        at = f"providers.{modality}"
        if modality not in Modality.values:
            plan.error(at, f"is not a modality ({', '.join(Modality.values)})")
            continue
        for name, conf in mapping_of(section, at, plan).items():
            if name == "default":
                _default(plan, at, modality, conf, default_providers)
            else:
                _provider(
                    plan, f"{at}.{name}", name, modality, mapping_of(conf, f"{at}.{name}", plan)
                )
    for role, conf in mapping_of(doc.get("roles"), "roles", plan).items():
        _role(plan, role, mapping_of(conf, f"roles.{role}", plan), default_providers)
    return plan


def _default(plan: Plan, at: str, modality: str, name: Any, found: dict[str, str]) -> None:
    if not isinstance(name, str) or not name:
        plan.error(f"{at}.default", "must be a provider name")
        return
    found[modality] = name
    plan.defaults.append(
        Entry(at, {"modality": modality}, {"model": name}, fields={"model": "default"})
    )


def _known(name: str) -> dict[str, Any]:
    known = KNOWN_PROVIDERS.get(name)
    return {"defaults": known.defaults(), "create_as": known.name} if known else {}


def _provider(plan: Plan, at: str, name: str, modality: str, conf: dict[str, Any]) -> None:
    data: dict[str, Any] = {}
    for key, value in conf.items():
        if key not in PROVIDER_KEYS:
            plan.error(
                join(at, key), f"is not a provider setting (expected: {', '.join(PROVIDER_KEYS)})"
            )
        elif key == "api_key":
            if isinstance(value, str) and ENV_REF_RE.match(value):
                data["credential_ref"] = value
            else:  # never echo the value: it may be a key pasted into the file
                plan.error(
                    join(at, key), "must be a ${ENV_VAR} reference; secret values are not imported"
                )
        elif key == "model":
            if not isinstance(value, str) or not value:
                plan.error(join(at, key), "must be a model name")
                continue
            data["default_model"] = value
            plan.models.append(
                model_entry(at, name, value, modality, field="model", provider_field="")
            )
        else:
            data[key] = value
    fields = {"credential_ref": "api_key", "default_model": "model"}
    plan.providers.append(Entry(at, {"name": name}, data, fields=fields, **_known(name)))


def _role(plan: Plan, role: str, conf: dict[str, Any], default_providers: dict[str, str]) -> None:
    at, modality = f"roles.{role}", detect_modality(role)
    data: dict[str, Any] = {"slug": role}
    data["params"] = {k: v for k, v in conf.items() if k not in ROLE_KEYS}
    data.update({k: conf[k] for k in ("name", "description", "system_prompt") if k in conf})
    provider, model = conf.get("provider"), conf.get("model")
    if provider is None and model is not None:
        provider = default_providers.get(modality)  # the document's lookup: role, then default
    problem = _role_problem(provider, model, modality)
    if problem:
        plan.error(f"{at}.{problem[0]}", problem[1])
        return
    if model is not None:
        data.update(model=f"{provider}:{model}", provider=None)
        plan.models.append(
            model_entry(at, provider, model, modality, field="model", provider_field="provider")
        )
    else:  # a provider alone means its default model; none at all, the global default
        data.update(provider=provider, model=None)
    if "base_url" in conf:
        _role_base_url(plan, at, provider, conf["base_url"])
    plan.personas.append(Entry(at, {"slug": role}, data, fields={"params.": "", "slug": ""}))


def _role_base_url(plan: Plan, at: str, provider: str | None, url: Any) -> None:
    """A role's base_url configures its provider, creating it when the name is a known one."""
    if provider is None:
        plan.error(f"{at}.base_url", "needs a provider to configure")
        return
    fields = {"name": "provider", "kind": "provider", "base_url": "base_url"}
    plan.providers.append(
        Entry(at, {"name": provider}, {"base_url": url}, fields=fields, **_known(provider))
    )


def _role_problem(provider: Any, model: Any, modality: str) -> tuple[str, str] | None:
    if model is not None and provider is None:
        return "model", f"names no provider, and providers.{modality}.default is not set"
    if provider is not None and (not isinstance(provider, str) or not provider):
        return "provider", "must be a provider name"
    if model is not None and (not isinstance(model, str) or not model):
        return "model", "must be a model name"
    return None
