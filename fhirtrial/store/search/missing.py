""":missing (https://hl7.org/fhir/R4/search.html#missing): no row of the parameter, nor of its derived token rows."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.convert import IDENTIFIER, OF_TYPE
from ...search.request import Filter, MissingValue
from ..schema import idx_token
from .context import TABLES


def present_condition(f: Filter, type_expr: Any, id_col: Any) -> sa.ColumnElement[bool]:
    table = TABLES.get(f.type, idx_token)
    rows = sa.select(table.c.resource_id).where(table.c.resource_type == type_expr, table.c.param == f.param)
    derived = sa.select(idx_token.c.resource_id).where(
        idx_token.c.resource_type == type_expr, idx_token.c.param.in_([f.param + OF_TYPE, f.param + IDENTIFIER]))
    return sa.or_(id_col.in_(rows), id_col.in_(derived))


def missing_condition(f: Filter, type_expr: Any, id_col: Any) -> sa.ColumnElement[bool]:
    wanted = {v.missing for v in f.values if isinstance(v, MissingValue)}
    if wanted == {True, False}:
        return sa.true()
    present = present_condition(f, type_expr, id_col)
    return sa.not_(present) if True in wanted else present
