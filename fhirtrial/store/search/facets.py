"""Facet counts (``$facets``, fhirtrial/search/facets.py) straight from the token index: one GROUP BY per facet
over the parameter's rows, restricted to the search's matches (all studies when it has no filter)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.facets import FACETS, Bucket, Facet
from ...search.request import SearchRequest
from ..schema import STRING_PREFIX, idx_string, idx_token
from .context import Context


def _buckets(conn: sa.Connection, facet: Facet, resource_type: str, ids: Any) -> list[Bucket]:
    t = idx_token.c
    value = t.text if facet.by_text else t.code
    conds = [t.resource_type == resource_type, t.param == facet.param, value.is_not(None)]
    conds.append(t.code.is_(None) if facet.by_text else
                 t.system.is_(None) if facet.system is None else t.system == facet.system)
    if ids is not None:
        conds.append(t.resource_id.in_(ids))
    count = sa.func.count(sa.distinct(t.resource_id))
    rows = conn.execute(sa.select(value, count).where(*conds).group_by(value)).all()
    return [Bucket(v, int(n)) for v, n in rows]


def _country_spellings(conn: sa.Connection, texts: list[str]) -> dict[str, str]:
    """Normalised country -> as written, from the Locations' address-country strings (the study's own
    ResearchStudy.location text is only indexed normalised)."""
    if not texts:
        return {}
    s = idx_string.c
    prefix = sa.func.substr(s.normalized, 1, STRING_PREFIX)  # ix_string_search's expression
    rows = conn.execute(sa.select(s.normalized, sa.func.min(s.exact)).where(
        s.resource_type == "Location", s.param == "address-country",
        prefix.in_([t[:STRING_PREFIX] for t in texts])).group_by(s.normalized)).all()
    return {n: e for n, e in rows}


def facet_counts(conn: sa.Connection, ctx: Context, request: SearchRequest,
                 ids: Any) -> dict[str, list[Bucket]]:
    """Facet name -> buckets (largest first); ``ids`` a SELECT of the matching ids, or None for every study."""
    assert request.resource_type is not None
    out: dict[str, list[Bucket]] = {}
    for facet in FACETS:
        buckets = _buckets(conn, facet, request.resource_type, ids)
        if facet.by_text:
            spelled = _country_spellings(conn, [b.value for b in buckets])
            buckets = [Bucket(b.value, b.count, spelled.get(b.value)) for b in buckets]
        out[facet.name] = sorted(buckets, key=lambda b: (-b.count, b.value))
    return out
