"""Chained parameters and reverse chaining (_has) (https://hl7.org/fhir/R4/search.html#chaining).

Each hop is a semi-join through idx_reference: forward, the source's reference rows whose target satisfies
the rest; reverse, the targets of reference rows from resources that satisfy the rest.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from ...search.request import Filter
from ..schema import idx_reference, resource
from .context import Context
from .predicate import filter_condition, is_negative


def _live(type_name: str, id_col: Any) -> sa.ColumnElement[bool]:
    r = resource.c
    return id_col.in_(sa.select(r.id).where(r.resource_type == type_name, r.deleted.is_(False)))


def chained_condition(ctx: Context, f: Filter, type_expr: Any, id_col: Any, pk_col: Any = None,
                      correlated: bool = False) -> sa.ColumnElement[bool]:
    """``f`` (with its chain) as a condition on resources of ``type_expr`` whose id is ``id_col``."""
    if not f.chain:
        return filter_condition(ctx, f, type_expr, id_col, pk_col, correlated)
    link, rest = f.chain[0], replace(f, chain=f.chain[1:])
    ref = idx_reference.alias()
    c = ref.c
    if not link.reverse:
        target = link.target_types[0]
        inner = chained_condition(ctx, rest, target, c.target_id)
        if not rest.chain and is_negative(rest):
            inner = sa.and_(_live(target, c.target_id), inner)
        rows = sa.select(c.resource_id).where(c.resource_type == type_expr, c.param == link.param,
                                              c.target_type.in_(list(link.target_types)), inner)
        return id_col.in_(rows)
    source = link.source_type
    inner = chained_condition(ctx, rest, source, c.resource_id)
    if not rest.chain and is_negative(rest):
        inner = sa.and_(_live(source, c.resource_id), inner)
    rows = sa.select(c.target_id).where(c.resource_type == source, c.param == link.param,
                                        c.target_type == type_expr, inner)
    return id_col.in_(rows)
