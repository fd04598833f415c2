"""A SearchRequest as SQL, and the page, total and includes it produces (https://hl7.org/fhir/R4/search.html).

Matches are current, not deleted resources of the type(s) that satisfy every filter (ANDed; the values of one
filter ORed). Paging is keyset (paging.py); no OFFSET is used.

``_total`` (https://hl7.org/fhir/R4/search.html#total):
- ``accurate``: an exact COUNT on every page.
- ``estimate``: PostgreSQL: the planner's row estimate (no scan); SQLite: an exact COUNT.
- ``none``: no total.
- absent (the default): exact when the first page holds every match; none for full text (a count would be a
  second pass over every hit). Otherwise, for the default order (plan.py): with one counted filter, its distinct
  index rows (a covering index range, no resource read); none when the page stopped early and a count would read
  on through every row: a driving filter of more than COUNT_ROWS rows each to be probed, or on SQLite every
  filter broad. Else a COUNT bounded at TOTAL_CAP matches (PG_TOTAL_CAP on PostgreSQL). ``_count=0`` always
  counts. Found on the first page and carried in the cursors, so later pages cost no count; ``_total=accurate``
  or ``estimate`` always give one.
"""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

from ...errors import Issue
from ...search.distance import near_source
from ...search.facets import Bucket
from ...search.request import SearchRequest
from ..repository import Key, SearchPage, Visible
from ..schema import resource
from . import paging, plan
from .chain import chained_condition
from .context import Context
from .distance import distances
from .facets import facet_counts
from .fulltext import scores
from .include import resolve_includes
from .predicate import filter_condition, owner_ordered, row_selects
from .rows import body_column, stored
from .sort import Term, by_id, sort_terms

