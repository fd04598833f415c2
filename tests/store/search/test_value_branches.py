"""Several values of one parameter keep the param outside their OR, so the index narrows by (type, param),
https://www.sqlite.org/optoverview.html#or_optimizations."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from fhirtrial.search.parser import parse_search
from fhirtrial.store.search import explain, paging
from fhirtrial.store.search.context import Context
from fhirtrial.store.search.plan import plan_filters
from fhirtrial.store.search.predicate import row_selects


def _plan(repo: Any, query: str) -> str:
    req = parse_search("ResearchStudy", parse_qsl(query), strict=True)
    ctx = Context(repo.postgres)
    with repo.engine.connect() as conn:
        plan_filters(conn, ctx, req)
        select, terms = repo._search._matches_select(ctx, req)
        return explain(conn, select.order_by(*paging.order_by(terms, False)).limit(21))


def test_one_param_condition_per_table() -> None:
    req = parse_search("ResearchStudy", parse_qsl("condition:text=asthma,copd,emphysema"), strict=True)
    [(table, cond)] = row_selects(Context(False), req.filters[0], "ResearchStudy")
    sql = str(cond.compile(compile_kwargs={"literal_binds": True}))
    assert table.name == "idx_token" and sql.count("idx_token.param =") == 1, sql


def test_sqlite_narrows_the_index_by_param(repo: Any) -> None:
    if repo.postgres:
        pytest.skip("the plan text read here is SQLite's")
    plan = _plan(repo, "condition:text=asthma,copd,emphysema,bronchitis")
    assert "ix_token_search (resource_type=? AND param=?)" in plan, plan
