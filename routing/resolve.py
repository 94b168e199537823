"""Which models serve a request, in which order, and why (DESIGN.md, Resolution).

`resolve(snapshot, request)` is a pure function: plain data in, a `Resolution` out; no
database, cache or settings (STYLE B-2). The levels, highest first:

1. override: the request's `provider:model` handles (or provider names), if it may override;
2. persona_task: the persona's model for this task;
3. persona (its model, or its provider's default model), then persona_fallback;
4. task (primary), then task_fallback; capability: the best few servable models meeting the
   requirements (the task's plus the request's), strongest then cheapest by list price,
   when the task configures no model of its own or its strategy is `capability`;
5. env_task (`QF_MODEL_<TASK>`), then env_default (`QF_DEFAULT_<MODALITY>_MODEL`);
6. global_default: the stored default for the modality;
7. builtin: the default from settings.

A candidate is dropped, with its reason, when it is unknown, disabled, at a disabled
provider, of another modality, too small for the request, or already in the chain (except
a default already in the chain: defaults often repeat, and that explains nothing).
Requirements filter only what the task contributes (levels task, task_fallback,
capability): a persona's or a request's explicit choice is honoured as made. With
`multi_model` off, only the levels from env_default down serve (source document 001).

The strategy (the request's, else the task's, else failover) orders each level group that
offers several candidates: the override list, the persona's model with its fallbacks, and
the task's primary with its fallbacks (and, under `capability`, every model that meets the
requirements). The task's own strategy orders only the task's group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from routing.config import (
    STRENGTH_NAMES,
    ConfigSnapshot,
    ModelInfo,
    PersonaProfile,
    TaskInfo,
    empty_mapping,
    merge_requirements,
)
from routing.strategies import STRATEGIES, StrategyContext, capability_rank


class Level(StrEnum):
    OVERRIDE = "override"
    PERSONA_TASK = "persona_task"
    PERSONA = "persona"
    PERSONA_FALLBACK = "persona_fallback"
    TASK = "task"
    TASK_FALLBACK = "task_fallback"
    CAPABILITY = "capability"
    ENV_TASK = "env_task"
    ENV_DEFAULT = "env_default"
    GLOBAL_DEFAULT = "global_default"
    BUILTIN = "builtin"


class DropReason(StrEnum):
    DISABLED = "disabled"
    PROVIDER_DISABLED = "provider_disabled"
    WRONG_MODALITY = "wrong_modality"
    CONTEXT_TOO_SMALL = "context_too_small"
    BELOW_CAPABILITY = "below_capability"
    OVERRIDE_NOT_ALLOWED = "override_not_allowed"
    UNKNOWN = "unknown"
    NO_DEFAULT_MODEL = "no_default_model"
    DUPLICATE = "duplicate"
    MULTI_MODEL_OFF = "multi_model_off"


@dataclass(frozen=True, slots=True)
class ResolveRequest:
    persona: PersonaProfile | None = None
    task: str | None = None
    override: tuple[str, ...] = ()  # handles or provider names, in order
    may_override: bool = True
    modality: str | None = None  # else the task's, else the persona's, else text
    strategy: str | None = None  # else the task's
    requirements: Mapping[str, int] = empty_mapping()  # added to the task's
    input_tokens: int = 0  # request size, for context windows and cost estimates
    output_tokens: int = 0
    characters: int = 0
    request_id: str = ""  # seeds the weighted strategy
    rotation: int = 0  # the shared round-robin counter
    latency_ms: Mapping[str, float] = empty_mapping()  # measured latency per handle


@dataclass(frozen=True, slots=True)
class ChainEntry:
    model: ModelInfo
    level: Level
    source: str  # where it was configured, e.g. "task review fallback #2"

    @property
    def handle(self) -> str:
        return self.model.handle


@dataclass(frozen=True, slots=True)
class Dropped:
    reference: str  # as configured: a handle, an alias handle, or a provider name
    level: Level
    reason: DropReason
    detail: str
    source: str


@dataclass(frozen=True, slots=True)
class Resolution:
    chain: tuple[ChainEntry, ...]
    dropped: tuple[Dropped, ...]
    persona: str | None
    modality: str
    task: str | None
    strategy: str
    notes: tuple[str, ...] = ()

    @property
    def handles(self) -> list[str]:
        return [entry.handle for entry in self.chain]

    def as_dict(self) -> dict[str, Any]:
        """The one explanation the API, the CLI and the persona page show."""
        return {
            "persona": self.persona,
            "modality": self.modality,
            "task": self.task,
            "strategy": self.strategy,
            "chain": [
                {"model": e.handle, "level": str(e.level), "source": e.source} for e in self.chain
            ],
            "dropped": [
                {
                    "model": d.reference,
                    "level": str(d.level),
                    "reason": str(d.reason),
                    "detail": d.detail,
                    "source": d.source,
                }
                for d in self.dropped
            ],
            "notes": list(self.notes),
        }


# A candidate as configured: (level, reference, source).
Candidate = tuple[Level, str, str]

TASK_LEVELS = frozenset({Level.TASK, Level.TASK_FALLBACK, Level.CAPABILITY})
DEFAULT_LEVELS = frozenset({Level.ENV_DEFAULT, Level.GLOBAL_DEFAULT, Level.BUILTIN})
CAPABILITY_LIMIT = 5  # a longer chain would outlast any deadline, and explain nothing more
MEMO_LIMIT = 256


def env_task_key(task: str) -> str:
    """The `QF_MODEL_<TASK>` suffix for a task, lower case: a task name's `-` and `.` cannot
    appear in an environment variable's name, so they read as `_`."""
    return task.lower().replace("-", "_").replace(".", "_")


