"""Persona pages (issue 7, item 3): the list, the editor with the chain it would resolve to
(live, unsaved), the change history with revert, and delete. Every write goes through
`personas.services`; the editor's form lives in `persona_form`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from personas.history import persona_snapshot
from personas.models import Persona, PersonaChange, PersonaFallback, PersonaTaskOverride
from personas.services import PERSONA_KEYS, persona_apply, persona_delete
from personas.views.persona_form import PersonaForm, with_value
from qfweb.errors import QfError
from qfweb.pages import (
    HtmxHttpRequest,
    paginate,
    query_without_page,
    redirect_after_write,
    render_page,
    staff_page,
)
from routing.choices import Modality
from routing.params import allowed_params
from routing.resolution import resolve_live
from routing.selectors import model_choices
from routing.snapshot import snapshot_get

FILTERS = ("q", "modality", "provider", "model", "enabled")
ENABLED = {"yes": True, "no": False}
BRIEF_FIELDS = ("name", "modality", "model", "provider", "is_enabled")  # shown as old -> new
ORDER = {key: n for n, key in enumerate(PERSONA_KEYS)}


# ---- the list ---------------------------------------------------------------------------


def _filters(request: HtmxHttpRequest) -> tuple[dict[str, str], list[str]]:
    """The list's filters; a value that cannot apply is dropped and named, never a 500."""
    filters = {key: request.GET.get(key, "").strip() for key in FILTERS}
    notices = []
    checks = {
        "modality": filters["modality"] in Modality.values,
        "enabled": filters["enabled"] in ENABLED,
        "model": ":" in filters["model"],
    }
    for key, valid in checks.items():
        if filters[key] and not valid:
            notices.append(f"Ignored {key} {filters[key]!r}: not a value this filter knows.")
            filters[key] = ""
    return filters, notices


def _listed(filters: dict[str, str]) -> QuerySet[Persona]:
    """The personas matching `filters`, in three queries for any page (count, rows with their
    model and provider and fallback count, task overrides with their task)."""
    overrides = PersonaTaskOverride.objects.select_related("task").order_by("task__name")
    personas = (
        Persona.objects.select_related("model__provider", "provider")
        .annotate(fallback_count=Count("fallbacks"))
        .prefetch_related(Prefetch("task_overrides", queryset=overrides))
        .order_by("slug")
    )
    if q := filters["q"]:
        personas = personas.filter(
            Q(slug__icontains=q) | Q(name__icontains=q) | Q(description__icontains=q)
        )
    if filters["modality"]:
        personas = personas.filter(modality=filters["modality"])
    if filters["enabled"]:
        personas = personas.filter(is_enabled=ENABLED[filters["enabled"]])
    if name := filters["provider"]:
        personas = personas.filter(Q(provider__name=name) | Q(model__provider__name=name))
    if filters["model"]:
        # Anywhere in its chain: the persona's model, a fallback or a task override.
        provider, _, model = filters["model"].partition(":")
        uses = {"model__provider__name": provider, "model__name": model}
        personas = personas.filter(
            Q(**uses)
            | Q(pk__in=PersonaFallback.objects.filter(**uses).values("persona_id"))
            | Q(pk__in=PersonaTaskOverride.objects.filter(**uses).values("persona_id"))
        )
    return personas


@staff_page
def persona_list(request: HtmxHttpRequest) -> HttpResponse:
    filters, notices = _filters(request)
    context = {
        "section": "personas",
        "page": paginate(request, _listed(filters)),
        "query": query_without_page(request),
        "filters": filters,
        "notices": notices,
        "modalities": Modality.values,
        "providers": sorted(snapshot_get().providers),
        "model_choices": with_value(model_choices(), [filters["model"]]),
    }
    return render_page(request, "personas/persona_list.html", context, partial="table")


# ---- the editor ---------------------------------------------------------------------------


def _chain(form: PersonaForm) -> dict[str, Any]:
    """What would serve the persona as the form configures it, unsaved (`as_dict()`, the
    explanation the API and the CLI show), or {"error": ...}."""
    try:
        resolution = resolve_live(
            persona=form.to_profile(), task=form.preview_task or None, explain_only=True
        )
    except QfError as exc:
        return {"error": str(exc)}
    explained = resolution.as_dict()
    for entry in (*explained["chain"], *explained["dropped"]):
        entry["label"] = entry["level"].replace("_", " ")
    return explained


def _editor(
    request: HtmxHttpRequest, form: PersonaForm, persona: Persona | None, *, status: int = 200
) -> HttpResponse:
    snapshot = snapshot_get()
    modality = form.effective_modality
    # Providers whose default model can serve this modality: "openai" alone means gpt-4o.
    models = snapshot.models
    defaults = sorted(
        name for name, p in snapshot.providers.items()
        if p.default_model in models and models[p.default_model].modality == modality
    )
    tasks = [(name, f"{name} ({task.modality})") for name, task in sorted(snapshot.tasks.items())]
    typed = dict.fromkeys([*(row.task for row in form.overrides), form.preview_task])
    tasks += [(t, f"{t} [not a stored task]") for t in typed if t and t not in snapshot.tasks]
    own = model_choices(modality)
    action = reverse("personas:edit", args=[persona.slug]) if persona else reverse("personas:new")
    try:  # the playground's URL takes no '.' in a slug, which the store allows
        playground = reverse("personas:playground", args=[persona.slug]) if persona else None
    except NoReverseMatch:
        playground = None
    context = {
        "section": "personas",
        "form": form,
        "persona": persona,
        "action": action,
        "playground": playground,
        "modalities": Modality.values,
        "allowed_params": allowed_params(modality),
        "providers": defaults,
        "model_choices": with_value(own, [form.model], defaults),
        "fallback_choices": with_value(own, [form.new_fallback]),
        "override_choices": with_value(model_choices(), [r.model for r in form.overrides]),
        "tasks": tasks,
        "chain": _chain(form),
    }
    # The chain panel's own controls ask for the panel alone; the editor's buttons for the editor.
    partial = "chain" if request.htmx.target == "chain" else "editor"
    template = "personas/persona_form.html"
    return render_page(request, template, context, partial=partial, status=status)


