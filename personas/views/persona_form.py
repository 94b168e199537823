"""The persona editor's form: POSTed fields <-> the dict `persona_apply` takes, the editor's
own operations (fallbacks and task overrides edited without saving), and the unsaved
`PersonaProfile` the resolved-chain panel resolves.

Inputs are kept as the text the operator typed, so a form that cannot be stored comes back
as it was sent, each message beside its input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import zip_longest
from types import MappingProxyType
from typing import Any

from django.http import QueryDict

from personas.modality import detect_modality
from qfweb.errors import FieldErrors, QfError
from qfweb.pages import json_object, move_or_remove
from routing.choices import Modality
from routing.config import PersonaProfile

# The parameters with an input of their own, by modality: (name, label, kind). Any other
# parameter is edited in the "other parameters" JSON box.
PARAM_INPUTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "text": (("temperature", "Temperature", "number"), ("max_tokens", "Max tokens", "integer")),
    "image": (("width", "Width (px)", "integer"), ("height", "Height (px)", "integer")),
    "audio": (("voice", "Voice", "text"), ("language", "Language", "text")),
}
PARAM_KINDS = {name: kind for inputs in PARAM_INPUTS.values() for name, _, kind in inputs}
PARAM_LABELS = {name: label for inputs in PARAM_INPUTS.values() for name, label, _ in inputs}
READERS = {"integer": int, "number": float}
MAX_ROWS = 50  # fallbacks or overrides one form may carry (the API's limit too)


@dataclass
class OverrideRow:
    task: str = ""
    model: str = ""
    params: str = ""  # JSON object; blank means {}
    errors: list[str] = field(default_factory=list)


@dataclass
class PersonaForm:
    slug: str = ""
    name: str = ""
    description: str = ""
    modality: str = ""  # blank: detected from the slug
    system_prompt: str = ""
    model: str = ""  # a handle, a provider name (its default model), or blank (the defaults)
    fallbacks: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)  # typed inputs, as typed
    other_params: str = ""  # JSON object
    overrides: list[OverrideRow] = field(default_factory=list)
    is_enabled: bool = True
    new_fallback: str = ""
    preview_task: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)  # by input name, see place()

    # ---- building ----------------------------------------------------------------------

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> PersonaForm:
        """The form showing a stored persona (`personas.history.persona_snapshot`)."""
        modality = snapshot["modality"]
        params = dict(snapshot["params"] or {})
        typed = {
            name: _as_text(params.pop(name))
            for name, _, _ in PARAM_INPUTS.get(modality, ())
            if name in params and not isinstance(params[name], (dict, list))
        }
        return cls(
            slug=snapshot["slug"],
            name=snapshot["name"],
            description=snapshot["description"],
            modality=modality,
            system_prompt=snapshot["system_prompt"],
            model=snapshot["model"] or snapshot["provider"] or "",
            fallbacks=list(snapshot["fallbacks"]),
            params=typed,
            other_params=json.dumps(params, indent=2) if params else "",
            overrides=[
                OverrideRow(task, o["model"], json.dumps(o["params"]) if o.get("params") else "")
                for task, o in snapshot["task_overrides"].items()
            ],
            is_enabled=snapshot["is_enabled"],
        )

    @classmethod
    def from_post(cls, post: QueryDict, *, slug: str | None = None) -> PersonaForm:
        """The form as sent; `slug` is the persona's when editing (the URL names it)."""
        def text(name: str) -> str:
            return post.get(name, "").strip()

        columns = ("override_task", "override_model", "override_params")
        rows = zip_longest(*(post.getlist(name) for name in columns), fillvalue="")
        return cls(
            slug=slug if slug is not None else text("slug"),
            name=text("name"),
            description=text("description"),
            modality=text("modality"),
            system_prompt=post.get("system_prompt", "").replace("\r\n", "\n"),
            model=text("model"),
            fallbacks=[h.strip() for h in post.getlist("fallbacks") if h.strip()],
            params={name: text(name) for name in PARAM_KINDS if text(name)},
            other_params=text("other_params"),
            overrides=[OverrideRow(t.strip(), m.strip(), p.strip()) for t, m, p in rows],
            is_enabled=post.get("is_enabled") is not None,
            new_fallback=text("new_fallback"),
            preview_task=text("preview_task"),
        )

    # ---- what the form shows -------------------------------------------------------------

    @property
    def detected_modality(self) -> str:
        return detect_modality(self.slug) if self.slug else "text"

    @property
    def effective_modality(self) -> str:
        return self.modality if self.modality in Modality.values else self.detected_modality

    def param_inputs(self) -> list[dict[str, Any]]:
        """The modality's parameter inputs, plus any other typed one that holds a value (say
        a temperature kept from before the modality changed), so nothing typed vanishes."""
        names = [name for name, _, _ in PARAM_INPUTS[self.effective_modality]]
        names += [name for name in self.params if name not in names]
        return [
            {
                "name": name,
                "label": PARAM_LABELS[name],
                "kind": PARAM_KINDS[name],
                "value": self.params.get(name, ""),
                "errors": self.errors.get(f"params.{name}", []),
            }
            for name in names
        ]

    def fallback_rows(self) -> list[dict[str, Any]]:
        last = len(self.fallbacks) - 1
        return [
            {"index": i, "handle": h, "first": i == 0, "last": i == last,
             "errors": self.errors.get(f"fallbacks[{i}]", [])}
            for i, h in enumerate(self.fallbacks)
        ]

    # ---- the editor's operations (nothing is saved) --------------------------------------

    def apply(self, op: str) -> None:
        """Carry out an editor button: `add_fallback`, `up:N`, `down:N`, `remove:N`,
        `add_override`, `remove_override:N`. Unknown operations and indexes do nothing."""
        verb, _, number = op.partition(":")
        index = int(number) if number.isdecimal() else -1
        if verb == "add_fallback":
            self._add_fallback()
        elif verb == "add_override" and len(self.overrides) < MAX_ROWS:
            self.overrides.append(OverrideRow())
        elif verb == "remove_override" and 0 <= index < len(self.overrides):
            del self.overrides[index]
        else:
            move_or_remove(self.fallbacks, op)

    def _add_fallback(self) -> None:
        handle = self.new_fallback
        if not handle:
            self.errors["new_fallback"] = ["Choose a model to add."]
        elif handle in self.fallbacks:
            self.errors["new_fallback"] = [f"{handle} is already a fallback."]
        elif len(self.fallbacks) >= MAX_ROWS:
            self.errors["new_fallback"] = [f"At most {MAX_ROWS} fallbacks."]
        else:
            self.fallbacks.append(handle)
            self.new_fallback = ""

    # ---- towards the service and the resolver --------------------------------------------

    def to_data(self) -> dict[str, Any] | None:
        """The dict `persona_apply` takes, or None with `errors` filled when an input cannot
        even be read (a number that is not one, JSON that is not an object)."""
        data: dict[str, Any] = {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "modality": self.modality or self.detected_modality,
            "system_prompt": self.system_prompt,
            "fallbacks": list(self.fallbacks),
            "params": self._params(),
            "task_overrides": self._overrides(),
            "is_enabled": self.is_enabled,
        }
        # More rows than the form offers: refused whole, never saved cut short.
        if len(self.fallbacks) > MAX_ROWS:
            self.errors.setdefault("fallbacks", []).append(f"At most {MAX_ROWS} fallbacks.")
        if len(self.overrides) > MAX_ROWS:
            self.errors.setdefault("task_overrides", []).append(f"At most {MAX_ROWS} overrides.")
        if not self.model:
            data["model"] = None  # the persona follows the task and the defaults
        elif ":" in self.model:
            data["model"] = self.model
        else:
            data["provider"] = self.model
        return None if self.errors else data

    def _params(self) -> dict[str, Any]:
        params = self._json("other_params", self.other_params)
        for name, value in self.params.items():
            kind = PARAM_KINDS[name]
            read = READERS.get(kind, str)
            try:
                params[name] = read(value)
            except ValueError:
                whole = "a whole number" if kind == "integer" else "a number"
                self.errors[f"params.{name}"] = [f"Must be {whole}."]
        return params

    def _overrides(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for row in self.overrides:
            if not (row.task or row.model):
                continue  # a row added and left empty
            if not row.task:
                row.errors.append("Choose a task.")
            elif row.task in result:
                row.errors.append(f"Task {row.task} has two overrides.")
            else:
                params = self._json("", row.params, row.errors)
                result[row.task] = {"model": row.model, "params": params}
        if any(row.errors for row in self.overrides):
            self.errors.setdefault("task_overrides", []).append("Some overrides need a fix.")
        return result

    def _json(self, name: str, text: str, errors: list[str] | None = None) -> dict[str, Any]:
        """`text` as a JSON object ({} when blank); a problem goes to `errors`, else to the
        form's errors under `name`."""
        try:
            return json_object(text, name)
        except QfError as exc:
            problem = exc.message[:1].upper() + exc.message[1:] + "."
            (errors if errors is not None else self.errors.setdefault(name, [])).append(problem)
            return {}

    def to_profile(self) -> PersonaProfile:
        """The persona as configured in the form, unsaved, as routing resolves it. References
        are passed as typed: the resolver drops unknown ones and says why."""
        model = self.model if ":" in self.model else None
        provider = self.model if self.model and ":" not in self.model else None
        overrides = {row.task: row.model for row in self.overrides if row.task and row.model}
        return PersonaProfile(
            slug=self.slug or "(new persona)",
            modality=self.effective_modality,
            model=model,
            provider=provider,
            fallbacks=tuple(self.fallbacks),
            task_overrides=MappingProxyType(overrides),
            is_enabled=self.is_enabled,
        )

    # ---- errors from the service ----------------------------------------------------------

    def place(self, error: QfError) -> None:
        """File the service's messages beside the inputs they are about."""
        by_task = {row.task: row for row in self.overrides if row.task}
        for each in error.errors if isinstance(error, FieldErrors) else [error]:
            self._place_one(each.field or "", each.message, by_task)

    def _place_one(self, name: str, message: str, by_task: Mapping[str, OverrideRow]) -> None:
        head, _, rest = name.partition(".")
        if head == "task_overrides" and rest:
            task, _, detail = rest.partition(".")
            row = by_task.get(task)
            if row is not None:
                row.errors.append(f"{detail}: {message}" if detail else message)
                return
        if name.startswith("params.") and name.split(".")[1] in self.params:
            key = ".".join(name.split(".")[:2])
        elif name.startswith("fallbacks[") or name in SHOWN:
            key = name
        elif name == "provider":
            key = "model"
        elif head in ("params", "task_overrides", "fallbacks"):
            key = "other_params" if head == "params" else head
            message = f"{rest}: {message}" if rest else message
        else:
            key, message = "form", f"{name}: {message}" if name else message
        self.errors.setdefault(key, []).append(message)


SHOWN = frozenset(
    {"slug", "name", "description", "modality", "system_prompt", "model", "is_enabled", "fallbacks"}
)


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


Choices = list[tuple[str, list[tuple[str, str]]]]  # routing.selectors.model_choices()


def with_value(choices: Choices, values: Iterable[str], providers: Iterable[str] = ()) -> Choices:
    """Picker choices that also offer every value in `values` (a stale or typed handle the
    list does not hold), labelled as such, so the form never silently shows another one."""
    offered = {handle for _, models in choices for handle, _ in models} | {*providers, ""}
    missing = [(v, f"{v} [not offered here]") for v in dict.fromkeys(values) if v not in offered]
    return [*choices, ("Not in this list", missing)] if missing else choices
