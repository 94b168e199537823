"""The machinery every routing service shares: outcomes, error collection and strict field
checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Literal, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from qfweb.errors import FieldErrors, QfError
from routing.choices import Strength
from routing.models import Model
from routing.params import ParamError, validate_params
from routing.selectors import capability_find, model_find

Outcome = Literal["created", "updated", "unchanged"]
T = TypeVar("T", bound=models.Model)
R = TypeVar("R")


@dataclass(frozen=True)
class Upserted(Generic[T]):
    obj: T
    outcome: Outcome


class Problems:
    """Collects (field, message) problems while an entry is checked."""

    def __init__(self) -> None:
        self.errors: list[QfError] = []

    def add(self, field: str | None, message: str) -> None:
        self.errors.append(QfError(message, field=field))

    def attempt(self, field: str, call: Callable[..., R], *args: Any) -> R | None:
        try:
            return call(*args)
        except FieldErrors as exc:
            for error in exc.errors:
                self._keep(field, error)
        except QfError as exc:
            self._keep(field, exc)
        return None

    def _keep(self, field: str, error: QfError) -> None:
        error.field = f"{field}.{error.field}" if error.field else field
        self.errors.append(error)

    def unknown_keys(
        self, data: Mapping[str, Any], allowed: Iterable[str], under: str = ""
    ) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                field = f"{under}.{key}" if under else str(key)
                self.add(field, f"unknown field (expected one of: {', '.join(allowed)})")

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


# ---- field checks ---------------------------------------------------------------------


def coerce(field: models.Field, value: Any, obj: models.Model) -> Any:
    """`value` checked strictly against the field's type: YAML's 2.7 must not become 2."""
    if value is None:
        if field.null:
            return None
        raise QfError("must not be null")
    # bool is an int to Python: `max_retries: yes` must be refused, not stored as 1.
    if isinstance(field, models.BooleanField):
        ok = isinstance(value, bool)
        kind = "true or false"
    elif isinstance(field, models.DecimalField):
        value, ok, kind = _decimal(value), True, "a number"
    elif isinstance(field, models.FloatField):
        ok, kind = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    elif isinstance(field, models.IntegerField):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(field, models.CharField | models.TextField):
        ok, kind = isinstance(value, str), "a string"
    else:
        ok, kind = True, ""
    if not ok:
        raise QfError(f"must be {kind}")
    try:
        field.run_validators(value)
        field.validate(value, obj)
    except ValidationError as exc:
        raise QfError("; ".join(exc.messages)) from None
    return value


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise QfError("must be a number")
    try:  # through str: Decimal(0.1) keeps the float's binary tail and fails decimal_places
        number = Decimal(str(value))
    except InvalidOperation:
        raise QfError("must be a number") from None
    if not number.is_finite():
        raise QfError("must be a number")
    return number


def assign_fields(
    obj: models.Model, data: Mapping[str, Any], fields: Iterable[str], problems: Problems
) -> bool:
    """Set those of `fields` that `data` holds on `obj`; True when any value differs from the
    stored one."""
    changed = False
    for key in fields:
        if key not in data:
            continue
        field, value = obj._meta.get_field(key), data[key]
        try:
            checked = coerce(field, value, obj)
        except QfError as exc:
            problems.add(key, exc.message)
            continue
        if getattr(obj, field.attname) != checked:
            setattr(obj, field.attname, checked)
            changed = True
    return changed


def check_params(modality: str, params: Any, field: str, problems: Problems) -> None:
    try:
        validate_params(modality, params)
    except ParamError as exc:
        problems.add(field if exc.field == "params" else f"{field}.{exc.field}", exc.reason)


def save_checked(obj: models.Model, problems: Problems) -> None:
    """full_clean() and save, turning Django's ValidationError into FieldErrors."""
    problems.raise_if_any()
    try:  # clean() holds the rules across fields: modality vs kind, base URL safety
        obj.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                problems.add(None if field == NON_FIELD_ERRORS else field, message)
        problems.raise_if_any()
    obj.save()


def finish_upsert(obj: T, created: bool, changed: bool, problems: Problems) -> Upserted[T]:
    """Save `obj` when it is new or changed; an unchanged row is not written at all."""
    if not (created or changed):
        # Not saving keeps updated_at (and the cache version it bumps) still on a re-import.
        problems.raise_if_any()
        return Upserted(obj, "unchanged")
    save_checked(obj, problems)
    return Upserted(obj, "created" if created else "updated")


def parse_strengths(
    value: Any, field: str, current: Mapping[str, int], problems: Problems
) -> dict[str, int]:
    """{capability: strength word} -> {capability: Strength}; a null strength keeps the stored
    one (moderate when new)."""
    if not isinstance(value, Mapping):
        problems.add(field, "must map capability names to strengths")
        return {}
    result: dict[str, int] = {}
    for name, word in value.items():
        if problems.attempt(f"{field}.{name}", capability_find, name) is None:
            continue
        try:
            kept = current.get(name, Strength.MODERATE)
            result[name] = int(kept if word is None else Strength.parse(word))
        except ValueError as exc:
            problems.add(f"{field}.{name}", str(exc))
    return result


def parse_handles(value: Any, field: str, modality: str, problems: Problems) -> list[Model]:
    if not isinstance(value, list):
        problems.add(field, "must be a list of provider:model handles")
        return []
    found: list[Model] = []
    for index, handle in enumerate(value):
        model = problems.attempt(f"{field}[{index}]", model_find, handle)
        if model is None:
            continue
        if model in found:
            problems.add(f"{field}[{index}]", f"{model.handle} is listed twice")
        elif model.modality != modality:
            message = f"{model.handle} is a {model.modality} model, not {modality}"
            problems.add(f"{field}[{index}]", message)
        else:
            found.append(model)
    return found
