"""Who is calling, and what they may reach (RELIABILITY.md, OWASP API1 and API5; STYLE B-9).

Every interface (REST, /v1, the dashboard) authenticates to a `Caller`: a client key with its
scopes, or a staff session with all of them. The checks on routing's objects are written here
once; the persona checks are in `personas.selectors`, over the same `Caller`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from qfweb.errors import Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: int | None  # None for a staff session
    name: str
    personas: frozenset[str] | None = None  # slugs; None means every persona
    tasks: frozenset[str] | None = None  # names; None means every task
    may_override: bool = False
    may_write: bool = False
    rate_limit_rpm: int | None = None
    monthly_budget: Decimal | None = None
    is_staff: bool = False
    is_superuser: bool = False  # only a superuser may let a provider reach private networks

    @classmethod
    def staff(cls, username: str, *, superuser: bool = False) -> Caller:
        return cls(
            key_id=None, name=username, may_override=True, may_write=True, is_staff=True,
            is_superuser=superuser,
        )

    def sees_persona(self, slug: str) -> bool:
        return self.personas is None or slug in self.personas

    def sees_task(self, name: str) -> bool:
        return self.tasks is None or name in self.tasks


def require_write(caller: Caller) -> None:
    if not caller.may_write:
        raise Forbidden("this key may not change the store (it has no write scope)", field="scope")


def require_catalog_write(caller: Caller) -> None:
    """Providers, models, capabilities, tasks, defaults and scenarios are shared by every
    persona: a key that may act only as some of them must not change what the others run."""
    require_write(caller)
    if not caller.is_staff and (caller.personas is not None or caller.tasks is not None):
        raise Forbidden(
            "changing the shared catalog needs a key scoped to every persona and task", field="scope"
        )


def require_staff(caller: Caller) -> None:
    if not caller.is_staff:
        raise Forbidden("only a staff session may do this", field="scope")


def require_task_scope(caller: Caller, name: str) -> None:
    """Before running a task: refused naming the scope, whether or not the task exists, so
    the answer tells a client nothing about tasks outside its scope."""
    if not caller.sees_task(name):
        raise Forbidden(f"this key may not run task {name!r}", field="task")


def require_override(caller: Caller) -> None:
    if not caller.may_override:
        raise Forbidden("this key may not choose models (it has no override scope)", field="override")


def check_task_visible(caller: Caller, name: str) -> None:
    """Before reading or changing a stored task: out of scope looks exactly like missing."""
    if not caller.sees_task(name):
        raise NotFound(f"unknown task {name!r}", field="task")


def usage_key_filter(caller: Caller) -> int | None:
    """The only key whose usage this caller may see; None means all of it (staff)."""
    if caller.is_staff:
        return None
    return caller.key_id