DEFAULT_COUNT = 20
# Largest total the default _total counts on a first page (HAPI-like bounded counting keeps broad searches cheap).
TOTAL_CAP = 10_000
# PostgreSQL counts whatever the filters, at ~10 us a match (SQLite's bounded counts are only of cheap plans): a
# default count of two broad filters up to 10,000 took 100 ms at 100k studies, against 2 ms for the page.
PG_TOTAL_CAP = 1_000
_NO_INDEX = sa.literal_column("''")
_ID_CHUNK = 500  # ids bound in one IN list


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
        probed = ctx.probe_order  # plan_filters: every correlated filter, fewest rows first
        if plan.streams(ctx, request):
            # the driver's ids (an IN list, read in order) are probed one by one until the page is full
            return conds + [chained_condition(ctx, request.filters[i], type_expr, r.id, r.pk, i in ctx.correlated)
                            for i in [ctx.driver, *plan.checks(ctx, request)]], type_expr
        for i, f in enumerate(request.filters):
            if i == ctx.driver and probed:
                # the sieve (a materialised IN list) first, then the probes, fewest rows first; the sieve's
                # column is wrapped (rid || '') so SQLite cannot turn it into the driving loop instead
                conds.append(filter_condition(ctx, f, type_expr, r.id, r.pk, probes=lambda rid: [
                    chained_condition(ctx, request.filters[p], type_expr, rid.concat(_NO_INDEX), None, False)
                    if p == ctx.sieve else chained_condition(ctx, request.filters[p], type_expr, rid, None, True)
                    for p in probed]))
            elif i == ctx.driver or i not in ctx.correlated or ctx.driver is None:
                conds.append(chained_condition(ctx, f, type_expr, r.id, r.pk, i in ctx.correlated))
        return conds, type_expr

    def _streamed_select(self, ctx: Context, request: SearchRequest) -> tuple[Any, list[Term]] | None:
        """The page read straight from the driving filter's index range, in its id order: each row is probed
        for the other filters before its resource row is read, and the read stops when the page is full. At
        500k studies a common condition has ~12,000 rows, and only the first ~1,500 are read for a page of 20
        (GROUP BY drops a resource's second matching row without a sort: the range is in id order). None when
        its rows are not in id order (predicate.owner_ordered): then GROUP BY would sort them all first."""
        assert request.resource_type is not None and ctx.driver is not None
        if not owner_ordered(request.filters[ctx.driver]):
            return None
        selects = row_selects(ctx, request.filters[ctx.driver], request.resource_type)
        table, cond = selects[0]
        d = table.alias("d")
        R = resource.alias("r")
        r = R.c
        rid = d.c.resource_id
        conds = [ClauseAdapter(d).traverse(cond),
                 *(chained_condition(ctx, request.filters[i], request.resource_type, rid, r.pk, i in ctx.correlated)
                   for i in plan.checks(ctx, request)),
                 r.deleted.is_(False)]
        joined = d.join(R, sa.and_(r.resource_type == d.c.resource_type, r.id == rid))
        select = sa.select(r.pk, r.resource_type, r.id, r.version_id, r.last_updated, sa.literal(None).label("body"))
        # PostgreSQL groups only by what determines every selected column (r.pk does); SQLite keeps the index
        # order only when grouping by the indexed column alone
        group = (rid, r.pk) if self.postgres else (rid,)
        return select.select_from(joined).where(*conds).group_by(*group), [Term(rid, False, False)]

    def _matches_select(self, ctx: Context, request: SearchRequest) -> tuple[Any, list[Term]]:
        if plan.streams(ctx, request) and (streamed := self._streamed_select(ctx, request)) is not None:
            return streamed
        R = resource.alias("r")
        r = R.c
        conds, type_expr = self.conditions(ctx, request, r)
        terms = sort_terms(ctx, request, r, type_expr)
        # No body here: the sort may hold many rows; bodies are read for the page's rows only.
        base_cols = [r.pk, r.resource_type, r.id, r.version_id, r.last_updated, sa.literal(None).label("body")]
        if len(terms) == 1:  # the tie-break only
            return sa.select(*base_cols).where(*conds), terms
        inner = sa.select(*base_cols, *(t.expr.label(f"s{i}") for i, t in enumerate(terms[:-1]))).where(*conds)
        m = inner.subquery("m")
        outer_terms = [Term(m.c[f"s{i}"], t.descending, t.nullable) for i, t in enumerate(terms[:-1])]
        outer_terms.append(Term(m.c.id if by_id(ctx, request) else m.c.pk, False, False))
        cols = [m.c.pk, m.c.resource_type, m.c.id, m.c.version_id, m.c.last_updated, m.c.body,
                *(m.c[f"s{i}"] for i in range(len(terms) - 1))]
        return sa.select(*cols), outer_terms

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
    def facets(self, conn: sa.Connection, request: SearchRequest) -> tuple[int, dict[str, list[Bucket]]]:
        """The number of matches and their facet counts (search/facets.py), from the index tables."""
        assert request.resource_type is not None
        if not request.filters:
            r = resource.c
            total = sa.select(sa.func.count()).select_from(resource).where(
                r.resource_type == request.resource_type, r.deleted.is_(False))
            return facet_counts(conn, request.resource_type, None, total)
        ctx = Context(self.postgres)
        plan.plan_filters(conn, ctx, request)
        R = resource.alias("r")
        conds, _ = self.conditions(ctx, request, R.c)
        return facet_counts(conn, request.resource_type, sa.select(R.c.id).where(*conds), None)

    def find_ids(self, conn: sa.Connection, request: SearchRequest) -> list[str]:
        ctx = Context(self.postgres)
        plan.plan_filters(conn, ctx, request)
        return list(conn.execute(self.ids_select(request, ctx)).scalars())

    def search(self, conn: sa.Connection, request: SearchRequest, cursor_text: str | None = None,
               visible: Visible | None = None) -> SearchPage:
        ctx = Context(self.postgres)
        plan.plan_filters(conn, ctx, request)
        select, terms = self._matches_select(ctx, request)
        tie = 2 if by_id(ctx, request) else 0  # the row's id or pk column
        cursor = paging.decode(cursor_text, request, len(terms), str if tie else int) if cursor_text else None
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
            return (*row[6:6 + len(terms) - 1], row[tie])

        next_cursor = prev_cursor = None
        if rows and (more if not reverse else True):
            next_cursor = paging.encode(paging.Cursor("next", key(rows[-1]), fp, carried))
        if rows and (cursor is not None if not reverse else more):
            prev_cursor = paging.encode(paging.Cursor("prev", key(rows[0]), fp, carried))
        bodies = self._bodies(conn, [row[0] for row in rows])
        matches = [stored(t, i, vid, ts, bodies[pk]) for pk, t, i, vid, ts, _body, *_ in rows if pk in bodies]
        if visible is not None:
            matches = [m for m in matches if visible(m)]
        included = resolve_includes(conn, self.postgres, request.includes, [(m.resource_type, m.id) for m in matches],
                                    visible)
        notes = [Issue("warning", "incomplete", f"_include/_revinclude: {included.cut}", ("_include",))
                 ] if included.cut else []
        page = SearchPage(matches, included.resources, total, next_cursor, prev_cursor, notes)
        self._extras(conn, ctx, request, [(pk, t, i) for pk, t, i, *_ in rows if pk in bodies], page)
        return page

    def keys(self, conn: sa.Connection, request: SearchRequest, limit: int) -> tuple[list[Key], dict[str, float]]:
        """(id, version, lastUpdated) of the first ``limit`` matches in the search's order, no body read, and each
        one's distance in km (a near search): for callers that rank every match themselves (``$match``)."""
        ctx = Context(self.postgres)
        plan.plan_filters(conn, ctx, request)
        select, terms = self._matches_select(ctx, request)
        rows = conn.execute(select.order_by(*paging.order_by(terms, False)).limit(limit)).all()
        found = [Key(str(row[2]), int(row[3]), row[4]) for row in rows]
        src = near_source(request.filters) if request.resource_type is not None else None
        km: dict[str, float] = {}
        if src is not None and request.resource_type is not None:
            ids = [k.id for k in found]
            for start in range(0, len(ids), _ID_CHUNK):
                km.update(distances(conn, ctx, src, request.resource_type, ids[start:start + _ID_CHUNK]))
        return found, km

    def _extras(self, conn: sa.Connection, ctx: Context, request: SearchRequest, keys: list[tuple[int, str, str]],
                page: SearchPage) -> None:
        """Each match's distance (a near search) and full-text relevance, for Bundle.entry.search."""
        if not keys:
            return
        src = near_source(request.filters) if request.resource_type is not None else None
        if src is not None:
            found = distances(conn, ctx, src, request.resource_type, [i for _, _, i in keys])
            page.distances.update({(t, i): found[i] for _, t, i in keys if i in found})
        text = next((f for f in request.filters if f.type == "fulltext" and not f.chain), None)
        if text is not None:
            relevance = scores(conn, ctx, text, [pk for pk, _, _ in keys])
            page.scores.update({(t, i): relevance[pk] for pk, t, i in keys if pk in relevance})

    def _bodies(self, conn: sa.Connection, pks: list[int]) -> dict[int, str]:
        if not pks:
            return {}
        r = resource.c
        return dict(conn.execute(sa.select(r.pk, body_column(self.postgres)).where(r.pk.in_(pks))).all())

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
        if count > 0 and any(f.type == "fulltext" for f in request.filters):
            # full-text hits: a count is a second pass over every hit (on PostgreSQL a recheck of each stored
            # tsvector), on SQLite past a page that stopped early (_count=0 asks for the count alone)
            return None
        if count > 0 and ctx.driver is not None and len(request.filters) == 1:
            # one filter: its index rows are the matches (rows exist for current resources only)
            return self._index_count(conn, ctx, request)
        if count > 0 and ((ctx.scan and request.filters and not self.postgres)
                          or (ctx.driver is not None and ctx.counts[ctx.driver] > plan.COUNT_ROWS)):
            # the page stopped early in index order; a count would read on through every driving row and probe
            # each (_count=0 asks for the count alone)
            return None
        # Clients (fhirclient, fhirpy's count()) read the first page's total: count, but never past the cap.
        cap = PG_TOTAL_CAP if self.postgres else TOTAL_CAP
        bounded = self._count(conn, request, ctx, cap + 1)
        return bounded if bounded <= cap else None

    def _index_count(self, conn: sa.Connection, ctx: Context, request: SearchRequest) -> int:
        """Matches of a search with one simple filter, from its index rows alone (covering index, no resource
        row read): distinct resource ids, since several values may match one resource."""
        selects = [sa.select(t.c.resource_id).where(cond)
                   for t, cond in row_selects(ctx, request.filters[0], request.resource_type)]
        ids = sa.union(*selects) if len(selects) > 1 else selects[0].distinct()
        return int(conn.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one())

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


__all__ = ["DEFAULT_COUNT", "SearchEngine", "explain"]
