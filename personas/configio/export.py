"""The whole configuration as a qfweb document (see native.py), as YAML or JSON.

Every configuration field is written, so importing the export restores the store exactly.
Not written: stored secrets (Provider.credential_encrypted: only the ${ENV} reference
leaves), API keys, generations, attempts, health, change history and scenario assignments.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import yaml

from personas.configio.native import VERSION
from personas.history import persona_snapshot
from personas.models import Persona, Scenario
from personas.services import scenario_snapshot
from routing.choices import Strength
from routing.models import Capability, Default, Model, Provider, Task
from routing.services.catalog import MODEL_PLAIN, PROVIDER_PLAIN

EXPORT_FORMATS = ("yaml", "json")


def export_document() -> dict[str, Any]:
    return {
        "qfweb": VERSION,
        "capabilities": [
            {"name": c.name, "category": c.category, "description": c.description}
            for c in Capability.objects.order_by("name")
        ],
        "providers": [
            _provider(p) for p in Provider.objects.select_related("default_model").order_by("name")
        ],
        "tasks": [
            _task(t) for t in Task.objects.select_related("primary__provider").order_by("name")
        ],
        "defaults": {
            d.modality: d.model.handle for d in Default.objects.select_related("model__provider")
        },
        "personas": [persona_snapshot(p) for p in Persona.objects.order_by("slug")],
        "scenarios": [scenario_snapshot(s) for s in Scenario.objects.order_by("name")],
    }


def _plain(value: Any) -> Any:
    """Prices are Decimals in the store and plain numbers in the file."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _provider(provider: Provider) -> dict[str, Any]:
    row = {"name": provider.name, **{f: getattr(provider, f) for f in PROVIDER_PLAIN}}
    row["default_model"] = provider.default_model.name if provider.default_model else None
    models = provider.models.prefetch_related("capabilities__capability").order_by("name")
    row["models"] = [_model(m) for m in models]
    return row


def _model(model: Model) -> dict[str, Any]:
    row = {"name": model.name, **{f: _plain(getattr(model, f)) for f in MODEL_PLAIN}}
    row["capabilities"] = {
        mc.capability.name: Strength(mc.strength).name.lower()
        for mc in sorted(model.capabilities.all(), key=lambda mc: mc.capability.name)
    }
    return row


def _task(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "description": task.description,
        "modality": task.modality,
        "primary": task.primary.handle if task.primary else None,
        "fallbacks": [f.model.handle for f in task.fallbacks.select_related("model__provider")],
        "requirements": {
            r.capability.name: Strength(r.min_strength).name.lower()
            for r in task.requirements.select_related("capability").order_by("capability__name")
        },
        "strategy": task.strategy,
        "default_params": task.default_params,
    }


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # System prompts read better as blocks than as one escaped line.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def export_text(*, fmt: str = "yaml") -> str:
    doc = export_document()
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    header = "# qfweb configuration (qf export). Credentials appear as ${ENV} references only.\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
