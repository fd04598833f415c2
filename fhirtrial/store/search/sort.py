"""_sort (https://hl7.org/fhir/R4/search.html#sort): several keys, ``-`` descending, resources without a value last.

Per key the value is taken from the parameter's index rows as HAPI does: dates sort by the interval's low end
ascending and its high end descending; strings by the normalised text; tokens by code; numbers and quantities
by value; references by target id (else URL); uris by uri. ``_id`` and ``_lastUpdated`` use the resource row,
``_score`` the full-text rank, ``near`` the distance of the nearest position within reach (distance.py). The resource pk ends every order, so the order is total (needed for keyset paging).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ...search.request import Filter, SearchRequest, SortKey
from .context import TABLES, Context
from ...search.distance import near_source
from .distance import distance_expression
from .fulltext import score_expression

_VALUE_COLUMN = {"string": "normalized", "token": "code", "number": "value", "quantity": "value",
                 "reference": "target_id", "uri": "uri"}


@dataclass(frozen=True, slots=True)
class Term:
    """One ORDER BY term: an expression, its direction, and whether it can be NULL (then NULLs sort last)."""

    expr: Any
    descending: bool
    nullable: bool


def key_expression(ctx: Context, key: SortKey, request: SearchRequest, r: Any, type_expr: Any) -> tuple[Any, bool]:
    """(expression, nullable) of one sort key for the resource row ``r``."""
    if key.param == "_id":
        return (sa.collate(r.id, "C") if ctx.postgres else r.id), False
    if key.param == "_lastUpdated":
        return r.last_updated, False
    if key.param == "_score":
        fts: Filter | None = next((f for f in request.filters if f.type == "fulltext" and not f.chain), None)
        if fts is None:
            return sa.literal(0.0), False
        return score_expression(ctx, fts, r.pk), True
    if key.type == "near":  # the parser made sure the search has one near source
        src = near_source(request.filters)
        if src is None:
            return sa.literal(None), True
        return distance_expression(ctx, src, type_expr, r.id), True
    table = TABLES.get(key.type)
    if table is None:
        return sa.literal(None), True
    c = table.c
    if key.type == "date":
        value = sa.func.max(c.high) if key.descending else sa.func.min(c.low)
    else:
        column = c[_VALUE_COLUMN.get(key.type, "code")]
        value = sa.func.max(column) if key.descending else sa.func.min(column)
    sub = sa.select(value).where(c.resource_type == type_expr, c.resource_id == r.id, c.param == key.param)
    return sub.scalar_subquery(), True


def by_id(ctx: Context, request: SearchRequest) -> bool:
    """Whether the tie-break (and so the default order) is the resource id rather than the pk.

    Within one type, the id: every search index lists a value's resources in id order
    (``ix_*_search (resource_type, param, value..., resource_id)``) and so does the resource index on (type, id),
    so a page of a filtered search is read in index order and stops when full, instead of sorting every match by
    pk (at 500k studies a common condition has ~12,000). Full-text hits come by rowid, so they keep the pk.
    PostgreSQL orders by id only when a filter's rows come in id order (``owner_ordered``): with broad filters
    alone it merges a whole owner index page after page, where walking the pk and probing is cheaper. Decided by
    the request alone, so every page of one search has the same order."""
    from .predicate import owner_ordered

    if request.resource_type is None or any(f.type == "fulltext" and not f.chain for f in request.filters):
        return False
    return not ctx.postgres or any(owner_ordered(f) for f in request.filters)


def sort_terms(ctx: Context, request: SearchRequest, r: Any, type_expr: Any) -> list[Term]:
    terms: list[Term] = []
    for key in request.sort:
        expr, nullable = key_expression(ctx, key, request, r, type_expr)
        terms.append(Term(expr, key.descending, nullable))
    terms.append(Term(r.id if by_id(ctx, request) else r.pk, False, False))
    return terms
