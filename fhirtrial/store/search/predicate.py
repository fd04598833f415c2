"""One filter on its own type: ``id IN (SELECT resource_id FROM idx_<type> WHERE ...)`` with the values ORed.

The semi-join is written as IN over the parameter's index table (an EXISTS in meaning): the planner may then
drive the query from the index (selective filters) or probe it per candidate (broad ones). Every client value
is a bound parameter.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

from ...search.convert import IDENTIFIER
from ...search.request import (CompositeValue, DateValue, Filter, MissingValue, NearValue, NumberValue,
                               OfTypeValue, QuantityValue, ReferenceValue, TextValue, TokenValue, UriValue)
from ..schema import idx_composite, idx_date, idx_number, idx_position, idx_quantity, idx_reference, idx_site, \
    idx_string, idx_token, idx_uri, resource
from .composite import composite_condition
from .context import Context, bound
from .date import date_condition
from .fulltext import fulltext_pks
from .missing import missing_condition
from .near import near_condition
from .number import number_condition
from .quantity import quantity_condition
from .reference import reference_condition
from .site import site_condition
from .string import string_condition
from .token import in_condition, of_type_condition, text_condition, token_condition
from .uri import uri_condition

NEGATIVE_MODIFIERS = frozenset({"not", "not-in"})


def value_condition(ctx: Context, f: Filter, v: Any) -> tuple[sa.Table, sa.ColumnElement[bool]]:
    """The index table and row condition (param included) for one value of ``f``."""
    table, param, cond = _value_parts(ctx, f, v)
    return table, cond if param is None else sa.and_(table.c.param == param, cond)


def _value_parts(ctx: Context, f: Filter, v: Any) -> tuple[sa.Table, str | None, sa.ColumnElement[bool]]:
    """The index table, the param its rows must have (None: inside the condition) and the rest of the row
    condition for one value of ``f``."""
    mod = f.modifier
    if isinstance(v, TokenValue) and mod == "identifier":
        t = idx_token.c
        return idx_token, f.param + IDENTIFIER, token_condition(t, v)
    if isinstance(v, OfTypeValue):
        return idx_token, None, of_type_condition(idx_token.c, f.param, v)
    if f.type == "token":
        t = idx_token.c
        if isinstance(v, TokenValue):
            return idx_token, f.param, token_condition(t, v)
        if isinstance(v, TextValue):
            return idx_token, f.param, text_condition(ctx, t.text, v)
        if isinstance(v, UriValue) and mod in ("in", "not-in"):
            return idx_token, f.param, in_condition(t, v)
    if isinstance(v, TextValue) and f.type == "string":
        s = idx_string.c
        return idx_string, f.param, string_condition(ctx, s.normalized, s.exact, v, mod)
    if isinstance(v, DateValue):
        d = idx_date.c
        return idx_date, f.param, date_condition(ctx, d.low, d.high, v)
    if isinstance(v, QuantityValue):
        q = idx_quantity.c
        return idx_quantity, f.param, quantity_condition(q, v)
    if isinstance(v, NumberValue):
        n = idx_number.c
        return idx_number, f.param, number_condition(n, v, f.range_contains)
    if f.type == "reference" and isinstance(v, (ReferenceValue, UriValue)):
        r = idx_reference.c
        return idx_reference, f.param, reference_condition(r, v, mod)
    if isinstance(v, UriValue):
        u = idx_uri.c
        return idx_uri, f.param, uri_condition(u.uri, v, mod)
    if isinstance(v, NearValue):
        p = idx_position.c
        return idx_position, f.param, near_condition(ctx, p, v)
    if isinstance(v, CompositeValue) and f.type == "site":
        c = idx_site.c
        return idx_site, f.param, site_condition(ctx, v)
    if isinstance(v, CompositeValue):
        c = idx_composite.c
        return idx_composite, f.param, composite_condition(ctx, v)
    raise NotImplementedError(f"{type(v).__name__} on a {f.type} parameter with :{mod}")


def row_selects(ctx: Context, f: Filter, type_expr: Any) -> list[tuple[sa.Table, Any]]:
    """Per index table, the rows of the resources of ``type_expr`` matching one of the values."""
    # Grouped by table, then by param, with the param outside the values' OR: inside each branch, SQLite uses only
    # the resource_type column of the (resource_type, param, ...) index and reads every row of the type (a
    # condition:text with its 19 MeSH entry terms took 9 s at 51k studies that way).
    by_table: dict[str, tuple[sa.Table, dict[str | None, list[sa.ColumnElement[bool]]]]] = {}
    for v in f.values:
        table, param, cond = _value_parts(ctx, f, v)
        by_table.setdefault(table.name, (table, {}))[1].setdefault(param, []).append(cond)
    out = []
    for table, by_param in by_table.values():
        branches = [sa.or_(*conds) if param is None else sa.and_(table.c.param == param, sa.or_(*conds))
                    for param, conds in by_param.items()]
        out.append((table, sa.and_(table.c.resource_type == type_expr, sa.or_(*branches))))
    return out


def positive_condition(ctx: Context, f: Filter, type_expr: Any, id_col: Any, correlated: bool = False,
                       probes: Any = None) -> sa.ColumnElement[bool]:
    """Some row of the resource matches one of the values: ``id IN (rows)`` (the planner may drive the query
    from the index), or with ``correlated`` an EXISTS probing the rows of each candidate (broad filters on
    SQLite, so that a scan in id order stops as soon as the page is full)."""
    parts = []
    for table, cond in row_selects(ctx, f, type_expr):
        if correlated:
            parts.append(sa.select(sa.literal(1)).select_from(table).where(cond, table.c.resource_id == id_col).exists())
        else:
            # ``probes(resource_id column)``: the broad filters, checked on the driving index rows before any
            # resource row is read.
            if probes is None:
                parts.append(id_col.in_(sa.select(table.c.resource_id).where(cond)))
                continue
            own = table.alias()  # the probes may read the same table: keep the two apart
            cond = ClauseAdapter(own).traverse(cond)
            parts.append(id_col.in_(sa.select(own.c.resource_id).where(cond, *probes(own.c.resource_id))))
    return sa.or_(*parts)


def owner_ordered(f: Filter) -> bool:
    """Whether the filter's index rows are one equality range of its search index, which ends with the owner
    (``ix_token_search``, ``ix_reference_search``), so they come in resource id order: one token ``system|code``
    or ``|code``, or one reference with its target type and id."""
    if f.chain or len(f.values) != 1:
        return False
    v = f.values[0]
    if f.type == "token" and isinstance(v, TokenValue) and f.modifier is None:
        return v.code is not None and (v.system is not None or v.match_system)
    if f.type == "reference" and isinstance(v, ReferenceValue):
        type_modifier = f.modifier is not None and f.modifier[:1].isupper()  # :Location
        return (v.target_id is not None and (f.modifier is None or type_modifier)
                and (v.target_type is not None or type_modifier))
    return False


def is_negative(f: Filter) -> bool:
    """Whether resources without index rows can match (then the candidates must come from ``resource``)."""
    if f.values and isinstance(f.values[0], MissingValue):
        return any(v.missing for v in f.values if isinstance(v, MissingValue))
    return f.modifier in NEGATIVE_MODIFIERS


def filter_condition(ctx: Context, f: Filter, type_expr: Any, id_col: Any, pk_col: Any = None,
                     correlated: bool = False, probes: Any = None) -> sa.ColumnElement[bool]:
    """The final parameter of ``f`` (chains aside) as a condition on resources of ``type_expr`` with ``id_col``."""
    if f.type == "fulltext":
        pks = fulltext_pks(ctx, f)
        if pk_col is not None:
            return pk_col.in_(pks)
        r = resource.c
        return id_col.in_(sa.select(r.id).where(r.resource_type == type_expr, r.pk.in_(pks)))
    if f.values and isinstance(f.values[0], MissingValue):
        return missing_condition(f, type_expr, id_col)
    if f.param == "_id" and f.modifier is None and all(
            isinstance(v, TokenValue) and v.system is None and not v.match_system for v in f.values):
        return id_col.in_([bound(v.code) for v in f.values])  # _id rows mirror resource.id
    if f.modifier in NEGATIVE_MODIFIERS:
        positive = Filter(f.name, f.resource_type, f.param, f.type, "in" if f.modifier == "not-in" else None,
                          f.values, f.raw, (), f.range_contains)
        return sa.not_(positive_condition(ctx, positive, type_expr, id_col, correlated))
    return positive_condition(ctx, f, type_expr, id_col, correlated, probes)
