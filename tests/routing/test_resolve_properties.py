"""Properties of the resolver over random configurations (hypothesis). No database."""

from __future__ import annotations

from types import MappingProxyType as Frozen

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.config import ConfigSnapshot, ModelInfo, PersonaProfile, ProviderInfo, TaskInfo
from routing.resolve import Level, ResolveRequest, resolve
from routing.strategies import STRATEGIES

MODALITIES = ("text", "image", "audio")
CAPABILITIES = ("code", "reasoning", "creative")
PROVIDERS = ("p0", "p1", "p2", "p3")
prices = st.none() | st.floats(min_value=0, max_value=100, allow_nan=False)
strengths = st.dictionaries(st.sampled_from(CAPABILITIES), st.integers(0, 4), max_size=3)


@st.composite
def configurations(draw) -> tuple[ConfigSnapshot, ResolveRequest]:
    models = {}
    for i in range(draw(st.integers(1, 12))):
        m = ModelInfo(
            provider=draw(st.sampled_from(PROVIDERS)), name=f"m{i}",
            modality=draw(st.sampled_from(MODALITIES)), is_enabled=draw(st.booleans()),
            context_window=draw(st.none() | st.integers(100, 200_000)),
            input_price=draw(prices), output_price=draw(prices), image_price=draw(prices),
            char_price=draw(prices), weight=draw(st.integers(0, 3)), capabilities=Frozen(draw(strengths)),
        )
        models[m.handle] = m
    # References may name models that do not exist, by alias, or a bare provider.
    handles = st.sampled_from(sorted(models)) | st.sampled_from(["p0:ghost", "alias1:m0", "p2", "nope:m1"])
    providers = {
        name: ProviderInfo(
            name, "openai", is_enabled=draw(st.booleans()), aliases=(f"alias{name[1]}",),
            default_model=draw(st.none() | st.sampled_from([h for h, m in models.items() if m.provider == name] or [None])),
        )
        for name in PROVIDERS
    }
    task_names = ["t0", "t1", "t2"]
    tasks = {
        name: TaskInfo(
            name, modality=draw(st.sampled_from(MODALITIES)), primary=draw(st.none() | handles),
            fallbacks=tuple(draw(st.lists(handles, max_size=4))), requirements=Frozen(draw(strengths)),
            strategy=draw(st.sampled_from(sorted(STRATEGIES))),
        )
        for name in draw(st.lists(st.sampled_from(task_names), unique=True))
    }
    by_modality = st.dictionaries(st.sampled_from(MODALITIES), handles, max_size=3)
    snapshot = ConfigSnapshot(
        providers=Frozen(providers), models=Frozen(models), tasks=Frozen(tasks),
        defaults=Frozen(draw(by_modality)), env_default_models=Frozen(draw(by_modality)),
        builtin_models=Frozen(draw(by_modality)),
        env_task_models=Frozen(draw(st.dictionaries(st.sampled_from(task_names), handles, max_size=2))),
        multi_model=draw(st.booleans()),
    )
    persona = draw(st.none() | st.builds(
        PersonaProfile, slug=st.just("p"), modality=st.sampled_from(MODALITIES),
        model=st.none() | handles, fallbacks=st.lists(handles, max_size=3).map(tuple),
        task_overrides=st.dictionaries(st.sampled_from(task_names), handles, max_size=2).map(Frozen),
    ))
    request = ResolveRequest(
        persona=persona, task=draw(st.none() | st.sampled_from([*task_names, "unstored"])),
        override=tuple(draw(st.lists(handles, max_size=3))), may_override=draw(st.booleans()),
        modality=draw(st.none() | st.sampled_from(MODALITIES)),
        strategy=draw(st.none() | st.sampled_from(sorted(STRATEGIES))),
        requirements=Frozen(draw(strengths)), input_tokens=draw(st.integers(0, 150_000)),
        output_tokens=draw(st.integers(0, 50_000)), request_id=draw(st.text(max_size=8)),
        rotation=draw(st.integers(0, 10)),
    )
    return snapshot, request


def configured_references(snapshot: ConfigSnapshot, request: ResolveRequest) -> list[str]:
    refs = list(request.override)
    p = request.persona
    if p is not None:
        refs += [r for r in (p.model, p.task_overrides.get(request.task or "")) if r] + list(p.fallbacks)
    task = snapshot.tasks.get(request.task or "")
    if task is not None:
        refs += [r for r in (task.primary,) if r] + list(task.fallbacks)
    return refs


@settings(max_examples=150, deadline=None)
@given(configurations())
def test_the_chain_is_servable_and_explained(config):
    snapshot, request = config
    r = resolve(snapshot, request)
    handles = r.handles
    assert len(handles) == len(set(handles)), "no duplicates"
    size = request.input_tokens + request.output_tokens
    for entry in r.chain:
        assert isinstance(entry.level, Level)
        assert entry.model.is_enabled and snapshot.providers[entry.model.provider].is_enabled
        assert entry.model.modality == r.modality
        assert entry.model.context_window is None or entry.model.context_window >= size
    if not snapshot.multi_model:
        assert {e.level for e in r.chain} <= {Level.ENV_DEFAULT, Level.GLOBAL_DEFAULT, Level.BUILTIN}
    # Every configured model either serves or is dropped with a reason.
    dropped = {d.reference for d in r.dropped}
    for ref in configured_references(snapshot, request):
        assert ref in dropped or snapshot.canonical(ref) in handles, ref


@settings(max_examples=100, deadline=None)
@given(configurations())
def test_the_same_inputs_give_the_same_chain(config):
    snapshot, request = config
    assert resolve(snapshot, request) == resolve(snapshot, request)


@settings(max_examples=100, deadline=None)
@given(configurations())
def test_levels_appear_in_their_order_except_inside_a_reordered_group(config):
    snapshot, request = config
    order = list(Level)
    groups = {Level.PERSONA_FALLBACK: Level.PERSONA, Level.TASK_FALLBACK: Level.TASK, Level.CAPABILITY: Level.TASK}
    ranks = [order.index(groups.get(e.level, e.level)) for e in resolve(snapshot, request).chain]
    assert ranks == sorted(ranks)
