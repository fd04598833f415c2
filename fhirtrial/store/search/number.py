"""number (https://hl7.org/fhir/R4/search.html#number): a point compares its value, a Range its interval."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import NumberValue, QuantityValue
from .context import bound
from .date import range_condition


def number_condition(cols: Any, v: NumberValue | QuantityValue, range_contains: bool = False
                     ) -> sa.ColumnElement[bool]:
    """matching._number_like on ``cols.value``/``low``/``high``."""
    value, low, high = cols.value, cols.low, cols.high
    if range_contains:  # eligible-age: the asked value lies in the indexed range
        return sa.and_(low <= bound(v.value, sa.Float), high >= bound(v.value, sa.Float))
    s = bound(v.value, sa.Float)
    point = sa.and_(low < value, value < high)
    in_precision = sa.and_(value >= bound(v.low, sa.Float), value < bound(v.high, sa.Float))
    point_cond = {
        "eq": in_precision, "ne": sa.not_(in_precision), "gt": value > s, "lt": value < s, "ge": value >= s,
        "le": value <= s, "sa": value > s, "eb": value < s,
        "ap": sa.func.abs(value - s) <= bound(abs(v.value) * 0.1, sa.Float),
    }[v.prefix]
    margin = abs(v.value) * 0.1
    range_cond = range_condition(v.prefix, low, high, bound(v.low, sa.Float), bound(v.high, sa.Float),
                                 bound(v.low - margin, sa.Float), bound(v.high + margin, sa.Float))
    return sa.or_(sa.and_(point, point_cond), sa.and_(sa.not_(point), range_cond))
