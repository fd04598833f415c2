"""The read cache is emptied by any commit, from any connection: https://hl7.org/fhir/R4/http.html#read."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from fhirtrial.store.freshness import SnapshotVersion
from fhirtrial.store.read_cache import ReadCache
from fhirtrial.store.sql import SQLRepository

from .conftest import patient


async def test_a_commit_by_another_connection_changes_the_version(database_url: str, repo: SQLRepository) -> None:
    freshness = repo.freshness()
    first = await freshness.version()
    again = await freshness.version()
    assert first is not None and again is not None
    assert again[0] > first[0] and again[1] == first[1]  # nothing committed in between
    other = SQLRepository(database_url)  # as another server process would
    try:
        with other.unit_of_work() as uow:
            uow.create("Patient", patient("Other"))
    finally:
        other.close()
    after_other = await freshness.version()
    assert after_other is not None and after_other[1] != first[1]
    with repo.unit_of_work() as uow:
        uow.create("Patient", patient("Mine"))  # this repository's own writes count too
    mine = await freshness.version()
    assert mine is not None and mine[1] != after_other[1]
    with repo.engine.begin() as conn:  # so does a write made beside the store (psql, a bulk load)
        conn.execute(sa.text("UPDATE resource SET version_id = version_id"))
    beside = await freshness.version()
    assert beside is not None and beside[1] != mine[1]


async def test_a_rolled_back_transaction_or_a_read_leaves_it(database_url: str, repo: SQLRepository) -> None:
    if repo.postgres:
        pytest.skip("PostgreSQL: an aborted writer's end gives a new snapshot (same data): a needless miss, by design")
    with repo.unit_of_work() as uow:
        uow.create("Patient", patient("Kept"))
    freshness = repo.freshness()
    before = await freshness.version()
    repo.count()
    try:
        with repo.unit_of_work() as uow:
            uow.create("Patient", patient("Lost"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    after = await freshness.version()
    assert after is not None and before is not None and after[1] == before[1]


def test_the_cache_follows_the_version() -> None:
    cache: ReadCache[str] = ReadCache(1 << 20)
    assert cache.get("k", (1, "a")) is None
    cache.put("k", "v", 1, (1, "a"))
    assert cache.get("k", (2, "a")) == "v"
    assert cache.get("k", (3, "b")) is None  # the database changed: everything goes
    cache.put("k", "v-late", 1, (2, "a"))  # read under the old state, put after the change: not kept
    assert cache.get("k", (4, "b")) is None
    cache.put("k", "v2", 1, (4, "b"))
    assert cache.get("k", (1, "a")) is None  # an old probe's answer, arriving late, neither hits nor clears
    assert cache.get("k", (5, "b")) == "v2"
    assert cache.get("k", None) is None  # no version known: read through


def test_the_cache_is_bounded() -> None:
    cache: ReadCache[Any] = ReadCache(100)
    v = (1, "s")
    cache.get("a", v)
    cache.put("a", 1, 60, v)
    cache.put("big", 2, 101, v)  # larger than the whole cache: never kept
    assert cache.get("big", v) is None
    cache.put("b", 3, 60, v)  # would pass the bound: the cache starts again
    assert cache.get("a", v) is None
    assert cache.get("b", v) == 3


def test_size_zero_turns_it_off() -> None:
    cache: ReadCache[int] = ReadCache(0)
    assert not cache.enabled
    cache.put("a", 1, 1, (1, "s"))
    assert cache.get("a", (1, "s")) is None


class _Counted(SnapshotVersion):
    """A SnapshotVersion whose queries are counted and held until released."""

    def __init__(self) -> None:
        super().__init__("postgresql://unused")
        self.sent = 0
        self.release = asyncio.Event()

    async def _ask(self, link: Any = None) -> str | None:
        self.sent += 1
        number = self.sent
        await self.release.wait()
        self.release.clear()
        return f"state-{number}"


async def test_concurrent_requests_share_one_query() -> None:
    probe = _Counted()
    waiters = [asyncio.ensure_future(probe.version()) for _ in range(50)]
    await asyncio.sleep(0)
    probe.release.set()
    versions = await asyncio.gather(*waiters)
    assert probe.sent == 1 and len(set(versions)) == 1


async def test_a_request_never_takes_the_answer_of_a_query_sent_before_it() -> None:
    """A query already in flight may predate a write the caller has seen acknowledged: wait for the next."""
    probe = _Counted()
    first = asyncio.ensure_future(probe.version())
    await asyncio.sleep(0.01)
    assert probe.sent == 1  # the first query is in flight
    second = asyncio.ensure_future(probe.version())
    third = asyncio.ensure_future(probe.version())
    await asyncio.sleep(0.01)
    probe.release.set()
    assert (await first)[1] == "state-1"
    await asyncio.sleep(0.01)
    assert probe.sent == 2
    probe.release.set()
    assert (await second)[1] == (await third)[1] == "state-2"
    probe.close()


async def test_a_cancelled_request_leaves_the_others_their_answer() -> None:
    probe = _Counted()
    gone = asyncio.ensure_future(probe.version())
    kept = asyncio.ensure_future(probe.version())
    await asyncio.sleep(0.01)
    gone.cancel()  # the client went away while the query was in flight
    await asyncio.sleep(0.01)
    probe.release.set()
    assert (await kept)[1] == "state-1" and gone.cancelled()


async def test_a_lost_probe_connection_reads_through_then_reconnects(repo: SQLRepository) -> None:
    if not repo.postgres:
        pytest.skip("PostgreSQL's probe has a connection of its own; SQLite's is a local file")
    freshness = repo.freshness()
    assert await freshness.version() is not None
    with repo.engine.begin() as conn:  # as an administrator or a restarting server would
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE query LIKE '%pg_current_snapshot%' AND pid <> pg_backend_pid()")).scalar_one()
    assert killed == 1
    # None (read through) or a new connection's answer: never a hang, never the old state kept
    await asyncio.wait_for(freshness.version(), 15)
    await asyncio.sleep(1.1)
    again = await asyncio.wait_for(freshness.version(), 15)
    assert again is not None and again[1]
    with repo.engine.connect() as conn:  # one probe connection again, not one per attempt
        probes = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE query LIKE '%pg_current_snapshot%' AND pid <> pg_backend_pid()"))
        assert probes.scalar_one() == 1
