"""_text / _content (https://hl7.org/fhir/R4/search.html#text): SQLite FTS5 and PostgreSQL tsvector.

Client text never reaches the FTS5 query language as syntax: it is cut into word tokens, each quoted as a
phrase (so AND, OR, NEAR, column filters, * and quotes typed by a client are plain words or dropped).
PostgreSQL gets each value through ``plainto_tsquery('english', ...)``. Comma-separated values are ORed.
"""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from ...search.request import Filter, MissingValue, TextValue
from ..schema import FTS_TABLE, resource
from .context import Context, bound

_WORD = re.compile(r"\w+", re.UNICODE)
_COLUMNS = {"_text": "text", "_content": "content"}


def fts5_query(values: tuple[Any, ...], column: str) -> str | None:
    """An FTS5 query for the values (ORed), every word a quoted phrase; None when no word is left."""
    groups = []
    for v in values:
        words = _WORD.findall(v.text if isinstance(v, TextValue) else str(v))
        if words:
            groups.append("(" + " ".join(f'"{w}"' for w in words) + ")")
    if not groups:
        return None
    return f"{column} : (" + " OR ".join(groups) + ")"


_fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("resource_pk"), sa.column("text"), sa.column("content"))


def _pg_query(values: tuple[Any, ...]) -> Any:
    queries = [sa.func.plainto_tsquery(sa.literal_column("'english'"), bound(v.text, sa.Text)) for v in values
               if isinstance(v, TextValue)]
    query = queries[0]
    for q in queries[1:]:
        query = query.op("||")(q)
    return query


def _present_pks(ctx: Context, column: str) -> Any:
    """Pks of resources whose narrative (_text) or content (_content) has any word."""
    if ctx.postgres:
        return sa.select(_fts.c.resource_pk).where(sa.func.length(_fts.c[column]) > 0)
    return sa.select(_fts.c.rowid).where(_fts.c[column] != "")


def _missing_pks(ctx: Context, f: Filter, column: str) -> Any:
    wanted = {v.missing for v in f.values if isinstance(v, MissingValue)}
    present = _present_pks(ctx, column)
    if wanted == {True, False}:
        return sa.select(resource.c.pk)
    if True in wanted:
        return sa.select(resource.c.pk).where(resource.c.pk.not_in(present))
    return present


def fulltext_pks(ctx: Context, f: Filter) -> Any:
    """SELECT of the resource pks matching the filter."""
    column = _COLUMNS.get(f.param, "content")
    if f.values and isinstance(f.values[0], MissingValue):
        return _missing_pks(ctx, f, column)
    if ctx.postgres:
        # OFFSET keeps the subquery apart: the GIN index finds the matches first, whatever the planner
        # guesses about how common the words are.
        return sa.select(_fts.c.resource_pk).where(_fts.c[column].op("@@")(_pg_query(f.values))).offset(0)
    query = fts5_query(f.values, column)
    if query is None:
        return sa.select(_fts.c.rowid).where(sa.false())
    return sa.select(_fts.c.rowid).where(sa.literal_column(FTS_TABLE).op("MATCH")(bound(query, sa.Text)))


def score_expression(ctx: Context, f: Filter, pk: Any) -> Any:
    """Relevance rank of the resource with ``pk`` for the filter: lower is better (``_sort=_score`` = best first)."""
    column = _COLUMNS.get(f.param, "content")
    if ctx.postgres:
        rank = sa.func.ts_rank(_fts.c[column], _pg_query(f.values))
        return sa.select(-rank).where(_fts.c.resource_pk == pk).scalar_subquery()
    query = fts5_query(f.values, column)
    if query is None:
        return sa.literal(0.0)
    weights = (1.0, 0.0) if column == "text" else (0.0, 1.0)
    rank = sa.func.bm25(sa.literal_column(FTS_TABLE), *weights, type_=sa.Float)
    return (sa.select(rank).where(sa.literal_column(FTS_TABLE).op("MATCH")(bound(query, sa.Text)),
                                  _fts.c.rowid == pk).scalar_subquery())
