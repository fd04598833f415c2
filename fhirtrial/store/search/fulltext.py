"""_text / _content (https://hl7.org/fhir/R4/search.html#text): SQLite FTS5 and PostgreSQL tsvector.

Each value is a boolean query (fhirtrial/search/textquery.py: words, phrases, AND, OR, NOT/-, parentheses);
comma-separated values are ORed. Client text never reaches a query language as syntax: on SQLite every word is
written inside double quotes of an FTS5 expression built from the parsed tree; on PostgreSQL each word or phrase
is a bound parameter of ``plainto_tsquery`` / ``phraseto_tsquery('english', ...)`` combined with
``tsquery_and`` / ``tsquery_or`` / ``tsquery_not``. Relevance: FTS5 ``bm25`` (weights on the searched column),
PostgreSQL ``ts_rank``; reported as ``s / (1 + s)`` (0 to 1, higher is better) in ``entry.search.score``.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import Filter, MissingValue, TextQueryValue
from ...search.textquery import And, Node, Not, Or, Words, fts5_query as _fts5
from ..schema import FTS_TABLE, resource
from .context import Context, bound

_COLUMNS = {"_text": "text", "_content": "content"}
_ENGLISH = sa.literal_column("'english'")
DOUBLE = sa.Float(precision=53)


def _queries(values: tuple[Any, ...]) -> list[Node]:
    return [v.query for v in values if isinstance(v, TextQueryValue)]


def fts5_query(values: tuple[Any, ...], column: str) -> str | None:
    """The FTS5 MATCH expression for the values (ORed) on one column; None when there is none."""
    nodes = _queries(values)
    if not nodes:
        return None
    node = nodes[0] if len(nodes) == 1 else Or(tuple(nodes))
    return f"{column} : ({_fts5(node)})"


def _pg(node: Node) -> Any:
    if isinstance(node, Words):
        if len(node.words) == 1:
            return sa.func.plainto_tsquery(_ENGLISH, bound(node.words[0], sa.Text))
        return sa.func.phraseto_tsquery(_ENGLISH, bound(" ".join(node.words), sa.Text))
    if isinstance(node, Not):
        return sa.func.tsquery_not(_pg(node.item))
    combine = sa.func.tsquery_and if isinstance(node, And) else sa.func.tsquery_or
    out = _pg(node.items[0])
    for item in node.items[1:]:
        out = combine(out, _pg(item))
    return out


def _pg_query(values: tuple[Any, ...]) -> Any:
    nodes = _queries(values)
    return _pg(nodes[0] if len(nodes) == 1 else Or(tuple(nodes)))


_fts = sa.table(FTS_TABLE, sa.column("rowid"), sa.column("resource_pk"), sa.column("text"), sa.column("content"))


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


def _match(query: str) -> Any:
    return sa.literal_column(FTS_TABLE).op("MATCH")(bound(query, sa.Text))


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
    return sa.select(_fts.c.rowid).where(_match(query))


def _rank(ctx: Context, column: str, values: tuple[Any, ...]) -> Any:
    """Relevance of the current FTS row: lower is better (bm25 is negative; ts_rank negated)."""
    if ctx.postgres:
        # ts_rank is a float4; as float8 its value survives a paging cursor exactly (the text form of a float4
        # reads back as another double, and the next page would start at the same row again)
        return -sa.cast(sa.func.ts_rank(_fts.c[column], _pg_query(values)), DOUBLE)
    weights = (1.0, 0.0) if column == "text" else (0.0, 1.0)
    return sa.func.bm25(sa.literal_column(FTS_TABLE), *weights, type_=sa.Float)


def score_expression(ctx: Context, f: Filter, pk: Any) -> Any:
    """Relevance rank of the resource with ``pk`` for the filter: lower is better (``_sort=_score`` = best first)."""
    column = _COLUMNS.get(f.param, "content")
    if f.values and isinstance(f.values[0], MissingValue):
        return sa.literal(0.0)
    rank = _rank(ctx, column, f.values)
    if ctx.postgres:
        return sa.select(rank).where(_fts.c.resource_pk == pk).scalar_subquery()
    query = fts5_query(f.values, column)
    if query is None:
        return sa.literal(0.0)
    # The matches ranked once, in a materialized CTE that SQLite looks up by pk (an automatic index). A subquery
    # correlated on the row would run the MATCH again for every candidate: at 51k studies a common word sorted by
    # _score took 29 s that way, against well under a second ranked once.
    ranked = sa.select(_fts.c.rowid.label("pk"), rank.label("rank")).where(_match(query)).cte().prefix_with(
        "MATERIALIZED")
    return sa.select(ranked.c.rank).where(ranked.c.pk == pk).scalar_subquery()


def scores(conn: sa.Connection, ctx: Context, f: Filter, pks: list[int]) -> dict[int, float]:
    """Resource pk -> relevance in [0, 1) (higher is better) for the pks of one page."""
    column = _COLUMNS.get(f.param, "content")
    if not pks or (f.values and isinstance(f.values[0], MissingValue)):
        return {}
    rank = _rank(ctx, column, f.values)
    if ctx.postgres:
        query = sa.select(_fts.c.resource_pk, rank).where(_fts.c.resource_pk.in_(pks))
    else:
        text = fts5_query(f.values, column)
        if text is None:
            return {}
        query = sa.select(_fts.c.rowid, rank).where(_match(text), _fts.c.rowid.in_(pks))
    out = {}
    for pk, value in conn.execute(query):
        relevance = max(0.0, -float(value or 0.0))
        out[int(pk)] = round(relevance / (1.0 + relevance), 6)
    return out
