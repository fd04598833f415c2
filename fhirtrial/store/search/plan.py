"""Query planning for search (https://hl7.org/fhir/R4/search.html): which filter drives, which are probed.

SQLite picks join order from static statistics and cannot tell "recruiting" (10% of studies) from
"condition=X" (0.1%). So each simple top-level filter's index rows are counted, up to a cap (a covering index
range, cheap). The filter with the fewest rows, if under BROAD_ROWS, drives the query; the others become
correlated probes (EXISTS) of each candidate, fewest rows first. When every filter is broad and the order is the
default one, the query walks the type's resources in id order and stops when the page is full (``ctx.scan``).
Negative filters (:not, :missing=true) are always probes.

PostgreSQL's planner has real statistics (migration 0004) and orders the joins itself, but it cannot know how
many rows one condition code has when the code is not among its most common values (at 500k: 319 expected,
11,949 real): it then plans for a handful, reads them all and sorts. So for the default order it gets the same
plan as SQLite: a counted driver, read in id order until the page is full.

With the default order (sort.by_id) the page is read in the driver's id order and stops when full
(``streams``). With ``_sort`` every match is enumerated to be ordered; then the next most selective filter, when
not much larger than the driver, is read once into a temporary index (the *sieve*) and checked against each
driving row, instead of an index probe per row.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...search.request import MissingValue, SearchRequest
from .context import Context
from .predicate import is_negative, row_selects
from .sort import by_id

# A top-level filter whose index rows number at least this many is "broad": probed per candidate, never driving.
BROAD_ROWS = 20_000
# Default _total: counted when the driving filter has at most this many rows (each probed at ~2 us).
COUNT_ROWS = 4_000
SIEVE_RATIO = 5  # a filter with at most this many times the driver's rows becomes its sieve


def rows(conn: sa.Connection, selects: list[tuple[sa.Table, Any]], limit: int) -> int:
    """Index rows of one filter, counted up to ``limit`` (a covering index range: cheap)."""
    found = 0
    for table, cond in selects:
        capped = sa.select(sa.literal(1)).select_from(table).where(cond).limit(limit).subquery()
        found += int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return found


def streams(ctx: Context, request: SearchRequest) -> bool:
    """Whether the page is read in the driving filter's id order (and stops when full)."""
    return ctx.driver is not None and not request.sort and by_id(ctx, request)


def checks(ctx: Context, request: SearchRequest) -> list[int]:
    """The filters other than the driver, in the order a streamed page checks them: the uncounted ones (IN lists
    read once: chains, _id, :missing) first, then the probes, fewest rows first."""
    return [*(i for i in range(len(request.filters)) if i != ctx.driver and i not in ctx.correlated),
            *ctx.probe_order]


def plan_filters(conn: sa.Connection, ctx: Context, request: SearchRequest) -> None:
    """Fill the plan fields of ``ctx``: always on SQLite, on PostgreSQL for the id order (module docstring)."""
    ctx.correlated, ctx.scan, ctx.driver, ctx.sieve, ctx.probe_order, ctx.counts = set(), False, None, None, [], {}
    ordered = not request.sort and by_id(ctx, request)
    if request.resource_type is None or (ctx.postgres and not ordered):
        return
    counts: dict[int, int] = {}
    selected: dict[int, list[tuple[sa.Table, Any]]] = {}
    drivers = 0  # filters left as IN lists that are not counted (chains, full text, _id, :missing)
    for i, f in enumerate(request.filters):
        if is_negative(f):
            ctx.correlated.add(i)
            continue
        if f.chain or f.type == "fulltext" or f.param == "_id" or (f.values and isinstance(f.values[0], MissingValue)):
            drivers += 1
            continue
        try:
            selects = row_selects(ctx, f, request.resource_type)
        except Exception:  # noqa: BLE001 -- errors surface when the query itself is built
            drivers += 1
            continue
        selected[i] = selects
        # In id order no sieve is read, so a filter need only be counted as far as the smallest so far: past
        # that it can no longer drive.
        cap = min(BROAD_ROWS, min(counts.values(), default=BROAD_ROWS) + 1) if ordered else BROAD_ROWS
        counts[i] = rows(conn, selects, cap)
    order = sorted(counts, key=counts.__getitem__)
    driver = order[0] if order else None
    if drivers == 0 and (driver is None or counts[driver] >= BROAD_ROWS):
        driver = None
        ctx.scan = not request.sort
    ctx.correlated |= {i for i in counts if i != driver}
    ctx.driver = driver
    if driver is not None and len(order) > 1 and not ordered:
        limit = SIEVE_RATIO * max(counts[driver], 1)
        second = order[1]
        if counts[second] >= BROAD_ROWS and limit > BROAD_ROWS:
            # a large driver: the next filter may still be small enough, count it further
            counts[second] = rows(conn, selected[second], limit + 1)
        if counts[second] <= limit:
            ctx.sieve = second
    ctx.probe_order = [i for i in order if i != driver] + sorted(ctx.correlated - set(order))
    ctx.counts = counts


__all__ = ["BROAD_ROWS", "COUNT_ROWS", "SIEVE_RATIO", "checks", "plan_filters", "rows", "streams"]
