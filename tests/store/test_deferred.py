"""Search indexes set aside for a large import and built again: https://www.sqlite.org/lang_createindex.html."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fhirtrial.search.parser import parse_search
from fhirtrial.store import deferred
from fhirtrial.store.sql import SQLRepository


def _index_ddl(repo: SQLRepository) -> dict[str, str]:
    with repo.engine.connect() as conn:
        if repo.postgres:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relkind = 'i' AND n.nspname = current_schema()").all()
        else:
            rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all()
    return {name: ddl for name, ddl in rows}


def _foreign_keys(repo: SQLRepository) -> dict[str, str]:
    with repo.engine.connect() as conn:
        if repo.postgres:
            rows = conn.exec_driver_sql("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                        "WHERE contype = 'f' AND conname NOT LIKE 'fk_export%%'").all()
        else:
            rows = [(f"{t}.{r[0]}", repr(r[2:5])) for t in ("idx_token", "resource_version")
                    for r in conn.exec_driver_sql(f"PRAGMA foreign_key_list({t})").all()]
    return {name: ddl for name, ddl in rows}


def _ids(repo: SQLRepository, query: str) -> list[str]:
    from urllib.parse import parse_qsl

    page = repo.search(parse_search("ResearchStudy", parse_qsl(query)))
    return sorted(m.id for m in page.matches)


def _study(rid: str, status: str, title: str) -> dict[str, Any]:
    return {"resourceType": "ResearchStudy", "id": rid, "status": status, "title": title,
            "identifier": [{"system": "https://clinicaltrials.gov", "value": rid}]}


def test_set_aside_searches_still_right_then_built_exactly_as_before(repo: SQLRepository) -> None:
    before = _index_ddl(repo)
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "a", _study("a", "active", "Aspirin in adults"))
    queries = ["status=active", "title=aspirin", "identifier=https://clinicaltrials.gov|b", "_lastUpdated=gt2000",
               "_content=aspirin"]
    expected = {q: _ids(repo, q) for q in queries}

    keys = _foreign_keys(repo)
    dropped = deferred.set_aside(repo.engine)
    assert sorted(dropped) == sorted(deferred.deferrable(repo.postgres))
    assert not set(dropped) & set(_index_ddl(repo))
    assert _foreign_keys(repo) == ({} if repo.postgres else keys)
    with repo.engine.connect() as conn:
        assert deferred.pending(conn) == sorted(dropped)
        assert deferred.worth_it(conn, 1)  # an unfinished large import is carried on the same way
    assert deferred.set_aside(repo.engine) == []  # nothing left to drop; the records stay
    # Writes while set aside: the owner indexes still replace a resource's rows exactly.
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "b", _study("b", "active", "Bupropion"))
        uow.update("ResearchStudy", "a", _study("a", "completed", "Aspirin in adults"))
    expected.update({"status=active": ["b"], "identifier=https://clinicaltrials.gov|b": ["b"],
                     "_lastUpdated=gt2000": ["a", "b"]})
    assert expected["_content=aspirin"] == ["a"]
    assert {q: _ids(repo, q) for q in queries} == expected

    seen: list[str] = []
    assert sorted(deferred.build(repo.engine, lambda name, _s: seen.append(name))) == sorted(dropped) == sorted(seen)
    assert _index_ddl(repo) == before
    assert _foreign_keys(repo) == keys
    with repo.engine.connect() as conn:  # the planner got statistics, and they were kept
        if repo.postgres:
            assert conn.exec_driver_sql("SELECT last_analyze FROM pg_stat_user_tables "
                                        "WHERE relname = 'resource'").scalar_one() is not None
        else:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'resource'").scalar_one()
    with repo.engine.connect() as conn:
        assert deferred.pending(conn) == []
    assert {q: _ids(repo, q) for q in queries} == expected
    assert deferred.build(repo.engine) == []


def test_worth_it_only_for_large_inputs_at_least_the_size_of_the_store(repo: SQLRepository) -> None:
    with repo.engine.connect() as conn:
        assert not deferred.worth_it(conn, deferred.MIN_STUDIES - 1)
        assert deferred.worth_it(conn, deferred.MIN_STUDIES)
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "a", _study("a", "active", "A"))
    with repo.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM resource")).scalar_one()
        assert stored == 1 and deferred.worth_it(conn, deferred.MIN_STUDIES)
