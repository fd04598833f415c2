"""The benchmark's query shapes read the index tables through their indexes, never by a full scan
(SQLite EXPLAIN QUERY PLAN; PostgreSQL EXPLAIN with sequential scans discouraged, as at scale)."""
from __future__ import annotations

import pytest

from fhirtrial.store.search import explain, paging, plan
from fhirtrial.store.search.context import Context
from fhirtrial.store.search.plan import plan_filters, streams
from fhirtrial.store.search.predicate import owner_ordered
from fhirtrial.store.sql import SQLRepository

from .conftest import ids, request

QUERIES = [
    "condition=D000006526&recruitment=RECRUITING&phase=phase-2",
    "eligible-age=30&eligible-sex=female",
    "site.near=40|-75|50|km",
    "site.address-country=Canada",
    "_content=cancer",
    "title=effect&_sort=-date",
    "_has:ResearchStudy:partof:status=completed",
]


@pytest.mark.parametrize("query", QUERIES)
def test_plans_use_indexes(corpus: SQLRepository, query: str) -> None:
    req = request("ResearchStudy", query)
    engine = corpus._search
    ctx = Context(corpus.postgres)
    with corpus.engine.connect() as conn:
        plan_filters(conn, ctx, req)
        select, terms = engine._matches_select(ctx, req)
        stmt = select.order_by(*paging.order_by(terms, False)).limit(21)
        if corpus.postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
        plan = explain(conn, stmt)
    if corpus.postgres:
        assert "Index" in plan
        for table in ("idx_token", "idx_string", "idx_date", "idx_number", "idx_reference", "idx_position"):
            assert f"Seq Scan on {table}" not in plan, plan
    else:
        lines = plan.splitlines()
        assert not [line for line in lines if line.startswith("SCAN idx_")], plan
        assert any("INDEX ix_" in line for line in lines), plan


@pytest.mark.parametrize("query", [
    "status=active,completed,recruiting&category=INTERVENTIONAL&phase=phase-2,phase-3&_sort=-date",
    "eligible-sex=female&healthy-volunteers=false&status=completed,active&_sort=_lastUpdated",
    "condition:text=dermatitis,diabetes,alcohol&status=completed&_sort=-date",
])
def test_a_sieve_changes_the_plan_not_the_answer(corpus: SQLRepository, query: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite, sorted searches: the second most selective filter checked as a materialised IN list on the
    driver's rows (plan.plan_filters) finds exactly what probing each row finds, and what the streamed default
    order finds."""
    req = request("ResearchStudy", query + "&_count=500")
    sieved = [m.id for m in corpus.search(req).matches]
    ctx = Context(corpus.postgres)
    with corpus.engine.connect() as conn:
        plan_filters(conn, ctx, req)
    recounted = sieved
    if not corpus.postgres:  # the driver under the cap, the next filter over it: counted further, then sieved
        monkeypatch.setattr(plan, "BROAD_ROWS", ctx.counts[ctx.driver] + 1)
        monkeypatch.setattr(plan, "SIEVE_RATIO", 1000)
        big = Context(False)
        with corpus.engine.connect() as conn:
            plan_filters(conn, big, req)
        assert big.sieve is not None and big.counts[big.sieve] > ctx.counts[ctx.driver] + 1, query  # recounted
        recounted = [m.id for m in corpus.search(req).matches]
        monkeypatch.setattr(plan, "BROAD_ROWS", 20_000)
    monkeypatch.setattr(plan, "SIEVE_RATIO", 0)
    probed = [m.id for m in corpus.search(req).matches]
    assert sieved == probed == recounted and sieved, query
    unsorted = query.rsplit("&_sort=", 1)[0] + "&_count=500"
    assert sorted(ids(corpus, "ResearchStudy", unsorted)) == sorted(sieved)
    if not corpus.postgres:
        assert ctx.driver is not None and ctx.sieve is not None and ctx.sieve != ctx.driver


def test_a_filtered_page_is_read_in_the_driving_index_order(corpus: SQLRepository) -> None:
    """SQLite, default order: the page walks the driver's rows in id order, probes each and stops when full (no
    sort of every match): straight from the index range when it is in id order (system|code), else from the
    driver's ids read into a sorted list; with _sort every match is ordered."""
    if corpus.postgres:
        pytest.skip("SQLite plans")
    status = "|completed"  # a code: its rows have no system
    for query, first, sorted_all in ((f"status={status}&_id:not=zz", "SEARCH d USING COVERING INDEX", False),
                                     ("status=completed&_id:not=zz", "SEARCH r USING COVERING INDEX", False),
                                     (f"status={status}&_sort=-date", "SEARCH r USING COVERING INDEX", True)):
        req = request("ResearchStudy", query)
        ctx = Context(False)
        with corpus.engine.connect() as conn:
            plan_filters(conn, ctx, req)
            select, terms = corpus._search._matches_select(ctx, req)
            text = explain(conn, select.order_by(*paging.order_by(terms, False)).limit(21))
        assert streams(ctx, req) is not sorted_all, query
        assert text.startswith(first) and ("TEMP B-TREE" in text) is sorted_all, (query, text)
        found = ids(corpus, "ResearchStudy", query.split("&_sort")[0] + "&_count=500")
        assert found == sorted(found) and found, query


@pytest.mark.parametrize("query, ordered", [
    ("status=|completed", True), ("status=completed", False), ("condition=http://x|C1", True),
    ("identifier=|1", True), ("condition=C1,C2", False), ("condition:text=x", False), ("condition:not=http://x|C1", False),
    ("site=Location/l1", True), ("site:Location=l1", True), ("sponsor=http://elsewhere.org/Organization/o1", False),
    ("date=2020", False), ("title=x", False), ("site.name=x", False)])
def test_which_filters_come_in_id_order(query: str, ordered: bool) -> None:
    """Rows of one equality range of a search index ending with the owner come in id order (streamed pages)."""
    assert owner_ordered(request("ResearchStudy", query).filters[0]) is ordered