def _submit(request: HtmxHttpRequest, form: PersonaForm, persona: Persona | None) -> HttpResponse:
    """An editor button re-renders the form unsaved; Save stores it or shows why not (422)."""
    op = request.POST.get("op", "save")
    if op != "save":
        form.apply(op)
        return _editor(request, form, persona)
    data = form.to_data()
    if persona is None and form.slug and Persona.objects.filter(slug=form.slug).exists():
        taken = f"Persona {form.slug} exists already: edit it, or pick another slug."
        form.errors.setdefault("slug", []).append(taken)
        data = None
    if data is None:
        return _editor(request, form, persona, status=422)
    try:
        saved = persona_apply(data=data, actor=request.user.get_username())
    except QfError as exc:
        form.place(exc)
        return _editor(request, form, persona, status=422)
    slug = saved.obj.slug
    if saved.outcome == "unchanged":
        messages.info(request, f"Nothing to save: {slug} is already configured like this.")
    else:
        messages.success(request, f"{'Created' if saved.outcome == 'created' else 'Saved'} {slug}")
    return redirect_after_write(request, reverse("personas:edit", args=[slug]))


@staff_page
def persona_new(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _submit(request, PersonaForm.from_post(request.POST), None)
    return _editor(request, PersonaForm(), None)


@staff_page
def persona_edit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    persona = get_object_or_404(Persona, slug=slug)
    if request.method == "POST":
        return _submit(request, PersonaForm.from_post(request.POST, slug=persona.slug), persona)
    return _editor(request, PersonaForm.from_snapshot(persona_snapshot(persona)), persona)


@staff_page
@require_POST
def persona_remove(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    persona = get_object_or_404(Persona, slug=slug)
    persona_delete(persona=persona, actor=request.user.get_username())
    kept = "Its history keeps the last configuration: revert it to restore."
    messages.success(request, f"Deleted {slug}. {kept}")
    return redirect_after_write(request, reverse("personas:list"))


# ---- the history --------------------------------------------------------------------------


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, shortly: `model: a → b` for the small fields, the
    name alone for the long ones (prompt, params, lists)."""
    if before is None:
        return []
    found = []
    # In the store's order of fields: PostgreSQL's jsonb keeps a snapshot's keys in its own.
    for key in sorted(after, key=lambda k: ORDER.get(k, len(ORDER))):
        old, new = before.get(key), after[key]
        if old == new:
            continue
        label = "enabled" if key == "is_enabled" else key.replace("_", " ")
        found.append(f"{label}: {_short(old)} → {_short(new)}" if key in BRIEF_FIELDS else label)
    return found


def _short(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


@staff_page
def persona_history(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    # By slug: a deleted persona keeps its history, and reverting a change restores it.
    persona = Persona.objects.filter(slug=slug).first()
    changes = PersonaChange.objects.filter(persona_slug=slug).order_by("-created_at", "-id")
    page = paginate(request, changes)
    if persona is None and not page.paginator.count:
        raise Http404(f"no persona {slug}")
    # The page's changes and the one before the oldest of them, to tell what each changed.
    window: list[PersonaChange | None] = []
    if page.paginator.count:
        window += changes[page.start_index() - 1 : page.end_index() + 1]
    window.append(None)  # the first change has nothing before it
    newest = window[0] if page.number == 1 else None  # the persona as it is now
    rows = [
        {
            "change": change,
            "fields": changed_fields(older.snapshot if older else None, change.snapshot),
            "current": persona is not None and change is newest and change.action != "deleted",
        }
        for change, older in zip(window[: len(page.object_list)], window[1:])
    ]
    context = {"section": "personas", "slug": slug, "persona": persona, "page": page, "rows": rows,
               "query": query_without_page(request)}
    return render_page(request, "personas/persona_history.html", context, partial="changes")


@staff_page
@require_POST
def persona_revert(request: HtmxHttpRequest, slug: str, change_id: int) -> HttpResponse:
    change = get_object_or_404(PersonaChange, persona_slug=slug, pk=change_id)
    when = change.created_at.strftime("%Y-%m-%d %H:%M:%S")
    try:
        saved = persona_apply(data=change.snapshot, actor=request.user.get_username())
    except QfError as exc:  # e.g. a model the snapshot names was deleted since
        messages.error(request, f"Could not revert {slug} to {when}: {exc}")
        return redirect_after_write(request, reverse("personas:history", args=[slug]))
    if saved.outcome == "unchanged":
        messages.info(request, f"{slug} is already as the change of {when} left it.")
    else:
        messages.success(request, f"Reverted {slug} to its configuration of {when}")
    return redirect_after_write(request, reverse("personas:edit", args=[slug]))


urlpatterns = [
    path("personas/", persona_list, name="list"),
    path("personas/new/", persona_new, name="new"),
    path("personas/<str:slug>/", persona_edit, name="edit"),
    path("personas/<str:slug>/delete/", persona_remove, name="delete"),
    path("personas/<str:slug>/history/", persona_history, name="history"),
    path("personas/<str:slug>/history/<int:change_id>/revert/", persona_revert, name="revert"),
]
