"""History at instance, type and system level with _since, _at, _count and cursors
(https://hl7.org/fhir/R4/http.html#history)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from fhirtrial.errors import InvalidRequest, NotFound
from fhirtrial.store import history
from fhirtrial.store.repository import HistoryPage
from fhirtrial.store.sql import SQLRepository

from .conftest import patient


def keys(page: HistoryPage) -> list[tuple[str, str, int]]:
    return [(e.resource_type, e.id, e.version_id) for e in page.entries]


def all_pages(repo: SQLRepository, rt: str | None, rid: str | None, count: int, **kw: object) -> list[tuple]:
    out: list[tuple] = []
    cursor = None
    while True:
        page = repo.history(rt, rid, count=count, cursor=cursor, **kw)  # type: ignore[arg-type]
        out += keys(page)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@pytest.fixture
def populated(repo: SQLRepository) -> list[tuple[str, str, int]]:
    """Patient a (3 versions, last a delete), Patient b (1), Group g (2); returns (type, id, version) in write
    order."""
    written = []
    with repo.unit_of_work() as uow:
        for rt, rid, body in [("Patient", "a", patient("A1")), ("Patient", "b", patient("B")),
                              ("Group", "g", {"resourceType": "Group", "type": "person", "actual": True}),
                              ("Patient", "a", patient("A2"))]:
            written.append((rt, rid, uow.update(rt, rid, body).stored.version_id))
    with repo.unit_of_work() as uow:
        written.append(("Group", "g", uow.update("Group", "g", {"resourceType": "Group", "type": "device",
                                                                "actual": True}).stored.version_id))
        written.append(("Patient", "a", uow.delete("Patient", "a").stored.version_id))
    return written


def test_instance_history_newest_first_with_delete(repo: SQLRepository, populated: list) -> None:
    page = repo.history("Patient", "a")
    assert keys(page) == [("Patient", "a", 3), ("Patient", "a", 2), ("Patient", "a", 1)]
    assert page.total == 3 and page.next_cursor is None
    assert page.entries[0].deleted and page.entries[0].body is None and page.entries[0].method == "DELETE"
    assert page.entries[1].resource()["name"][0]["family"] == "A2" and page.entries[2].method == "PUT"


def test_type_and_system_history(repo: SQLRepository, populated: list) -> None:
    assert repo.history("Group", None).total == 2
    assert {k[1] for k in keys(repo.history("Patient", None))} == {"a", "b"}
    system = repo.history(None, None)
    assert system.total == 6 and sorted(keys(system)) == sorted(populated)
    stamps = [e.last_updated for e in system.entries]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("count", [1, 2, 4, 5, 6, 50])
def test_paging_visits_each_version_once(repo: SQLRepository, populated: list, count: int) -> None:
    assert all_pages(repo, None, None, count) == keys(repo.history(None, None, count=100))
    assert len(all_pages(repo, "Patient", "a", count)) == 3


def test_cursor_stays_correct_while_data_changes(repo: SQLRepository, populated: list) -> None:
    expected = keys(repo.history(None, None, count=100))
    first = repo.history(None, None, count=2)
    with repo.unit_of_work() as uow:  # new versions land before the cursor, never inside the rest
        uow.update("Patient", "b", patient("B2"))
        uow.create("Patient", patient("new"))
    rest: list[tuple[str, str, int]] = []
    cursor = first.next_cursor
    while cursor:
        page = repo.history(None, None, count=2, cursor=cursor)
        rest += keys(page)
        cursor = page.next_cursor
    assert keys(first) + rest == expected
    assert repo.history(None, None).total == 8


def test_count_zero_gives_total_only(repo: SQLRepository, populated: list) -> None:
    page = repo.history(None, None, count=0)
    assert page.entries == [] and page.total == 6 and page.next_cursor is None


def test_since(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Patient", "p", patient("1"))
    time.sleep(0.01)
    cut = datetime.now(timezone.utc)
    time.sleep(0.01)
    with repo.unit_of_work() as uow:
        uow.update("Patient", "p", patient("2"))
        uow.update("Patient", "q", patient("3"))
    assert {(e.id, e.version_id) for e in repo.history(None, None, since=cut).entries} == {("p", 2), ("q", 1)}
    assert repo.history("Patient", "p", since=cut).total == 1
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert repo.history(None, None, since=future).total == 0


def test_since_includes_the_exact_instant(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        stored = uow.update("Patient", "p", patient()).stored
    assert repo.history(None, None, since=stored.last_updated).total == 1


def test_at_gives_versions_current_at_the_instant(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Patient", "p", patient("1"))
        uow.update("Patient", "gone", patient("x"))
    time.sleep(0.01)
    t1 = datetime.now(timezone.utc)
    time.sleep(0.01)
    with repo.unit_of_work() as uow:
        uow.update("Patient", "p", patient("2"))
        uow.update("Patient", "later", patient("L"))
        uow.delete("Patient", "gone")
    page = repo.history(None, None, at=t1)
    assert sorted(keys(page)) == [("Patient", "gone", 1), ("Patient", "p", 1)] and page.total == 2
    now = repo.history("Patient", None, at=datetime.now(timezone.utc))
    assert sorted(keys(now)) == [("Patient", "gone", 2), ("Patient", "later", 1), ("Patient", "p", 2)]
    assert now.entries[0].deleted or any(e.deleted for e in now.entries)
    before = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert repo.history(None, None, at=before).total == 0


def test_unknown_instance_is_not_found(repo: SQLRepository) -> None:
    with pytest.raises(NotFound):
        repo.history("Patient", "nope")
    assert repo.history("Patient", None).total == 0 and repo.history(None, None).entries == []


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "W10", "WyJ4IiwxLDIsM10"])
def test_bad_cursor_is_invalid(repo: SQLRepository, populated: list, cursor: str) -> None:
    with pytest.raises(InvalidRequest):
        repo.history(None, None, cursor=cursor)


def test_naive_datetimes_and_negative_count_are_invalid(repo: SQLRepository) -> None:
    with pytest.raises(InvalidRequest):
        repo.history(None, None, since=datetime(2020, 1, 1))
    with pytest.raises(InvalidRequest):
        repo.history(None, None, count=-1)


class _Statements:
    """The SQL statements the repository's engine runs while active (SQLAlchemy's before_cursor_execute)."""

    def __init__(self, repo: SQLRepository) -> None:
        self.engine = repo.engine
        self.seen: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def _counts(statements: list[str]) -> list[str]:
    return [s for s in statements if "count(" in s.lower()]


@pytest.mark.parametrize("level", [(None, None), ("Patient", None)])
def test_only_the_first_page_counts(repo: SQLRepository, level: tuple) -> None:
    with repo.unit_of_work() as uow:
        for n in range(7):
            uow.update("Patient", f"p{n}", patient(f"F{n}"))
            uow.update("Patient", f"p{n}", patient(f"G{n}"))
    with _Statements(repo) as statements:
        first = repo.history(*level, count=3)
    assert first.total == 14 and len(_counts(statements)) == 1
    cursor, pages = first.next_cursor, 1
    while cursor:
        with _Statements(repo) as statements:
            page = repo.history(*level, count=3, cursor=cursor)
        assert statements and _counts(statements) == [], statements
        assert page.total == 14  # carried in the cursor
        cursor, pages = page.next_cursor, pages + 1
    assert pages == 5


def test_a_first_page_holding_everything_needs_no_count(repo: SQLRepository, populated: list) -> None:
    with _Statements(repo) as statements:
        page = repo.history(None, None, count=10)
    assert page.total == 6 and _counts(statements) == []


def test_total_is_bounded(repo: SQLRepository, populated: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "TOTAL_CAP", 5)
    page = repo.history(None, None, count=2)
    assert page.total is None and len(page.entries) == 2 and page.next_cursor
    assert repo.history(None, None, count=2, cursor=page.next_cursor).total is None
    assert repo.history("Patient", None, count=2).total == 4  # under the bound: counted
    assert repo.history(None, None, count=6).total == 6  # one page holds every version


def test_a_cursor_of_another_history_is_refused(repo: SQLRepository, populated: list) -> None:
    cursor = repo.history(None, None, count=1).next_cursor
    assert cursor
    with pytest.raises(InvalidRequest, match="another history"):
        repo.history("Patient", None, count=1, cursor=cursor)
    with pytest.raises(InvalidRequest, match="another history"):
        repo.history(None, None, count=1, cursor=cursor, since=datetime(2000, 1, 1, tzinfo=timezone.utc))
