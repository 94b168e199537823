"""Reads of the persona store, and the checks of what a caller may reach (STYLE B-9).

Out of scope and missing answer alike where the object is named in a path (404), so a key
learns nothing about personas it cannot use; running a persona out of scope is refused
naming the scope (403) before anything is looked up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db.models import Model, QuerySet

from personas.models import Persona
from personas.profiles import profile_get
from qfweb.errors import Forbidden, NotFound
from routing.access import Caller
from routing.config import PersonaProfile

T = TypeVar("T", bound=Model)


def rows_named(rows: QuerySet[T], attribute: str, names: Iterable[str]) -> tuple[list[T], list[str]]:
    """The rows whose `attribute` is one of `names`, and the names that matched none (in the
    order given, once each), so a caller can report every unknown name at once."""
    names = list(dict.fromkeys(names))
    found = list(rows.filter(**{f"{attribute}__in": names}))
    known = {getattr(row, attribute) for row in found}
    return found, [name for name in names if name not in known]


def require_persona_scope(caller: Caller, slug: str) -> None:
    if not caller.sees_persona(slug):
        raise Forbidden(f"this key may not act as persona {slug!r}", field="persona")


def access_profile(caller: Caller, slug: str) -> PersonaProfile:
    """The persona as routing reads it (cached, no query when warm); 404 for missing and
    out of scope alike."""
    if not caller.sees_persona(slug):
        raise NotFound(f"unknown persona {slug!r}", field="persona")
    return profile_get(slug)


def access_profile_for_run(caller: Caller, slug: str) -> PersonaProfile:
    """The persona a generation runs as: in scope, existing and enabled."""
    require_persona_scope(caller, slug)
    profile = profile_get(slug)
    if not profile.is_enabled:
        raise Forbidden(f"persona {slug!r} is disabled", field="persona")
    return profile


def personas_for(caller: Caller) -> QuerySet[Persona]:
    personas = Persona.objects.all()
    if caller.personas is not None:
        personas = personas.filter(slug__in=caller.personas)
    return personas


def access_persona(caller: Caller, slug: str) -> Persona:
    """A stored persona the caller may read or change; 404 for missing and out of scope."""
    persona = personas_for(caller).filter(slug=slug).first()
    if persona is None:
        raise NotFound(f"unknown persona {slug!r}", field="persona")
    return persona
