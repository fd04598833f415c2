"""Keyset paging, sorting and _total (https://hl7.org/fhir/R4/search.html#paging, #sort, #total)."""
from __future__ import annotations

import base64
import json

import pytest

from fhirtrial.errors import InvalidRequest
from fhirtrial.store.search import plan, query
from fhirtrial.store.sql import SQLRepository

from .conftest import ids, page, request


def loc(i: int, name: str, lat: float = 0.0) -> dict:
    return {"resourceType": "Location", "id": f"l{i:04d}", "name": name, "position": {"latitude": lat, "longitude": 1.0}}


def walk(repo: SQLRepository, query: str, inserter=None) -> list[str]:
    seen: list[str] = []
    p = page(repo, "Location", query)
    n = 0
    while True:
        seen += [m.id for m in p.matches]
        if p.next_cursor is None:
            return seen
        if inserter is not None:
            inserter(n)
        n += 1
        p = page(repo, "Location", query, p.next_cursor)


@pytest.mark.parametrize("sort", ["", "&_sort=name", "&_sort=-name", "&_sort=name,-_id", "&_sort=-_lastUpdated",
                                  "&_sort=address-city,-name", "&_sort=_id", "&_sort=status"])
def test_every_match_exactly_once_in_order(repo: SQLRepository, sort: str) -> None:
    with repo.unit_of_work() as uow:
        for i in range(53):
            body = loc(i, f"site {i % 7}", float(i % 5))
            if i % 9 == 0:
                del body["name"]  # resources without a sort value come last
            if i % 4 == 0:
                body["status"] = "active"
            uow.update("Location", body["id"], body)
    all_ids = ids(repo, "Location", "_count=1000" + sort)
    assert len(all_ids) == 53
    assert walk(repo, "_count=5" + sort) == all_ids
    if sort == "&_sort=name":
        names = [m.resource().get("name") for m in page(repo, "Location", "_count=1000" + sort).matches]
        assert names == sorted(n for n in names if n) + [None] * names.count(None)


