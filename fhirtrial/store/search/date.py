"""date (https://hl7.org/fhir/R4/search.html#date): prefixes against the indexed [low, high] interval."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...search.dates import MAX_DATETIME, MIN_DATETIME
from ...search.request import DateValue
from .context import Context


def range_condition(prefix: str, low: Any, high: Any, sl: Any, sh: Any, ap_low: Any, ap_high: Any
                    ) -> sa.ColumnElement[bool]:
    """matching.compare_ranges for a row range [low, high] and a search range [sl, sh] (bound values);
    ``ap_low``/``ap_high`` are the search range widened by the ap margin."""
    contained = sa.and_(low >= sl, high <= sh)
    if prefix == "eq":
        return contained
    if prefix == "ne":
        return sa.not_(contained)
    if prefix == "gt":
        return high > sh
    if prefix == "lt":
        return low < sl
    if prefix == "ge":
        return sa.or_(high > sh, contained)
    if prefix == "le":
        return sa.or_(low < sl, contained)
    if prefix == "sa":
        return low > sh
    if prefix == "eb":
        return high < sl
    if prefix == "ap":
        return sa.and_(low <= ap_high, high >= ap_low)
    raise ValueError(prefix)


def _clamp(compute: Any, fallback: datetime) -> datetime:
    try:
        return max(MIN_DATETIME, min(MAX_DATETIME, compute()))
    except OverflowError:
        return fallback


def date_condition(ctx: Context, low: Any, high: Any, v: DateValue) -> sa.ColumnElement[bool]:
    margin = abs(ctx.now - v.low) * 0.1 if v.prefix == "ap" else timedelta(0)
    ap_low = _clamp(lambda: v.low - margin, MIN_DATETIME)
    ap_high = _clamp(lambda: v.high + margin, MAX_DATETIME)
    t = low.type
    return range_condition(v.prefix, low, high, sa.literal(v.low, t), sa.literal(v.high, t),
                           sa.literal(ap_low, t), sa.literal(ap_high, t))
