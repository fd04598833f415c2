"""composite (https://hl7.org/fhir/R4/search.html#composite): every component matches the same combination row."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from ...search.request import CompositeValue, DateValue, NumberValue, QuantityValue, TextValue, TokenValue
from ..schema import idx_composite
from .context import Context
from .date import date_condition
from .number import number_condition
from .quantity import quantity_condition
from .string import string_condition
from .token import token_condition


def _component(ctx: Context, c: Any, index: int, v: Any) -> sa.ColumnElement[bool]:
    if index == 0:
        if not isinstance(v, TokenValue):
            return sa.false()
        return sa.and_(c.c1_code.is_not(None), token_condition(SimpleNamespace(system=c.c1_system, code=c.c1_code), v))
    if isinstance(v, TokenValue):
        return sa.and_(c.c2_code.is_not(None), c.c2_value.is_(None), c.c2_date_low.is_(None),
                       token_condition(SimpleNamespace(system=c.c2_system, code=c.c2_code), v))
    if isinstance(v, QuantityValue):
        return sa.and_(c.c2_value.is_not(None), quantity_condition(SimpleNamespace(
            system=c.c2_system, code=c.c2_code, unit=c.c2_unit, value=c.c2_value, low=c.c2_low, high=c.c2_high), v))
    if isinstance(v, NumberValue):
        return sa.and_(c.c2_value.is_not(None), number_condition(
            SimpleNamespace(value=c.c2_value, low=c.c2_low, high=c.c2_high), v))
    if isinstance(v, DateValue):
        return sa.and_(c.c2_date_low.is_not(None), date_condition(ctx, c.c2_date_low, c.c2_date_high, v))
    if isinstance(v, TextValue):
        return sa.and_(c.c2_normalized.is_not(None), string_condition(ctx, c.c2_normalized, c.c2_exact, v, None))
    return sa.false()


def composite_condition(ctx: Context, v: CompositeValue) -> sa.ColumnElement[bool]:
    if len(v.components) != 2:
        return sa.false()
    c = idx_composite.c
    return sa.and_(*(_component(ctx, c, i, part) for i, part in enumerate(v.components)))