def test_pages_stay_correct_while_inserting(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        for i in range(0, 60, 2):
            uow.update("Location", f"l{i:04d}", loc(i, f"n{i:04d}"))
    before = set(ids(repo, "Location", "_count=1000"))

    def insert(n: int) -> None:
        with repo.unit_of_work() as uow:
            i = 2 * n + 1
            uow.update("Location", f"l{i:04d}", loc(i, f"n{i:04d}"))

    for sort in ("", "&_sort=name"):
        seen = walk(repo, "_count=4" + sort, insert if not sort else None)
        assert len(seen) == len(set(seen))
        assert before <= set(seen)
    # pages by name with inserts before, inside and after the walked range: no repeats, nothing old lost
    seen = walk(repo, "_count=4&_sort=name", lambda n: insert(40 + n))
    assert len(seen) == len(set(seen)) and before <= set(seen)
    assert seen == sorted(seen)  # ids follow names here


@pytest.mark.parametrize("q", ["_count=5&_sort=name", "_count=5&name=n",
                               "_count=5&status=|active"])  # sorted; the driver's id list; streamed (SQLite)
def test_previous_cursor_returns_the_previous_page(repo: SQLRepository, q: str) -> None:
    with repo.unit_of_work() as uow:
        for i in range(12):
            uow.update("Location", f"l{i:04d}", {**loc(i, f"n{11 - i:02d}"), "status": "active"})
    first = page(repo, "Location", q)
    second = page(repo, "Location", q, first.next_cursor)
    assert first.previous_cursor is None and second.previous_cursor is not None
    back = page(repo, "Location", q, second.previous_cursor)
    assert [m.id for m in back.matches] == [m.id for m in first.matches]
    third = page(repo, "Location", q, second.next_cursor)
    assert len(third.matches) == 2 and third.next_cursor is None
    again = page(repo, "Location", q, third.previous_cursor)
    assert [m.id for m in again.matches] == [m.id for m in second.matches]


def test_cursor_of_another_search_or_garbage_is_refused(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        for i in range(5):
            uow.update("Location", f"l{i:04d}", loc(i, "x"))
    p = page(repo, "Location", "_count=2&name=x")
    with pytest.raises(InvalidRequest):
        page(repo, "Location", "_count=2&name=y", p.next_cursor)
    for junk in ("abc", "e30", "' OR 1=1 --", p.next_cursor[:-3]):
        with pytest.raises(InvalidRequest):
            page(repo, "Location", "_count=2&name=x", junk)
    assert ids(repo, "Location", "_count=3&name=x", p.next_cursor) == ["l0002", "l0003", "l0004"]  # _count may change
    # the tie-break of another order (a pk where the search orders by id, or the reverse): refused, not compared
    raw = json.loads(base64.urlsafe_b64decode(p.next_cursor + "=" * (-len(p.next_cursor) % 4)))
    raw["k"][-1] = 7 if isinstance(raw["k"][-1], str) else "l0002"
    flipped = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    with pytest.raises(InvalidRequest):
        page(repo, "Location", "_count=2&name=x", flipped)


def test_totals(repo: SQLRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    with repo.unit_of_work() as uow:
        for i in range(30):
            uow.update("Location", f"l{i:04d}", loc(i, "alpha" if i % 3 else "beta"))  # name=a: "alpha"
    assert page(repo, "Location", "name=a").total == 20  # default: the first page holds everything
    first = page(repo, "Location", "name=a&_count=5")
    assert first.total == 20  # default: a count bounded by TOTAL_CAP, on the first page
    assert page(repo, "Location", "name=a&_count=5", first.next_cursor).total == 20  # carried, not recounted
    monkeypatch.setattr(query, "TOTAL_CAP", 10)
    monkeypatch.setattr(query, "PG_TOTAL_CAP", 10)
    # one driving filter: its index rows counted (no cap: they are read from the index alone); PostgreSQL plans
    # a driver only for the id order (sort.by_id), which a string prefix does not give: a capped count there
    assert page(repo, "Location", "name=a&_count=5").total == (None if repo.postgres else 20)
    # a count through the resource rows (two filters) is capped: more than the cap, left out
    assert page(repo, "Location", "name=a&_id:not=zz&_count=5").total is None
    if not repo.postgres:
        monkeypatch.setattr(plan, "BROAD_ROWS", 5)  # every filter broad: a scan that stops early, no count
        assert page(repo, "Location", "name=a&_count=5").total is None
        assert page(repo, "Location", "name=a&_count=5&_total=accurate").total == 20
        assert page(repo, "Location", "name=a&_count=50").total == 20  # the first page holds everything
        monkeypatch.setattr(plan, "BROAD_ROWS", 20_000)
    # full text: a count would be a second pass over every hit; none by default, one on request
    assert page(repo, "Location", "_content=alpha&_count=5").total is None
    assert page(repo, "Location", "_content=alpha&_count=5&_total=accurate").total == 20
    p = page(repo, "Location", "name=a&_count=50")
    assert p.total == 20 and p.next_cursor is None
    assert page(repo, "Location", "name=a&_count=5&_total=none").total is None
    assert page(repo, "Location", "name=a&_count=5&_total=accurate").total == 20
    est = page(repo, "Location", "name=a&_count=5&_total=estimate").total
    assert est is not None and est >= 0
    counted = repo.search(request("Location", "name=a&_summary=count"))
    assert counted.total == 20 and counted.matches == []
    zero = page(repo, "Location", "_count=0&_total=accurate")
    assert zero.matches == [] and zero.total == 30


def _condition(code: str, display: str) -> dict:
    return {"coding": [{"system": "http://example.org/c", "code": code, "display": display}]}


def test_a_resource_with_two_matching_rows_is_one_match(repo: SQLRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resource whose index rows match twice (one code under two displays; two ORed values) is listed and
    counted once, whether the page is streamed from the driving index or not; the default total follows the
    plan (query._total)."""
    with repo.unit_of_work() as uow:
        for i in range(6):
            twice = [_condition("c1", "one"), _condition("c1", "uno"), _condition("c2", "two")]
            uow.update("ResearchStudy", f"s{i}", {"resourceType": "ResearchStudy", "id": f"s{i}",
                                                  "status": "active" if i < 4 else "completed",
                                                  "condition": twice if i % 2 == 0 else [_condition("c2", "two")]})

    def every(q: str) -> tuple[list[str], int | None]:
        p = page(repo, "ResearchStudy", q)
        found, total = [m.id for m in p.matches], p.total
        while p.next_cursor is not None:
            p = page(repo, "ResearchStudy", q, p.next_cursor)
            found += [m.id for m in p.matches]
        return found, total

    cases = [("condition=http://example.org/c|c1", ["s0", "s2", "s4"]),
             ("condition=c1,c2", [f"s{i}" for i in range(6)]),
             ("condition=c1&status=active", ["s0", "s2"]),
             ("condition=c1&status=active&_sort=-_lastUpdated", ["s2", "s0"])]
    for q, expected in cases:
        found, total = every(q + "&_count=1")
        assert found == expected, q  # ids in insertion order: pk and id order agree
        assert total == len(expected), q
    # a driver of more than COUNT_ROWS rows, each to be probed: no default count
    monkeypatch.setattr(plan, "COUNT_ROWS", 2)
    assert every("condition=http://example.org/c|c1&status=active&_count=1") == (["s0", "s2"], None)
    assert every("condition=c1,c2&_count=1")[1] == 6  # one filter: its index rows counted
    assert page(repo, "ResearchStudy", "condition=c1&status=active&_count=1&_total=accurate").total == 2


def test_system_search_over_types(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Location", "l0001", loc(1, "x"))
        uow.update("Organization", "o1", {"resourceType": "Organization", "id": "o1", "name": "x"})
        uow.update("Patient", "p1", {"resourceType": "Patient", "id": "p1"})
    assert sorted(ids(repo, None, "_type=Location,Organization")) == ["l0001", "o1"]
    assert sorted(ids(repo, None, "_type=Location,Organization&name=x")) == ["l0001", "o1"]
    assert sorted(ids(repo, None, "_id=l0001,p1")) == ["l0001", "p1"]
    assert sorted(ids(repo, None, "_type=Patient,Organization&_id=o1,l0001")) == ["o1"]
