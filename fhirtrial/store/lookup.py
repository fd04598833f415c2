"""Lean reads for callers that rank many resources themselves (``ResearchStudy/$match``): current versions by id,
and Locations' positions from their ``near`` index rows, without reading the Location bodies.
https://hl7.org/fhir/R4/location.html#positional
"""
from __future__ import annotations

import sqlalchemy as sa

from .repository import StoredResource
from .schema import idx_position
from .search.rows import load_resources

_CHUNK = 500  # ids bound in one IN list


def read_many(conn: sa.Connection, postgres: bool, resource_type: str, ids: list[str]) -> dict[str, StoredResource]:
    """Id -> current, not deleted version, for those of ``ids`` that exist."""
    return {s.id: s for s in load_resources(conn, postgres, [(resource_type, i) for i in dict.fromkeys(ids)])}


def positions(conn: sa.Connection, location_ids: list[str]) -> dict[str, tuple[float, float]]:
    """Location id -> (latitude, longitude), for the Locations with a position."""
    p = idx_position.c
    out: dict[str, tuple[float, float]] = {}
    ids = list(dict.fromkeys(location_ids))
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(p.resource_id, p.latitude, p.longitude).where(
            p.resource_type == "Location", p.param == "near", p.resource_id.in_(ids[start:start + _CHUNK]))
        out.update({rid: (float(lat), float(lon)) for rid, lat, lon in conn.execute(query)})
    return out
