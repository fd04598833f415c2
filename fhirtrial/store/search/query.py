"""A SearchRequest as SQL, and the page, total and includes it produces (https://hl7.org/fhir/R4/search.html).

Matches are current, not deleted resources of the type(s) that satisfy every filter (ANDed; the values of one
filter ORed). Paging is keyset (paging.py); no OFFSET is used.

``_total`` (https://hl7.org/fhir/R4/search.html#total):
- ``accurate``: an exact COUNT on every page.
- ``estimate``: PostgreSQL: the planner's row estimate (no scan); SQLite: an exact COUNT.
- ``none``: no total.
- absent (the default): exact when it is cheap -- the first page holds every match, or a count bounded at
  ``BOUNDED_TOTAL`` rows finds fewer -- otherwise none. Found on the first page and carried in the cursors.
"""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from ...errors import InvalidRequest
from ...search.request import SearchRequest
from ..repository import SearchPage
from ..schema import resource
from . import paging
from .chain import chained_condition
from .context import Context
from .include import resolve_includes
from .rows import body_column, stored
from .sort import Term, sort_terms

DEFAULT_COUNT = 20
BOUNDED_TOTAL = 1000


class SearchEngine:
    """Stateless translator; one per repository."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    # -- building --------------------------------------------------------------------------------------------
    def conditions(self, ctx: Context, request: SearchRequest, r: Any) -> tuple[list[Any], Any]:
        """WHERE conditions on the resource alias ``r`` and the expression giving each row's type."""
        conds: list[Any] = [r.deleted.is_(False)]
        if request.resource_type is not None:
            conds.append(r.resource_type == request.resource_type)
            type_expr: Any = request.resource_type
        else:
            if request.types:
                conds.append(r.resource_type.in_(list(request.types)))
            type_expr = r.resource_type
        for f in request.filters:
            conds.append(chained_condition(ctx, f, type_expr, r.id, r.pk))
        return conds, type_expr

    def _matches_select(self, ctx: Context, request: SearchRequest) -> tuple[Any, list[Term], Any]:
        R = resource.alias("r")
        r = R.c
        conds, type_expr = self.conditions(ctx, request, r)
        terms = sort_terms(ctx, request, r, type_expr)
        base_cols = [r.pk, r.resource_type, r.id, r.version_id, r.last_updated, body_column(self.postgres, r)]
        if len(terms) == 1:  # pk order only
            return sa.select(*base_cols).where(*conds), terms, conds
        inner = sa.select(*base_cols, *(t.expr.label(f"s{i}") for i, t in enumerate(terms[:-1]))).where(*conds)
        m = inner.subquery("m")
        outer_terms = [Term(m.c[f"s{i}"], t.descending, t.nullable) for i, t in enumerate(terms[:-1])]
        outer_terms.append(Term(m.c.pk, False, False))
        cols = [m.c.pk, m.c.resource_type, m.c.id, m.c.version_id, m.c.last_updated, m.c.body,
                *(m.c[f"s{i}"] for i in range(len(terms) - 1))]
        return sa.select(*cols), outer_terms, conds

    def ids_select(self, request: SearchRequest, ctx: Context | None = None) -> Any:
        R = resource.alias("r")
        conds, _ = self.conditions(ctx or Context(self.postgres), request, R.c)
        return sa.select(R.c.id).where(*conds).order_by(R.c.pk)

    def count_select(self, request: SearchRequest, limit: int | None = None, ctx: Context | None = None) -> Any:
        R = resource.alias("r")
        conds, _ = self.conditions(ctx or Context(self.postgres), request, R.c)
        inner = sa.select(R.c.pk).where(*conds)
        if limit is not None:
            inner = inner.limit(limit)
        return sa.select(sa.func.count()).select_from(inner.subquery())

    # -- running ---------------------------------------------------------------------------------------------
    def find_ids(self, conn: sa.Connection, request: SearchRequest) -> list[str]:
        return list(conn.execute(self.ids_select(request)).scalars())

    def search(self, conn: sa.Connection, request: SearchRequest, cursor_text: str | None = None) -> SearchPage:
        ctx = Context(self.postgres)
        select, terms, _ = self._matches_select(ctx, request)
        cursor = paging.decode(cursor_text, request, len(terms)) if cursor_text else None
        if request.summary == "count":
            return SearchPage([], [], self._count(conn, request, ctx), None, None)
        count = DEFAULT_COUNT if request.count is None else request.count
        reverse = cursor is not None and cursor.direction == "prev"
        query = select.order_by(*paging.order_by(terms, reverse)).limit(count + 1)
        if cursor is not None:
            query = query.where(paging.after(terms, cursor.values, reverse))
        rows = conn.execute(query).all() if count > 0 else []
        more = len(rows) > count
        rows = rows[:count]
        if reverse:
            rows.reverse()
        total = self._total(conn, request, ctx, cursor, rows, more, count)
        fp = paging.fingerprint(request)
        carried = total if request.total is None else None

        def key(row: Any) -> tuple[Any, ...]:
            return (*row[6:6 + len(terms) - 1], row[0])

        next_cursor = prev_cursor = None
        if rows and (more if not reverse else True):
            next_cursor = paging.encode(paging.Cursor("next", key(rows[-1]), fp, carried))
        if rows and (cursor is not None if not reverse else more):
            prev_cursor = paging.encode(paging.Cursor("prev", key(rows[0]), fp, carried))
        matches = [stored(t, i, vid, ts, body) for _pk, t, i, vid, ts, body, *_ in rows]
        included = resolve_includes(conn, self.postgres, request.includes, [(m.resource_type, m.id) for m in matches])
        return SearchPage(matches, included, total, next_cursor, prev_cursor)

    def _count(self, conn: sa.Connection, request: SearchRequest, ctx: Context, limit: int | None = None) -> int:
        return int(conn.execute(self.count_select(request, limit, ctx)).scalar_one())

    def _total(self, conn: sa.Connection, request: SearchRequest, ctx: Context, cursor: paging.Cursor | None,
               rows: list[Any], more: bool, count: int) -> int | None:
        mode = request.total
        if mode == "none":
            return None
        if mode == "accurate" or (mode == "estimate" and not self.postgres):
            return self._count(conn, request, ctx)
        if mode == "estimate":
            return self.estimate(conn, request, ctx)
        if cursor is not None:
            return cursor.total
        if not more and count > 0:
            return len(rows)
        found = self._count(conn, request, ctx, BOUNDED_TOTAL + 1)
        return found if found <= BOUNDED_TOTAL else None

    def estimate(self, conn: sa.Connection, request: SearchRequest, ctx: Context) -> int:
        """PostgreSQL's estimate of the number of matches (EXPLAIN, nothing is scanned)."""
        R = resource.alias("r")
        conds, _ = self.conditions(ctx, request, R.c)
        compiled = sa.select(R.c.pk).where(*conds).compile(dialect=conn.dialect,
                                                           compile_kwargs={"render_postcompile": True})
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


def explain(conn: sa.Connection, query: Any) -> str:
    """The query plan (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN) of a compiled statement, for benchmarks."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars().all()
        return "\n".join(rows)
    params = compiled.construct_params()
    processors = compiled._bind_processors
    values = [processors[k](params[k]) if k in processors else params[k] for k in compiled.positiontup]
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(values)).all()
    return "\n".join(f"{'  ' * 0}{r[-1]}" for r in rows)


__all__ = ["BOUNDED_TOTAL", "DEFAULT_COUNT", "InvalidRequest", "SearchEngine", "explain"]
