"""Distances of matches to the searched point (``location-distance``, https://hl7.org/fhir/R4/location.html#positional)
and ``_sort=near``: the nearest position within reach among a match's own (Location), its chained sites
(``site.near``) or its sites with the status asked for (``site-status-near``). See fhirtrial/search/distance.py."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.distance import NearSource
from ..schema import idx_position, idx_reference, idx_site
from .context import Context
from .near import distance_km, near_condition
from .site import LOCATION, NEAR_PARAM
from .token import token_condition


def _rows(ctx: Context, src: NearSource, type_expr: Any) -> tuple[Any, Any, list[Any]]:
    """(owner id column, distance expression, conditions) over the rows that place a match near the point."""
    p = idx_position.alias("dp")
    pos = [p.c.resource_type == LOCATION, p.c.param == NEAR_PARAM, near_condition(ctx, p.c, src.near)]
    dist = distance_km(ctx, src.near, p.c.latitude, p.c.longitude)
    if src.kind == "location":
        return p.c.resource_id, dist, pos
    if src.kind == "chain":
        ref = idx_reference.alias("dr")
        return ref.c.resource_id, dist, [ref.c.resource_type == type_expr, ref.c.param == src.param,
                                         ref.c.target_type == LOCATION, p.c.resource_id == ref.c.target_id, *pos]
    s = idx_site.alias("ds")
    assert src.token is not None
    return s.c.resource_id, dist, [s.c.resource_type == type_expr, s.c.param == src.param,
                                   token_condition(s.c, src.token), s.c.target_type == LOCATION,
                                   p.c.resource_id == s.c.target_id, *pos]


def distance_expression(ctx: Context, src: NearSource, type_expr: Any, id_col: Any) -> Any:
    """Scalar subquery: the distance of the resource with ``id_col`` (NULL when nothing is within reach)."""
    owner, dist, conds = _rows(ctx, src, type_expr)
    return sa.select(sa.func.min(dist)).where(owner == id_col, *conds).scalar_subquery()


def distances(conn: sa.Connection, ctx: Context, src: NearSource, resource_type: str, ids: list[str]) -> dict[str, float]:
    """Resource id -> distance in km, for the ids of one page."""
    if not ids:
        return {}
    owner, dist, conds = _rows(ctx, src, resource_type)
    query = sa.select(owner, sa.func.min(dist)).where(owner.in_(ids), *conds).group_by(owner)
    return {rid: float(km) for rid, km in conn.execute(query) if km is not None}
