"""Facet counts (``$facets``, fhirtrial/search/facets.py) straight from the token index: one statement, a GROUP BY
per facet over the parameter's rows (UNION ALL), restricted to the search's matches, found once (a materialised
CTE), or over every study when the search has no filter."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.facets import FACETS, Bucket, Facet
from ..schema import STRING_PREFIX, idx_string, idx_token


def _grouped(facet: Facet, resource_type: str, ids: Any) -> Any:
    t = idx_token.alias()
    value = t.c.text if facet.by_text else t.c.code
    conds = [t.c.resource_type == resource_type, t.c.param == facet.param, value.is_not(None),
             t.c.code.is_(None) if facet.by_text else
             t.c.system.is_(None) if facet.system is None else t.c.system == facet.system]
    if ids is not None:
        conds.append(t.c.resource_id.in_(sa.select(ids.c.id)))
    return sa.select(sa.literal(facet.name).label("facet"), value.label("value"),
                     sa.func.count(sa.distinct(t.c.resource_id)).label("n")).where(*conds).group_by(value)


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


def facet_counts(conn: sa.Connection, resource_type: str, matches: Any,
                 total: Any) -> tuple[int, dict[str, list[Bucket]]]:
    """(number of matches, facet name -> buckets, largest first). ``matches`` selects the matching ids (one
    column ``id``), or is None for every resource of the type; ``total`` counts them."""
    ids = matches.cte("m").prefix_with("MATERIALIZED") if matches is not None else None
    parts = [_grouped(f, resource_type, ids) for f in FACETS]
    count = sa.select(sa.func.count()).select_from(ids) if ids is not None else total
    parts.append(sa.select(sa.literal("").label("facet"), sa.literal(None).label("value"),
                           count.scalar_subquery().label("n")))
    found: dict[str, list[Bucket]] = {f.name: [] for f in FACETS}
    number = 0
    for name, value, n in conn.execute(sa.union_all(*parts)):
        if name == "":
            number = int(n)
        else:
            found[name].append(Bucket(value, int(n)))
    for facet in FACETS:
        buckets = found[facet.name]
        if facet.by_text:
            spelled = _country_spellings(conn, [b.value for b in buckets])
            buckets = [Bucket(b.value, b.count, spelled.get(b.value)) for b in buckets]
        found[facet.name] = sorted(buckets, key=lambda b: (-b.count, b.value))
    return number, found
