"""Location near (https://hl7.org/fhir/R4/location.html#positional): bounding box, then great-circle distance."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.geo import EARTH_RADIUS_KM
from ...search.request import NearValue
from .context import Context, bound


def _haversine_pg(lat1: float, lon1: float, lat2: Any, lon2: Any) -> Any:
    f = sa.func
    phi1, phi2 = f.radians(bound(lat1, sa.Float)), f.radians(lat2)
    dphi, dlmb = phi2 - phi1, f.radians(lon2 - bound(lon1, sa.Float))
    a = f.power(f.sin(dphi / 2), 2) + f.cos(phi1) * f.cos(phi2) * f.power(f.sin(dlmb / 2), 2)
    return 2 * bound(EARTH_RADIUS_KM, sa.Float) * f.asin(f.least(1.0, f.sqrt(a)))


def near_condition(ctx: Context, cols: Any, v: NearValue) -> sa.ColumnElement[bool]:
    box = v.box
    lat, lon = cols.latitude, cols.longitude
    in_lat = sa.and_(lat >= bound(box.min_latitude, sa.Float), lat <= bound(box.max_latitude, sa.Float))
    if box.min_longitude <= box.max_longitude:
        in_lon = sa.and_(lon >= bound(box.min_longitude, sa.Float), lon <= bound(box.max_longitude, sa.Float))
    else:  # the box crosses the antimeridian
        in_lon = sa.or_(lon >= bound(box.min_longitude, sa.Float), lon <= bound(box.max_longitude, sa.Float))
    return sa.and_(in_lat, in_lon, distance_km(ctx, v, lat, lon) <= bound(v.distance_km, sa.Float))


def distance_km(ctx: Context, v: NearValue, lat: Any, lon: Any) -> Any:
    """Great-circle distance in km from the searched point to (lat, lon)."""
    if ctx.postgres:
        return _haversine_pg(v.latitude, v.longitude, lat, lon)
    # registered on each connection (engine.sqlite_pragmas): geo.haversine_km itself
    return sa.func.haversine_km(bound(v.latitude, sa.Float), bound(v.longitude, sa.Float), lat, lon, type_=sa.Float)
