"""A SearchRequest as SQL, and the page, total and includes it produces (https://hl7.org/fhir/R4/search.html).

Matches are current, not deleted resources of the type(s) that satisfy every filter (ANDed; the values of one
filter ORed). Paging is keyset (paging.py); no OFFSET is used.

``_total`` (https://hl7.org/fhir/R4/search.html#total):
- ``accurate``: an exact COUNT on every page.
- ``estimate``: PostgreSQL: the planner's row estimate (no scan); SQLite: an exact COUNT.
- ``none``: no total.
- absent (the default): exact when the first page holds every match. Otherwise, on SQLite, exact when the
  plan has a counted driving filter (its page query enumerates every match to order them anyway, so the first
  page counts them in the same pass: ``count(*) OVER ()``); none when every filter is broad or the search is
  full text (those pages stop early in pk order, a count would read on through every row; ``_count=0`` still
  counts); else a COUNT bounded at TOTAL_CAP matches. On PostgreSQL a COUNT bounded at TOTAL_CAP matches. Found
  on the first page and carried in the cursors, so later pages cost no count; ``_total=accurate`` or
  ``estimate`` always give one.
"""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

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
# Largest total the default _total counts on a first page (HAPI-like bounded counting keeps broad searches cheap).
TOTAL_CAP = 10_000
# SQLite: a top-level filter whose index rows number at least this many is "broad" and probed per candidate
# (correlated EXISTS) instead of driving the query (IN list): see SearchEngine.plan_filters.
BROAD_ROWS = 20_000
_NO_INDEX = sa.literal_column("''")
SIEVE_RATIO = 5  # plan_filters: a filter with at most this many times the driver's rows becomes its sieve


def _rows(conn: sa.Connection, selects: list[tuple[sa.Table, Any]], limit: int) -> int:
    """Index rows of one filter, counted up to ``limit`` (a covering index range: cheap)."""
    rows = 0
    for table, cond in selects:
        capped = sa.select(sa.literal(1)).select_from(table).where(cond).limit(limit).subquery()
        rows += int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return rows


