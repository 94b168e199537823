"""What a configuration file asks for, in the store's own terms.

Every reader turns its format into a Plan: entries for each kind of row, each remembering
where in the source file it came from, so an error found while applying it names the
file's own entry and field (`roles.gatekeeper.temperature`), not ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    at: str  # the entry in the source file, e.g. "roles.gatekeeper"; "" for the top level
    key: dict[str, Any]  # what identifies the row: name, provider+name, slug, modality
    data: dict[str, Any] = field(default_factory=dict)  # fields to set
    defaults: dict[str, Any] = field(default_factory=dict)  # fields used only when creating
    # our field name -> the file's, for error messages; a key "x." maps a whole prefix
    fields: dict[str, str] = field(default_factory=dict)
    create_as: str = ""  # a provider's canonical name when it must be created (google -> gemini)

    def locate(self, name: str | None) -> str:
        """The source path of our field `name` in this entry."""
        mapped = self._source_field(name) if name else ""
        return ".".join(part for part in (self.at, mapped) if part) or "(top level)"

    def _source_field(self, name: str) -> str:
        if name in self.fields:
            return self.fields[name]
        head, _, rest = name.partition(".")
        if rest and f"{head}." in self.fields:
            return self.fields[f"{head}."] + rest
        return name


@dataclass
class Issue:
    at: str
    message: str


@dataclass
class Plan:
    capabilities: list[Entry] = field(default_factory=list)
    providers: list[Entry] = field(default_factory=list)
    models: list[Entry] = field(default_factory=list)
    tasks: list[Entry] = field(default_factory=list)
    defaults: list[Entry] = field(default_factory=list)
    personas: list[Entry] = field(default_factory=list)
    scenarios: list[Entry] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def error(self, at: str, message: str) -> None:
        self.errors.append(Issue(at, message))


def mapping_of(value: Any, at: str, plan: Plan, what: str = "an object") -> dict[str, Any]:
    """`value` if it is a mapping with string keys; otherwise an error and an empty dict."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        plan.error(at, f"must be {what}")
        return {}
    return value


def join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def model_entry(
    at: str, provider: str, name: str, modality: str, *, field: str, provider_field: str
) -> Entry:
    """A model a file names without describing it: created with `modality` when missing, left
    as it is when present. Its errors point at the file's fields that name it."""
    fields = {"name": field, "modality": field, "provider": provider_field}
    return Entry(
        at, {"provider": provider, "name": name}, defaults={"modality": modality}, fields=fields
    )
