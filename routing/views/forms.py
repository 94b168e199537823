"""Form helpers the catalog pages share: reading numbers as typed, capability rows, and the
row buttons (add / remove / move) that re-render a form without saving it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict

from routing.choices import Strength
from routing.services import Problems

INT_MAX = 2_147_483_647  # PositiveIntegerField on every backend: larger would overflow (a 500)
SMALL_MAX = 32_767  # PositiveSmallIntegerField
STRENGTHS = Strength.labels_lower()



def clean(value: str | None) -> str:
    """A posted or queried string, trimmed (qfweb.pages.staff_page has refused NUL already)."""
    return (value or "").strip()


def read_int(
    values: Mapping[str, Any], field: str, problems: Problems, *,
    low: int = 0, high: int = INT_MAX, required: bool = False,
) -> int | None:
    """The whole number typed in `field`, or None when blank; a problem when it is not one in
    low..high (the API's schema bounds, so the database never overflows)."""
    raw = str(values.get(field, "")).strip()
    if not raw:
        if required:
            problems.add(field, "is required")
        return None
    try:
        number = int(raw)
    except ValueError:
        problems.add(field, "must be a whole number")
        return None
    if not low <= number <= high:
        problems.add(field, f"must be between {low} and {high}")
        return None
    return number


def read_price(values: Mapping[str, Any], field: str, problems: Problems) -> Decimal | None:
    raw = str(values.get(field, "")).strip()
    if not raw:
        return None
    try:
        price = Decimal(raw)
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite():
        problems.add(field, "must be a number")
        return None
    if price < 0:  # the check constraint would say so too, but under no field
        problems.add(field, "must not be negative")
        return None
    return price


def plain(number: Decimal | None) -> str:
    """2.500000 -> "2.5" (prices are stored with six decimal places)."""
    if number is None:
        return ""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def strength_rows(post: QueryDict, names: str, strengths: str) -> list[dict[str, str]]:
    """Capability rows as posted: parallel lists of capability names and strength words."""
    return [
        {"capability": clean(name), "strength": clean(word)}
        for name, word in zip(post.getlist(names), post.getlist(strengths), strict=False)
    ]


def rows_to_mapping(rows: list[dict[str, str]], field: str, problems: Problems) -> dict[str, str]:
    """{capability: strength word} from the rows; blank rows are skipped, repeats refused."""
    mapping: dict[str, str] = {}
    for row in rows:
        name = row["capability"]
        if not name:
            continue
        if name in mapping:
            problems.add(f"{field}.{name}", "is listed twice")
        mapping[name] = row["strength"]
    return mapping


def rows_with_errors(
    rows: list[dict[str, str]], field: str, errors: Mapping[str, list[str]]
) -> list[dict[str, Any]]:
    """Each row with the messages about its capability (the services name `field.<name>`)."""
    return [
        {**row, "errors": errors.get(f"{field}.{row['capability']}", []) if row["capability"] else []}
        for row in rows
    ]


def row_op(op: str, rows: list[Any], add: str, remove: str, blank: Any) -> bool:
    """Apply a row button (`add`, or `remove:<index>`) to `rows`; True when `op` was one."""
    if op == add:
        rows.append(blank)
        return True
    index = op_index(op, remove)
    if index is not None and 0 <= index < len(rows):
        del rows[index]
    return index is not None


def op_index(op: str, name: str) -> int | None:
    """3 for `name:3`; None when `op` is another button (or the index is not a number)."""
    head, _, tail = op.partition(":")
    return int(tail) if head == name and tail.isdecimal() else None