class SearchEngine:
    """Stateless translator; one per repository."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    # -- building --------------------------------------------------------------------------------------------
    def plan_filters(self, conn: sa.Connection, ctx: Context, request: SearchRequest) -> None:
        """SQLite picks join order from static statistics and cannot tell "recruiting" (30% of studies) from
        "condition=X" (0.1%). So each simple top-level filter's index rows are counted up to BROAD_ROWS (a
        covering index range, cheap). The filter with the fewest rows, if under the cap, drives the query
        (IN list); the others become correlated probes (EXISTS) of each candidate. When every filter is broad
        and the order is the default one, the query scans resources in pk order and stops when the page is
        full (``ctx.scan``). Negative filters (:not, :missing=true) are always probes. PostgreSQL's planner
        has real statistics and needs none of this."""
        ctx.correlated, ctx.scan, ctx.driver, ctx.sieve, ctx.probe_order, ctx.counts = set(), False, None, None, [], {}
        if self.postgres or request.resource_type is None:
            return
        from .predicate import is_negative, row_selects

        counts: dict[int, int] = {}
        selected: dict[int, list[tuple[sa.Table, Any]]] = {}
        drivers = 0  # filters left as IN lists that are not counted (chains, full text, _id, :missing)
        for i, f in enumerate(request.filters):
            if is_negative(f):
                ctx.correlated.add(i)
                continue
            if f.chain or f.type == "fulltext" or f.param == "_id" or (
                    f.values and type(f.values[0]).__name__ == "MissingValue"):
                drivers += 1
                continue
            try:
                selects = row_selects(ctx, f, request.resource_type)
            except Exception:  # noqa: BLE001 -- errors surface when the query itself is built
                drivers += 1
                continue
            selected[i] = selects
            counts[i] = _rows(conn, selects, BROAD_ROWS)
        order = sorted(counts, key=counts.__getitem__)
        driver = order[0] if order else None
        if drivers == 0 and (driver is None or counts[driver] >= BROAD_ROWS):
            driver = None
            ctx.scan = not request.sort
        ctx.correlated |= {i for i in counts if i != driver}
        ctx.driver = driver
        # The next smallest filter, when not much larger than the driver, is read once into a temporary index
        # and checked against each driving row (a lookup in memory), instead of an index probe per row: at
        # registry scale a common condition drives ~10^4 rows and two probes each cost more than the search.
        if driver is not None and len(order) > 1:
            limit = SIEVE_RATIO * max(counts[driver], 1)
            second = order[1]
            if counts[second] >= BROAD_ROWS and limit > BROAD_ROWS:
                # a large driver: the next filter may still be small enough, count it further
                counts[second] = _rows(conn, selected[second], limit + 1)
            if counts[second] <= limit:
                ctx.sieve = second
        ctx.probe_order = [i for i in order if i != driver] + sorted(ctx.correlated - set(order))
        ctx.counts = counts

    def conditions(self, ctx: Context, request: SearchRequest, r: Any) -> tuple[list[Any], Any]:
        """WHERE conditions on the resource alias ``r`` and the expression giving each row's type."""
        conds: list[Any] = [r.deleted.is_(False)]
        if request.resource_type is not None and ctx.scan:
            # "+" keeps SQLite off the type index, so it walks the table in pk order (the ORDER BY) and stops
            # at the LIMIT instead of sorting every resource of the type.
            conds.append(sa.text("+r.resource_type = :scan_type").bindparams(
                sa.bindparam("scan_type", request.resource_type, type_=sa.String)))
            type_expr: Any = request.resource_type
        elif request.resource_type is not None:
            conds.append(r.resource_type == request.resource_type)
            type_expr: Any = request.resource_type
        else:
            if request.types:
                conds.append(r.resource_type.in_(list(request.types)))
            type_expr = r.resource_type
        probed = ctx.probe_order  # plan_filters: every correlated filter, fewest rows first
        for i, f in enumerate(request.filters):
            if i == ctx.driver and probed:
                from .predicate import filter_condition

                # the sieve (a materialised IN list) first, then the probes, fewest rows first; the sieve's
                # column is wrapped (rid || '') so SQLite cannot turn it into the driving loop instead
                conds.append(filter_condition(ctx, f, type_expr, r.id, r.pk, probes=lambda rid: [
                    chained_condition(ctx, request.filters[p], type_expr, rid.concat(_NO_INDEX), None, False)
                    if p == ctx.sieve else chained_condition(ctx, request.filters[p], type_expr, rid, None, True)
                    for p in probed]))
            elif i == ctx.driver or i not in ctx.correlated or ctx.driver is None:
                conds.append(chained_condition(ctx, f, type_expr, r.id, r.pk, i in ctx.correlated))
        return conds, type_expr

    def _matches_select(self, ctx: Context, request: SearchRequest) -> tuple[Any, list[Term], Any]:
        R = resource.alias("r")
        r = R.c
        conds, type_expr = self.conditions(ctx, request, r)
        terms = sort_terms(ctx, request, r, type_expr)
        # No body here: the sort may hold many rows; bodies are read for the page's rows only.
        base_cols = [r.pk, r.resource_type, r.id, r.version_id, r.last_updated, sa.literal(None).label("body")]
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
        ctx = Context(self.postgres)
        self.plan_filters(conn, ctx, request)
        return list(conn.execute(self.ids_select(request, ctx)).scalars())

    def search(self, conn: sa.Connection, request: SearchRequest, cursor_text: str | None = None) -> SearchPage:
        ctx = Context(self.postgres)
        self.plan_filters(conn, ctx, request)
        select, terms, _ = self._matches_select(ctx, request)
        cursor = paging.decode(cursor_text, request, len(terms)) if cursor_text else None
        if request.summary == "count":
            return SearchPage([], [], self._count(conn, request, ctx), None, None)
        count = DEFAULT_COUNT if request.count is None else request.count
        reverse = cursor is not None and cursor.direction == "prev"
        counted_in_page = (not self.postgres and ctx.driver is not None and request.total is None
                           and cursor is None and count > 0)
        if counted_in_page:
            select = select.add_columns(sa.func.count().over().label("total_matches"))
        query = select.order_by(*paging.order_by(terms, reverse)).limit(count + 1)
        if cursor is not None:
            query = query.where(paging.after(terms, cursor.values, reverse))
        rows = conn.execute(query).all() if count > 0 else []
        in_page = int(rows[0][-1]) if counted_in_page and rows else None
        more = len(rows) > count
        rows = rows[:count]
        if reverse:
            rows.reverse()
        total = self._total(conn, request, ctx, cursor, rows, more, count, in_page)
        fp = paging.fingerprint(request)
        carried = total if request.total is None else None

        def key(row: Any) -> tuple[Any, ...]:
            return (*row[6:6 + len(terms) - 1], row[0])

        next_cursor = prev_cursor = None
        if rows and (more if not reverse else True):
            next_cursor = paging.encode(paging.Cursor("next", key(rows[-1]), fp, carried))
        if rows and (cursor is not None if not reverse else more):
            prev_cursor = paging.encode(paging.Cursor("prev", key(rows[0]), fp, carried))
        bodies = self._bodies(conn, [row[0] for row in rows])
        matches = [stored(t, i, vid, ts, bodies[pk]) for pk, t, i, vid, ts, _body, *_ in rows if pk in bodies]
        included = resolve_includes(conn, self.postgres, request.includes, [(m.resource_type, m.id) for m in matches])
        return SearchPage(matches, included, total, next_cursor, prev_cursor)

    def _bodies(self, conn: sa.Connection, pks: list[int]) -> dict[int, str]:
        if not pks:
            return {}
        r = resource.c
        return dict(conn.execute(sa.select(r.pk, body_column(self.postgres)).where(r.pk.in_(pks))).all())

    def _count(self, conn: sa.Connection, request: SearchRequest, ctx: Context, limit: int | None = None) -> int:
        return int(conn.execute(self.count_select(request, limit, ctx)).scalar_one())

    def _total(self, conn: sa.Connection, request: SearchRequest, ctx: Context, cursor: paging.Cursor | None,
               rows: list[Any], more: bool, count: int, in_page: int | None = None) -> int | None:
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
        if in_page is not None:
            return in_page
        if not self.postgres and count > 0 and (
                (ctx.scan and request.filters) or any(f.type == "fulltext" for f in request.filters)):
            # a scan stopping early, or full-text hits read in pk order and stopping early: counting would go
            # on through every row (_count=0 asks for the count alone)
            return None
        # Clients (fhirclient, fhirpy's count()) read the first page's total: count, but never past the cap.
        bounded = self._count(conn, request, ctx, TOTAL_CAP + 1)
        return bounded if bounded <= TOTAL_CAP else None

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
