"""string (https://hl7.org/fhir/R4/search.html#string): starts-with on normalised text, :contains, :exact."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import TextValue
from .context import Context, bound, starts_with


def string_condition(ctx: Context, normalized: Any, exact: Any, v: TextValue, modifier: str | None
                     ) -> sa.ColumnElement[bool]:
    if modifier == "exact":
        return exact == bound(v.text, sa.Text)
    if modifier == "contains":
        return ctx.contains(normalized, v.normalized) if v.normalized else sa.true()
    return starts_with(normalized, v.normalized)
