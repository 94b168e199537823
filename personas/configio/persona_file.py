"""Source document 003: one persona's system file (JSON with comments).

    {"entity": "system", "aliases": ["ei", "friend"], "model": "google:gemini-1.5-pro", ...}

The persona is named by a `name` key, or else by its first alias, in lower case. Its
`model` handle may name the provider by an alias (`google`, `x`, `local`); the provider must
already be in the store, the model is added to it when missing. The rest of the file (the
persona's concepts and memories) is not configuration and is left alone.
"""

from __future__ import annotations

from typing import Any

from personas.configio.plan import Entry, Plan, model_entry
from personas.modality import detect_modality
from routing.handles import parse_handle

USED_KEYS = ("name", "aliases", "model", "system_prompt", "description")


def read_persona_file(doc: dict[str, Any]) -> Plan:
    plan = Plan()
    slug = _slug(doc, plan)
    if slug is None:
        return plan
    data: dict[str, Any] = {"slug": slug}
    if isinstance(doc.get("name"), str):
        data["name"] = doc["name"]
    for key in ("system_prompt", "description"):
        if key in doc:
            data[key] = doc[key]
    if doc.get("model") is not None:
        try:
            handle = parse_handle(doc["model"])
        except ValueError as exc:
            plan.error("model", str(exc))
            return plan
        data.update(model=str(handle), provider=None)
        modality = detect_modality(slug)
        entry = model_entry("", *handle, modality, field="model", provider_field="model")
        plan.models.append(entry)
    ignored = [key for key in doc if key not in USED_KEYS]
    if ignored:
        plan.notices.append(f"not configuration, left alone: {', '.join(ignored)}")
    plan.personas.append(
        Entry("", {"slug": slug}, data, fields={"slug": "aliases" if "name" not in doc else "name"})
    )
    return plan


def _slug(doc: dict[str, Any], plan: Plan) -> str | None:
    name = doc.get("name")
    aliases = doc.get("aliases")
    if name is None and isinstance(aliases, list) and aliases:
        name = aliases[0]
    if not isinstance(name, str) or not name.strip():
        plan.error("aliases", "needs a name, or at least one alias to name the persona by")
        return None
    return name.strip().lower()
