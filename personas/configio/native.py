"""qfweb's own document, the one `qf export` writes (version 1).

    qfweb: 1
    capabilities: [{name, category, description}]
    providers:    [{name, kind, aliases, base_url, ..., default_model, models: [{name, ...}]}]
    tasks:        [{name, modality, primary, fallbacks, requirements, strategy, ...}]
    defaults:     {text: provider:model, image: ..., audio: ...}
    personas:     [persona_snapshot(...)]
    scenarios:    [{name, description, group_size, distribution: {provider:model: count}}]

Collections are lists of objects carrying their own name (a mapping keyed by name is read
too). A field left out keeps its stored value; the export writes every field, so importing
an export restores the store exactly. Credentials appear only as ${ENV} references.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from personas.configio.plan import Entry, Plan, mapping_of
from routing.choices import Modality

VERSION = 1
SECTIONS = ("qfweb", "capabilities", "providers", "tasks", "defaults", "personas", "scenarios")


def read_native(doc: dict[str, Any]) -> Plan:
    plan = Plan()
    if doc.get("qfweb") != VERSION:
        plan.error(
            "qfweb", f"unsupported version {doc.get('qfweb')!r}; this qfweb reads version {VERSION}"
        )
    for key in doc:
        if key not in SECTIONS:
            plan.error(str(key), f"unknown section (expected: {', '.join(SECTIONS)})")
    for at, name, item in _items(doc, "capabilities", "name", plan):
        plan.capabilities.append(Entry(at, {"name": name}, item))
    for at, name, item in _items(doc, "providers", "name", plan):
        models = item.pop("models", None) or []
        plan.providers.append(Entry(at, {"name": name}, item))
        for model_at, model_name, model in _items({"models": models}, "models", "name", plan, at):
            plan.models.append(Entry(model_at, {"provider": name, "name": model_name}, model))
    for at, name, item in _items(doc, "tasks", "name", plan):
        plan.tasks.append(Entry(at, {"name": name}, item))
    for modality, handle in mapping_of(doc.get("defaults"), "defaults", plan).items():
        at = f"defaults.{modality}"
        if modality not in Modality.values:
            plan.error(at, f"is not a modality ({', '.join(Modality.values)})")
        else:
            plan.defaults.append(
                Entry(at, {"modality": modality}, {"model": handle}, fields={"model": ""})
            )
    for at, slug, item in _items(doc, "personas", "slug", plan):
        plan.personas.append(Entry(at, {"slug": slug}, item))
    for at, name, item in _items(doc, "scenarios", "name", plan):
        plan.scenarios.append(Entry(at, {"name": name}, item))
    return plan


def _items(
    doc: dict[str, Any], section: str, key: str, plan: Plan, parent: str = ""
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, name, fields without the name) for each object of a list or name-keyed mapping."""
    value = doc.get(section)
    path = f"{parent}.{section}" if parent else section
    if isinstance(value, dict):
        value = [
            {key: name, **(item or {})} if isinstance(item, dict | None) else item
            for name, item in value.items()
        ]
    if value is None:
        return
    if not isinstance(value, list):
        plan.error(path, f"must be a list of objects with a {key}")
        return
    seen = set()
    for index, item in enumerate(value):
        name = item.get(key) if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            plan.error(f"{path}[{index}]", f"must be an object with a {key}")
            continue
        at = f"{path}[{name}]"
        if name in seen:
            plan.error(at, "is listed twice")
            continue
        seen.add(name)
        fields = {k: v for k, v in item.items() if k != key}
        if key == "slug":
            fields["slug"] = name  # persona_apply takes the whole snapshot, slug included
        yield at, name, fields
