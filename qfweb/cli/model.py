"""`qf model show|set|clear|list`: which model serves a persona, and why (source document
003's `/model` commands). Parsing and printing only: resolution is `routing.resolution`,
writes go through `personas.services.persona_apply`."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Iterable
from typing import Any

from django.core.management.base import OutputWrapper

from personas.profiles import profile_get
from personas.services import persona_apply
from qfweb.cli import table
from qfweb.errors import QfError
from routing.choices import Modality
from routing.config import ModelInfo, ProviderInfo
from routing.resolution import resolve_live
from routing.resolve import Level
from routing.snapshot import snapshot_get

model_help = "Show, set, clear or list the models that serve a persona (show explains why)."
ACTOR = "cli"


def add_model_arguments(parser: ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

    show = actions.add_parser(
        "show", help="the persona's resolved model chain, with what was dropped and why"
    )
    show.add_argument("persona", help="the persona's slug")
    show.add_argument("--task", help="resolve for this task (its modality, models, requirements)")
    show.add_argument(
        "--override", action="extend", nargs="+", default=[], metavar="HANDLE",
        help="a request's override: provider:model handles or provider names, in order",
    )
    show.add_argument(
        "--tokens", type=_count, default=0, metavar="N",
        help="the request's input tokens (models whose context window is smaller are dropped)",
    )
    show.add_argument("--json", action="store_true", help="print the explanation as JSON")

    set_ = actions.add_parser(
        "set", help="give the persona a model (provider:model) or a provider (its default model)"
    )
    set_.add_argument("persona", help="the persona's slug")
    set_.add_argument("model", metavar="provider:model|provider")

    clear = actions.add_parser(
        "clear", help="remove the persona's own model or provider (the task and defaults serve)"
    )
    clear.add_argument("persona", help="the persona's slug")

    listing = actions.add_parser("list", help="providers and their models, with prices and health")
    listing.add_argument("--modality", choices=Modality.values, help="only models of this modality")
    listing.add_argument("--provider", help="only this provider (name or alias)")


def run_model(options: dict[str, Any], out: OutputWrapper) -> None:
    {"show": _show, "set": _set, "clear": _clear, "list": _list}[options["action"]](options, out)


# ---- show -----------------------------------------------------------------------------


def _show(options: dict[str, Any], out: OutputWrapper) -> None:
    profile = profile_get(options["persona"])
    resolution = resolve_live(
        persona=profile,
        task=options["task"],
        override=options["override"],
        input_tokens=options["tokens"],
        explain_only=True,
    )
    if options["json"]:
        out.write(json.dumps(resolution.as_dict(), indent=2))
        return
    disabled = "" if profile.is_enabled else ", disabled"
    out.write(
        f"Persona {profile.slug} ({profile.modality}{disabled}); task {resolution.task or '-'}; "
        f"modality {resolution.modality}; strategy {resolution.strategy}"
    )
    out.write("Chain:")
    rows = [[f"{i}.", e.handle, str(e.level), e.source] for i, e in enumerate(resolution.chain, 1)]
    _lines(out, table(rows) if rows else ["(empty: no model can serve this request)"])
    drops = [
        [d.reference, str(d.level), str(d.reason), d.detail, f"({d.source})"]
        for d in resolution.dropped
    ]
    out.write("Dropped:" if drops else "Dropped: none")
    _lines(out, table(drops))
    if resolution.notes:
        out.write("Notes:")
        _lines(out, (f"- {note}" for note in resolution.notes))


# ---- set and clear --------------------------------------------------------------------


def _set(options: dict[str, Any], out: OutputWrapper) -> None:
    slug, value = options["persona"], options["model"]
    profile_get(slug)  # persona_apply would create a persona that does not exist
    key = "model" if ":" in value else "provider"
    applied = persona_apply(data={"slug": slug, key: value}, actor=ACTOR)
    persona = applied.obj  # names as stored: an alias becomes the provider's name
    if key == "model":
        what = f"model {persona.model.handle}"
    else:
        what = f"provider {persona.provider.name} (its default model)"
    if applied.outcome == "unchanged":
        out.write(f"Persona {slug} already has {what}; nothing changed")
    else:
        out.write(f"Persona {slug}: set {what}")
    _first_entry(out, slug)


def _clear(options: dict[str, Any], out: OutputWrapper) -> None:
    slug = options["persona"]
    before = profile_get(slug)
    applied = persona_apply(data={"slug": slug, "model": None, "provider": None}, actor=ACTOR)
    if applied.outcome == "unchanged":
        out.write(f"Persona {slug} has no model or provider of its own; nothing changed")
    else:
        had = f"model {before.model}" if before.model else f"provider {before.provider}"
        out.write(f"Persona {slug}: cleared {had}")
    _first_entry(out, slug)


def _first_entry(out: OutputWrapper, slug: str) -> None:
    resolution = resolve_live(persona=profile_get(slug), explain_only=True)
    if resolution.chain:
        entry = resolution.chain[0]
        out.write(f"Now served by: {entry.handle} ({entry.level}: {entry.source})")
    else:
        out.write("Now served by: nothing (no model can serve it; see `qf model show`)")
    for d in resolution.dropped:  # the persona's own choice, stored but not serving
        if d.level == Level.PERSONA:
            out.write(f"warning: {d.reference} does not serve: {d.reason}, {d.detail}")


# ---- list -----------------------------------------------------------------------------

PROVIDER_HEADER = ["PROVIDER", "KIND", "ENABLED", "HEALTH", "LATENCY", "DEFAULT MODEL", "ALIASES"]
MODEL_HEADER = ["MODEL", "MODALITY", "CONTEXT", "IN/1M", "OUT/1M", "IMAGE", "1K CHARS", "ENABLED"]


def _list(options: dict[str, Any], out: OutputWrapper) -> None:
    snapshot = snapshot_get()
    wanted = options["provider"]
    if wanted and wanted not in snapshot.provider_names:
        raise QfError(f"unknown provider {wanted!r}")
    modality = options["modality"]
    models = sorted(snapshot.models.values(), key=lambda m: m.name)
    catalogue = {
        p: [m for m in models if m.provider == p.name and modality in (None, m.modality)]
        for p in sorted(snapshot.providers.values(), key=lambda p: p.name)
        if wanted is None or p.name == snapshot.provider_names[wanted]
    }
    if modality:  # a provider with nothing of that modality has nothing to show
        catalogue = {p: models for p, models in catalogue.items() if models}
    if not catalogue:
        out.write("No providers match.")
        return
    # Two tables, interleaved: each provider's line, then its models' lines indented.
    provider_lines = iter(table([PROVIDER_HEADER, *map(_provider_row, catalogue)]))
    rows = [_model_row(m) for ms in catalogue.values() for m in ms]
    model_lines = iter(table([MODEL_HEADER, *rows]))
    out.write(next(provider_lines))
    out.write(f"  {next(model_lines)}")
    for provider_models in catalogue.values():
        out.write("")
        out.write(next(provider_lines))
        _lines(out, (next(model_lines) for _ in provider_models))


def _provider_row(p: ProviderInfo) -> list[str]:
    latency = "-" if p.latency_ms is None else f"{p.latency_ms:.0f} ms"
    default, aliases = p.default_model or "-", ", ".join(p.aliases) or "-"
    return [p.name, p.kind, _yes(p.is_enabled), p.health_state, latency, default, aliases]


def _model_row(m: ModelInfo) -> list[str]:
    prices = (m.input_price, m.output_price, m.image_price, m.char_price)
    context = "-" if m.context_window is None else str(m.context_window)
    return [m.handle, m.modality, context, *map(_price, prices), _yes(m.is_enabled)]


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---- helpers --------------------------------------------------------------------------


def _lines(out: OutputWrapper, lines: Iterable[str]) -> None:
    for line in lines:
        out.write(f"  {line}")


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ArgumentTypeError(f"must be a whole number of tokens, not {value!r}")
    return number
