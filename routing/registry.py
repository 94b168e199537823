"""Capability registry queries over a `ConfigSnapshot` (source document 002: models of a
provider, provider of a model, capabilities of a model, models by capability). Pure: no
Django, no database, so the CLI, the API and tests ask the same questions of the same data.

Rules every query follows:
- Names: a provider may be named by an alias, a model by a handle whose provider part is an
  alias (`google:gemini-1.5-pro`). A provider, model or capability the snapshot does not know
  raises `UnknownName` (a `LookupError`) naming it; a query never answers an unknown name with
  an empty result, so a typo is not mistaken for "no models". Tasks are the one exception:
  any task name is valid, and one that is neither stored nor a detected type needs nothing.
- A capability is known when the snapshot lists it or some model has it; a model without a
  capability has it at strength 0 (none), as in `routing.resolve`.
- Every model is listed, enabled or not: dropping disabled ones is the resolver's business.
- Order: lists of handles are sorted by handle; lists ranked by capability are sorted by
  strength (the total over the asked capabilities) descending, then by handle.
"""

from __future__ import annotations

from collections.abc import Mapping

from routing.config import STRENGTH_NAMES, ConfigSnapshot, ModelInfo
from routing.detect import TASK_TYPE_REQUIREMENTS
from routing.strategies import capability_score

BASIC = 1


class UnknownName(LookupError):
    """A provider, model or capability the snapshot does not know."""

    def __init__(self, kind: str, name: object) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"unknown {kind} {name!r}")


def check_strength(strength: int) -> int:
    """A strength as stored: an int from 0 (none) to 4 (exceptional)."""
    if type(strength) is not int or not 0 <= strength < len(STRENGTH_NAMES):
        raise ValueError(f"strength must be an int from 0 to {len(STRENGTH_NAMES) - 1}, "
                         f"not {strength!r}")
    return strength


def provider_name(snapshot: ConfigSnapshot, provider: str) -> str:
    """The provider's name, given its name or an alias."""
    name = snapshot.provider_names.get(provider)
    if name is None:
        raise UnknownName("provider", provider)
    return name


def model_info(snapshot: ConfigSnapshot, handle: str) -> ModelInfo:
    """The model a handle names, its provider part a name or an alias. A bare provider name
    is not taken for its default model here: a registry query asks about one model."""
    canonical = snapshot.canonical(handle) if isinstance(handle, str) and ":" in handle else None
    if canonical is None or canonical not in snapshot.models:
        raise UnknownName("model", handle)
    return snapshot.models[canonical]


def known_capabilities(snapshot: ConfigSnapshot) -> set[str]:
    names = set(snapshot.capabilities)
    for model in snapshot.models.values():
        names.update(model.capabilities)
    return names


def check_capabilities(snapshot: ConfigSnapshot, names: Mapping[str, int]) -> None:
    known = known_capabilities(snapshot)
    for name, strength in names.items():
        if name not in known:
            raise UnknownName("capability", name)
        check_strength(strength)


# ---- the queries --------------------------------------------------------------------


def provider_models(snapshot: ConfigSnapshot, provider: str) -> list[str]:
    """Handles of the provider's models, sorted."""
    name = provider_name(snapshot, provider)
    return sorted(m.handle for m in snapshot.models.values() if m.provider == name)


def model_provider(snapshot: ConfigSnapshot, handle: str) -> str:
    """The name of the provider serving the model (an alias handle gives the real name)."""
    return model_info(snapshot, handle).provider


def model_capabilities(snapshot: ConfigSnapshot, handle: str) -> dict[str, int]:
    """The model's capabilities, name -> strength, sorted by name."""
    return dict(sorted(model_info(snapshot, handle).capabilities.items()))


def models_with_capability(
    snapshot: ConfigSnapshot, capability: str, min_strength: int = BASIC
) -> list[str]:
    """Handles of models with `capability` at `min_strength` or above, strongest first."""
    return models_with_capabilities(snapshot, {capability: min_strength})


def models_with_capabilities(
    snapshot: ConfigSnapshot, requirements: Mapping[str, int]
) -> list[str]:
    """Handles of models meeting every requirement (name -> minimum strength), ranked by
    their total strength over the required capabilities, then by handle. No requirements:
    every model, by handle."""
    check_capabilities(snapshot, requirements)
    meeting = [
        model for model in snapshot.models.values()
        if all(model.capabilities.get(name, 0) >= least for name, least in requirements.items())
    ]
    meeting.sort(key=lambda m: (-capability_score(m, requirements), m.handle))
    return [model.handle for model in meeting]


def task_requirements(snapshot: ConfigSnapshot, task: str) -> dict[str, int]:
    """What a task needs: a stored task's own requirements (even none), else a detected task
    type's (`routing.detect`), else nothing. Sorted by capability name."""
    stored = snapshot.tasks.get(task)
    needs = stored.requirements if stored is not None else TASK_TYPE_REQUIREMENTS.get(task, {})
    return dict(sorted(needs.items()))
