"""quantity (https://hl7.org/fhir/R4/search.html#quantity): number rules plus system|code units."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import QuantityValue
from .context import bound
from .number import number_condition


def quantity_condition(cols: Any, v: QuantityValue) -> sa.ColumnElement[bool]:
    parts = []
    if v.system is not None:
        parts.append(cols.system == bound(v.system))
    if v.code is not None:
        parts.append(cols.code == bound(v.code) if v.system is not None
                     else sa.or_(cols.code == bound(v.code), cols.unit == bound(v.code)))
    parts.append(number_condition(cols, v))
    return sa.and_(*parts)