def resolve(snapshot: ConfigSnapshot, request: ResolveRequest) -> Resolution:
    return _Resolver(snapshot, request).run()


@dataclass
class _Resolver:
    snapshot: ConfigSnapshot
    request: ResolveRequest
    chain: list[ChainEntry] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    taken: dict[str, Level] = field(default_factory=dict)

    def __post_init__(self) -> None:
        request, snapshot = self.request, self.snapshot
        self.task: TaskInfo | None = snapshot.tasks.get(request.task) if request.task else None
        persona = request.persona
        self.modality = (
            request.modality
            or (self.task.modality if self.task else None)
            or (persona.modality if persona else None)
            or "text"
        )
        requirements = merge_requirements(self.task.requirements if self.task else {}, request.requirements)
        self.requirements = requirements
        task_strategy = self.task.strategy if self.task else "failover"
        self.strategy = request.strategy or task_strategy
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}")
        self.context = StrategyContext(
            rotation=request.rotation,
            request_id=request.request_id,
            input_tokens=request.input_tokens,
            output_tokens=request.output_tokens,
            characters=request.characters,
            requirements=requirements,
            latency_ms=request.latency_ms,
            providers=snapshot.providers,
        )
        self.size = request.input_tokens + request.output_tokens

    def run(self) -> Resolution:
        request, task, persona = self.request, self.task, self.request.persona
        if request.task and task is None:
            self.notes.append(f"task {request.task} is not stored; its environment model still applies")
        overrides = [
            (Level.OVERRIDE, ref, f"request override #{i}") for i, ref in enumerate(request.override, 1)
        ]
        persona_task = self.persona_task_candidates()
        persona_group = self.persona_group(persona) if persona else []
        task_group = self.task_group(task) if task else []
        env_task = self.env_task_candidates()
        if not self.snapshot.multi_model:
            self.notes.append("QF_MULTI_MODEL is off: every request goes to the defaults")
            for level, reference, source in [*overrides, *persona_task, *persona_group, *task_group, *env_task]:
                self.drop(reference, level, source, DropReason.MULTI_MODEL_OFF, "QF_MULTI_MODEL=false")
        else:
            if request.may_override:
                self.offer(overrides, strategy=request.strategy)
            else:
                for level, reference, source in overrides:
                    self.drop(reference, level, source, DropReason.OVERRIDE_NOT_ALLOWED, "this API key may not override models")
            self.offer(persona_task)
            self.offer(persona_group, strategy=request.strategy)
            if self.requirements and (self.strategy == "capability" or not task_group):
                task_group += self.capability_candidates(exclude={ref for _, ref, _ in task_group})
            self.offer(task_group, strategy=self.strategy)
            self.offer(env_task)
        for level in (Level.ENV_DEFAULT, Level.GLOBAL_DEFAULT, Level.BUILTIN):
            self.offer(self.default_candidates(level))
        return Resolution(
            chain=tuple(self.chain),
            dropped=tuple(self.dropped),
            persona=persona.slug if persona else None,
            modality=self.modality,
            task=request.task,
            strategy=self.strategy,
            notes=tuple(self.notes),
        )

    # ---- candidates as configured, level by level ----------------------------------

    def persona_task_candidates(self) -> list[Candidate]:
        persona, task = self.request.persona, self.request.task
        if persona is None or not task or task not in persona.task_overrides:
            return []
        return [(Level.PERSONA_TASK, persona.task_overrides[task], f"persona {persona.slug} for task {task}")]

    def env_task_candidates(self) -> list[Candidate]:
        name = self.request.task
        key = env_task_key(name) if name else ""
        handle = self.snapshot.env_task_models.get(key)
        return [(Level.ENV_TASK, handle, f"QF_MODEL_{key.upper()}")] if handle else []

    def default_candidates(self, level: Level) -> list[Candidate]:
        snapshot, modality = self.snapshot, self.modality
        if level is Level.ENV_DEFAULT:
            handle, source = snapshot.env_default_models.get(modality), f"QF_DEFAULT_{modality.upper()}_MODEL"
        elif level is Level.GLOBAL_DEFAULT:
            handle, source = snapshot.defaults.get(modality), f"stored default for {modality}"
        else:
            handle, source = snapshot.builtin_models.get(modality), f"built-in default for {modality}"
        return [(level, handle, source)] if handle else []

    def persona_group(self, persona: PersonaProfile) -> list[Candidate]:
        group: list[Candidate] = []
        if persona.model or persona.provider:
            group.append((Level.PERSONA, persona.model or persona.provider, f"persona {persona.slug}"))
        group += [
            (Level.PERSONA_FALLBACK, ref, f"persona {persona.slug} fallback #{i}")
            for i, ref in enumerate(persona.fallbacks, 1)
        ]
        return group

    @staticmethod
    def task_group(task: TaskInfo) -> list[Candidate]:
        group: list[Candidate] = []
        if task.primary:
            group.append((Level.TASK, task.primary, f"task {task.name}"))
        group += [
            (Level.TASK_FALLBACK, ref, f"task {task.name} fallback #{i}")
            for i, ref in enumerate(task.fallbacks, 1)
        ]
        return group

    def capability_candidates(self, exclude: Iterable[str] = ()) -> list[Candidate]:
        """The best CAPABILITY_LIMIT servable models of the modality that meet the
        requirements, strongest then cheapest. Models that fall short are not candidates at
        all (listing hundreds of drops would explain nothing)."""
        skip = set(exclude)
        owner = f"task {self.task.name}" if self.task else "request"
        wanted = ", ".join(f"{n} >= {STRENGTH_NAMES[s]}" for n, s in sorted(self.requirements.items()))
        found: list[Candidate] = []
        for model in self.meeting_requirements():
            if model.handle not in skip and model.handle not in self.taken and self.servable(model):
                found.append((Level.CAPABILITY, model.handle, f"{owner} requirements ({wanted})"))
                if len(found) == CAPABILITY_LIMIT:
                    self.notes.append(f"the capability level lists the best {CAPABILITY_LIMIT} models")
                    break
        return found

    def meeting_requirements(self) -> tuple[ModelInfo, ...]:
        """Ranked once per snapshot for each modality and set of requirements."""
        memo = self.snapshot.memo
        key = ("meeting", self.modality, tuple(sorted(self.requirements.items())))
        ranked = memo.get(key)
        if ranked is None:
            meeting = (
                m for m in self.snapshot.models.values()
                if m.modality == self.modality and self.shortfall(m) is None
            )
            ranked = tuple(capability_rank(meeting, self.requirements))
            if len(memo) < MEMO_LIMIT:  # requirements come from requests: keep memory bounded
                memo[key] = ranked
        return ranked  # type: ignore[return-value]

    def servable(self, model: ModelInfo) -> bool:
        return (
            model.is_enabled
            and self.snapshot.providers[model.provider].is_enabled
            and (model.context_window is None or self.size <= model.context_window)
        )

    # ---- checking and ordering -----------------------------------------------------

    def offer(self, candidates: list[Candidate], strategy: str | None = None) -> None:
        """Check each candidate, order the survivors by `strategy`, append them."""
        if not candidates:
            return
        accepted: list[tuple[ModelInfo, Level, str]] = []
        seen: dict[str, Level] = {}
        for level, reference, source in candidates:
            model = self.check(level, reference, source)
            if model is None:
                continue
            if model.handle in seen:
                self.drop(reference, level, source, DropReason.DUPLICATE, f"already offered at {seen[model.handle]}")
                continue
            seen[model.handle] = level
            accepted.append((model, level, source))
        if len(accepted) > 1 and strategy and strategy != "failover":
            by_handle = {model.handle: (model, level, source) for model, level, source in accepted}
            ordered = STRATEGIES[strategy]([m for m, _, _ in accepted], self.context)
            accepted = [by_handle[m.handle] for m in ordered]
        for model, level, source in accepted:
            self.taken[model.handle] = level
            self.chain.append(ChainEntry(model, level, source))

    def check(self, level: Level, reference: str, source: str) -> ModelInfo | None:
        snapshot = self.snapshot
        handle, problem = snapshot.locate(reference)
        if handle is None:
            # A known provider named alone, without a default model; else an unknown provider.
            known = reference in snapshot.provider_names
            reason = DropReason.NO_DEFAULT_MODEL if known else DropReason.UNKNOWN
            return self.drop(reference, level, source, reason, problem or "")
        model = snapshot.models.get(handle)
        if model is None:
            return self.drop(reference, level, source, DropReason.UNKNOWN, f"no model {handle}")
        if handle in self.taken:
            if level in DEFAULT_LEVELS:  # the same default named twice: nothing to explain
                return None
            return self.drop(reference, level, source, DropReason.DUPLICATE, f"already in the chain at {self.taken[handle]}")
        provider = snapshot.providers[model.provider]
        if not model.is_enabled:
            return self.drop(reference, level, source, DropReason.DISABLED, f"{handle} is disabled")
        if not provider.is_enabled:
            return self.drop(reference, level, source, DropReason.PROVIDER_DISABLED, f"provider {provider.name} is disabled")
        if model.modality != self.modality:
            return self.drop(reference, level, source, DropReason.WRONG_MODALITY, f"{handle} is {model.modality}; the request is {self.modality}")
        if model.context_window is not None and self.size > model.context_window:
            return self.drop(reference, level, source, DropReason.CONTEXT_TOO_SMALL, f"context window {model.context_window} < {self.size} tokens")
        if level in TASK_LEVELS and (short := self.shortfall(model)) is not None:
            return self.drop(reference, level, source, DropReason.BELOW_CAPABILITY, short)
        return model

    def shortfall(self, model: ModelInfo) -> str | None:
        for name, minimum in self.requirements.items():
            have = model.capabilities.get(name, 0)
            if have < minimum:
                return f"{name} is {STRENGTH_NAMES[have]}, needs {STRENGTH_NAMES[minimum]}"
        return None

    def drop(self, reference: str, level: Level, source: str, reason: DropReason, detail: str) -> None:
        """Record why a candidate does not serve; returns None for `return self.drop(...)`."""
        self.dropped.append(Dropped(reference, level, reason, detail, source))
