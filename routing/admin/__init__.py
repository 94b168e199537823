"""The Django admin for the routing app. Importing the package registers every ModelAdmin."""

from __future__ import annotations

from routing.admin import catalog, tasks, usage  # noqa: F401  (registration)
from routing.admin.common import (
    ModelHandleFilter,
    OrderedRowsFormSet,
    QfModelForm,
    ReadOnlyAdmin,
    UniqueRowsFormSet,
    pretty_json,
)

__all__ = [
    "ModelHandleFilter",
    "OrderedRowsFormSet",
    "QfModelForm",
    "ReadOnlyAdmin",
    "UniqueRowsFormSet",
    "pretty_json",
]
