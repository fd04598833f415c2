"""uri (https://hl7.org/fhir/R4/search.html#uri): equality, :below (prefix), :above (the value starts with it)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import UriValue
from .context import bound, starts_with


def uri_condition(column: Any, v: UriValue, modifier: str | None) -> sa.ColumnElement[bool]:
    if modifier == "below":
        return starts_with(column, v.uri)
    if modifier == "above":
        return sa.and_(column.is_not(None),
                       sa.func.substr(bound(v.uri, sa.Text), 1, sa.func.length(column)) == column)
    return column == bound(v.uri, sa.Text)
