"""Client API keys under /api/keys: list, issue, read, revoke (RELIABILITY.md, client API keys).

Staff sessions only: a client key may not mint or revoke keys, its own included (OWASP API5).
Issuing and revoking go through `personas.keys`; the plaintext is in the answer to the
POST and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Router, Status

from personas.keys import api_key_issue, api_key_revoke
from personas.models import ApiKey, Persona
from personas.schemas.keys import KeyCreatedOut, KeyIn, KeyOut
from personas.selectors import rows_named
from qfweb.errors import FieldErrors, NotFound, QfError
from qfweb.schemas import errors
from routing.access import require_staff
from routing.models import Task
from routing.schemas import MAX_ID

router = Router(tags=["keys"])


@router.get("/keys", response={200: list[KeyOut], **errors(403)}, summary="API keys")
def key_list(request: HttpRequest) -> QuerySet[ApiKey]:
    require_staff(request.auth)
    return _keys()


@router.post(
    "/keys", response={201: KeyCreatedOut, **errors(400, 403)}, summary="Issue an API key"
)
def key_create(request: HttpRequest, payload: KeyIn) -> Status[KeyCreatedOut]:
    require_staff(request.auth)
    scopes = payload.model_dump(exclude={"personas", "tasks"})
    personas, tasks = scope_rows(payload.personas, payload.tasks)
    user = request.user if request.user.is_authenticated else None
    issued = api_key_issue(**scopes, personas=personas, tasks=tasks, created_by=user)
    shown = KeyOut.from_orm(_key(issued.api_key.pk)).model_dump()
    return Status(201, KeyCreatedOut(**shown, key=issued.plaintext))


@router.get("/keys/{key_id}", response={200: KeyOut, **errors(403, 404)}, summary="One API key")
def key_get(request: HttpRequest, key_id: int = Path(..., ge=1, le=MAX_ID)) -> ApiKey:
    require_staff(request.auth)
    return _key(key_id)


@router.post(
    "/keys/{key_id}/revoke", response={200: KeyOut, **errors(403, 404)},
    summary="Revoke an API key (at once; revoking again keeps the first time)",
)
def key_revoke(request: HttpRequest, key_id: int = Path(..., ge=1, le=MAX_ID)) -> ApiKey:
    require_staff(request.auth)
    return api_key_revoke(api_key=_key(key_id))


def scope_rows(slugs: Sequence[str], names: Sequence[str]) -> tuple[list[Persona], list[Task]]:
    """The personas and tasks a new key is scoped to; every unknown name is reported."""
    personas, unknown_personas = rows_named(Persona.objects.all(), "slug", slugs)
    tasks, unknown_tasks = rows_named(Task.objects.all(), "name", names)
    problems = [
        *(QfError(f"unknown persona {name!r}", field="personas") for name in unknown_personas),
        *(QfError(f"unknown task {name!r}", field="tasks") for name in unknown_tasks),
    ]
    if problems:
        raise FieldErrors(problems)
    return personas, tasks


def _keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.prefetch_related("personas", "tasks")


def _key(key_id: int) -> ApiKey:
    api_key = _keys().filter(pk=key_id).first()
    if api_key is None:
        raise NotFound(f"unknown API key {key_id}", field="key_id")
    return api_key
