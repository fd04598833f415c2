"""string (https://hl7.org/fhir/R4/search.html#string): starts-with on normalised text, :contains, :exact."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import TextValue
from ..schema import STRING_PREFIX
from .context import Context, bound, starts_with


def string_condition(ctx: Context, normalized: Any, exact: Any, v: TextValue, modifier: str | None
                     ) -> sa.ColumnElement[bool]:
    if modifier == "exact":
        return exact == bound(v.text, sa.Text)
    if modifier == "contains":
        return ctx.contains(normalized, v.normalized) if v.normalized else sa.true()
    q = v.normalized
    if normalized.name != "normalized":  # not idx_string (composite components): no prefix index
        return starts_with(normalized, q)
    # idx_string's search index holds substr(normalized, 1, STRING_PREFIX): compare that, then the rest.
    head = starts_with(sa.func.substr(normalized, 1, STRING_PREFIX), q[:STRING_PREFIX])
    if len(q) <= STRING_PREFIX:
        return head
    return sa.and_(head, sa.func.substr(normalized, 1, len(q)) == bound(q, sa.Text))
