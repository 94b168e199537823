"""Personas under /api/ (issue 5, item 4): apps manage their personas from code.

Every write is `persona_apply` or `persona_delete` with the caller as the actor, so the change
history says who changed what through the API. A persona outside the key's scope answers
exactly as a missing one (404), and the list shows only the key's own.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from personas.models import Persona, PersonaChange, PersonaFallback, PersonaTaskOverride
from personas.schemas.personas import (
    PersonaChangePage,
    PersonaFilters,
    PersonaIn,
    PersonaOut,
    PersonaPage,
    PersonaPatch,
)
from personas.selectors import access_persona, personas_for
from personas.services import persona_apply, persona_delete
from qfweb.errors import Conflict, Forbidden, NotFound, QfError
from qfweb.schemas import errors
from routing.access import Caller, require_write
from routing.schemas import MAX_ID
from routing.schemas.catalog import NAME, PageQuery
from routing.selectors import model_find, provider_find

router = Router(tags=["personas"])
ROW_ID = Path(..., ge=1, le=MAX_ID)


def actor_of(caller: Caller) -> str:
    return f"api:{caller.name}"


def _with_chains(personas: QuerySet[Persona]) -> QuerySet[Persona]:
    """What PersonaOut reads, in three queries however many personas there are."""
    fallbacks = PersonaFallback.objects.select_related("model__provider")
    overrides = PersonaTaskOverride.objects.select_related("task", "model__provider")
    return personas.select_related("model__provider", "provider").prefetch_related(
        Prefetch("fallbacks", queryset=fallbacks), Prefetch("task_overrides", queryset=overrides)
    )


def _filtered(personas: QuerySet[Persona], filters: PersonaFilters) -> QuerySet[Persona]:
    if filters.q:
        personas = personas.filter(Q(slug__icontains=filters.q) | Q(name__icontains=filters.q))
    if filters.modality:
        personas = personas.filter(modality=filters.modality)
    if filters.enabled is not None:
        personas = personas.filter(is_enabled=filters.enabled)
    try:  # by name or alias, as handles are; a name that matches nothing matches no persona
        if filters.provider:
            found = provider_find(filters.provider)
            personas = personas.filter(Q(provider=found) | Q(model__provider=found))
        if filters.model:
            personas = personas.filter(model=model_find(filters.model))
    except QfError:
        return personas.none()
    return personas


@router.get("/personas", response={200: PersonaPage, **errors()}, summary="The key's personas")
def persona_list(request: HttpRequest, filters: Query[PersonaFilters]) -> dict[str, Any]:
    return filters.of(_with_chains(_filtered(personas_for(request.auth), filters)))


@router.post(
    "/personas", response={201: PersonaOut, **errors(400, 403, 409)}, summary="Create a persona"
)
def persona_create(request: HttpRequest, payload: PersonaIn) -> Status[Persona]:
    caller: Caller = request.auth
    require_write(caller)
    if caller.personas is not None:  # the new persona would be outside the key's scope
        raise Forbidden("creating a persona needs a key with the all-personas scope", field="scope")
    if Persona.objects.filter(slug=payload.slug).exists():
        raise Conflict(f"persona {payload.slug!r} exists; PATCH it instead", field="slug")
    data = payload.model_dump(mode="json", exclude_unset=True)
    return Status(201, persona_apply(data=data, actor=actor_of(caller)).obj)


@router.get("/personas/{slug}", response={200: PersonaOut, **errors(404)}, summary="One persona")
def persona_get(request: HttpRequest, slug: str = NAME) -> Persona:
    return access_persona(request.auth, slug)


@router.patch(
    "/personas/{slug}",
    response={200: PersonaOut, **errors(400, 403, 404)},
    summary="Change a persona",
)
def persona_update(request: HttpRequest, payload: PersonaPatch, slug: str = NAME) -> Persona:
    require_write(request.auth)
    persona = access_persona(request.auth, slug)
    data = {**payload.model_dump(mode="json", exclude_unset=True), "slug": persona.slug}
    return persona_apply(data=data, actor=actor_of(request.auth)).obj


@router.delete(
    "/personas/{slug}", response={204: None, **errors(403, 404)}, summary="Delete a persona"
)
def persona_remove(request: HttpRequest, slug: str = NAME) -> Status[None]:
    require_write(request.auth)
    persona = access_persona(request.auth, slug)
    persona_delete(persona=persona, actor=actor_of(request.auth))
    return Status(204, None)


@router.get(
    "/personas/{slug}/history",
    response={200: PersonaChangePage, **errors(404)},
    summary="A persona's changes, newest first",
)
def persona_history(
    request: HttpRequest, page: Query[PageQuery], slug: str = NAME
) -> dict[str, Any]:
    persona = access_persona(request.auth, slug)
    # By slug: the changes from before a delete and re-create belong to this persona too.
    return page.of(PersonaChange.objects.filter(persona_slug=persona.slug))


@router.post(
    "/personas/{slug}/history/{change_id}/revert",
    response={200: PersonaOut, **errors(400, 403, 404)},
    summary="Put a persona back as a recorded change left it",
)
def persona_revert(request: HttpRequest, slug: str = NAME, change_id: int = ROW_ID) -> Persona:
    require_write(request.auth)
    persona = access_persona(request.auth, slug)
    change = PersonaChange.objects.filter(persona_slug=persona.slug, pk=change_id).first()
    if change is None:
        raise NotFound(f"persona {persona.slug} has no change {change_id}", field="change_id")
    return persona_apply(data=change.snapshot, actor=actor_of(request.auth)).obj
