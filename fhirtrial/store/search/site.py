"""Site composites (``site-status-near``, https://hl7.org/fhir/R4/search.html#composite): a status and a place of
the same site. The study's idx_site rows carry the status and the referenced Location; the place is that
Location's own idx_position row (near.py), joined here, so a Location shared by many studies is indexed once."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from ...search.request import CompositeValue, NearValue, TokenValue
from ..schema import idx_position, idx_site
from .context import Context
from .near import near_condition
from .token import token_condition

NEAR_PARAM = "near"  # Location.position's parameter
LOCATION = "Location"


def located_ids(ctx: Context, v: NearValue) -> Any:
    """SELECT of the ids of Locations with a position within the distance."""
    p = idx_position.c
    return sa.select(p.resource_id).where(p.resource_type == LOCATION, p.param == NEAR_PARAM,
                                          near_condition(ctx, p, v))


def site_condition(ctx: Context, v: CompositeValue) -> sa.ColumnElement[bool]:
    """An idx_site row whose status matches and whose Location is within the distance."""
    c = idx_site.c
    if len(v.components) != 2 or not isinstance(v.components[0], TokenValue) \
            or not isinstance(v.components[1], NearValue):
        return sa.false()
    token, near = v.components
    return sa.and_(token_condition(SimpleNamespace(system=c.system, code=c.code), token),
                   c.target_type == LOCATION, c.target_id.in_(located_ids(ctx, near)))
