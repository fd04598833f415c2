"""Concurrent writers never lose an update (https://hl7.org/fhir/R4/http.html#concurrency), with real threads
on SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT ... FOR UPDATE)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from fhirtrial.errors import Conflict, PreconditionFailed
from fhirtrial.store.sql import SQLRepository

from .conftest import SmallIndexer, patient

THREADS = 8
ROUNDS = 5


def run_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in n threads released together; returns results (exceptions as values)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 -- collected and asserted on
            results[i] = exc

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def shared(database_url: str) -> Any:
    repository = SQLRepository(database_url, SmallIndexer())
    yield repository
    repository.close()


def counter(n: int) -> dict[str, Any]:
    return patient(identifier=[{"system": "urn:n", "value": str(n)}], multipleBirthInteger=n)


def test_read_modify_update_without_if_match_makes_n_versions(shared: SQLRepository) -> None:
    with shared.unit_of_work() as uow:
        uow.update("Patient", "c", counter(0))

    def work(i: int) -> int:
        total = 0
        for r in range(ROUNDS):
            body = shared.read("Patient", "c").resource()
            body["name"] = [{"family": f"t{i}r{r}"}]  # each write differs from whatever is current
            with shared.unit_of_work() as uow:
                total += uow.update("Patient", "c", body).stored.version_id > 0
        return total

    results = run_threads(THREADS, work)
    assert results == [ROUNDS] * THREADS, results
    history = shared.history("Patient", "c", count=1000)
    assert history.total == 1 + THREADS * ROUNDS
    assert sorted(e.version_id for e in history.entries) == list(range(1, 2 + THREADS * ROUNDS))
    assert shared.read("Patient", "c").version_id == 1 + THREADS * ROUNDS


def test_locked_increment_inside_unit_of_work_loses_nothing(shared: SQLRepository) -> None:
    with shared.unit_of_work() as uow:
        uow.update("Patient", "c", counter(0))

    def work(_i: int) -> None:
        for _ in range(ROUNDS):
            with shared.unit_of_work() as uow:
                cur = uow.current("Patient", "c")
                assert cur is not None
                n = cur.resource()["multipleBirthInteger"]
                uow.update("Patient", "c", counter(n + 1), if_match=cur.version_id)

    assert run_threads(THREADS, work) == [None] * THREADS
    final = shared.read("Patient", "c")
    assert final.resource()["multipleBirthInteger"] == THREADS * ROUNDS
    assert final.version_id == 1 + THREADS * ROUNDS
    with shared.unit_of_work() as uow:  # index rows follow the last version only
        assert uow.find_ids("Patient", {"identifier": [f"urn:n|{THREADS * ROUNDS}"]}) == ["c"]
        assert uow.find_ids("Patient", {"identifier": ["urn:n|1"]}) == []


def test_if_match_losers_get_412(shared: SQLRepository) -> None:
    with shared.unit_of_work() as uow:
        uow.update("Patient", "c", counter(0))
    seen = shared.read("Patient", "c").version_id

    def work(i: int) -> int:
        with shared.unit_of_work() as uow:
            return uow.update("Patient", "c", counter(i + 1), if_match=seen).stored.version_id

    results = run_threads(THREADS, work)
    winners = [r for r in results if isinstance(r, int)]
    assert winners == [2], results
    assert all(isinstance(r, PreconditionFailed) for r in results if not isinstance(r, int)), results
    assert shared.read("Patient", "c").version_id == 2


def test_optimistic_retry_loop_counts_every_increment(shared: SQLRepository) -> None:
    with shared.unit_of_work() as uow:
        uow.update("Patient", "c", counter(0))
    conflicts = Counter[int]()

    def work(i: int) -> None:
        for _ in range(ROUNDS):
            while True:
                cur = shared.read("Patient", "c")  # read outside the write transaction, as a REST client does
                try:
                    with shared.unit_of_work() as uow:
                        uow.update("Patient", "c", counter(cur.resource()["multipleBirthInteger"] + 1),
                                   if_match=cur.version_id)
                    break
                except PreconditionFailed:
                    conflicts[i] += 1

    assert run_threads(THREADS, work) == [None] * THREADS
    assert shared.read("Patient", "c").resource()["multipleBirthInteger"] == THREADS * ROUNDS


def test_concurrent_create_on_update_of_the_same_new_id(shared: SQLRepository) -> None:
    for round_ in range(ROUNDS):
        rid = f"new-{round_}"

        def work(i: int) -> str:
            with shared.unit_of_work() as uow:
                return uow.update("Patient", rid, counter(i)).outcome  # noqa: B023

        results = run_threads(THREADS, work)
        assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)], results
        outcomes = Counter(r for r in results if isinstance(r, str))
        assert outcomes["created"] == 1, results
        history = shared.history("Patient", rid, count=100)
        assert sorted(e.version_id for e in history.entries) == list(range(1, history.total + 1))
        assert history.total == outcomes["created"] + outcomes["updated"]


def test_concurrent_client_id_creates_one_wins(shared: SQLRepository) -> None:
    def work(i: int) -> str:
        with shared.unit_of_work() as uow:
            return uow.create("Patient", counter(i), resource_id="only").outcome

    results = run_threads(THREADS, work)
    assert results.count("created") == 1, results
    assert all(isinstance(r, Conflict) for r in results if r != "created"), results
    assert shared.history("Patient", "only").total == 1


def test_concurrent_server_id_creates_and_reads(shared: SQLRepository) -> None:
    def work(i: int) -> list[str]:
        ids = []
        for r in range(ROUNDS):
            with shared.unit_of_work() as uow:
                ids.append(uow.create("Patient", counter(i * 100 + r)).stored.id)
            assert shared.read("Patient", ids[-1]).version_id == 1
        return ids

    results = run_threads(THREADS, work)
    ids = [x for r in results for x in r]
    assert len(set(ids)) == THREADS * ROUNDS
    assert shared.count("Patient") == THREADS * ROUNDS


def test_concurrent_deletes_make_one_delete_version(shared: SQLRepository) -> None:
    with shared.unit_of_work() as uow:
        uow.update("Patient", "d", counter(0))

    def work(_i: int) -> str:
        with shared.unit_of_work() as uow:
            return uow.delete("Patient", "d").outcome

    results = run_threads(THREADS, work)
    assert sorted(results) == ["deleted"] + ["gone"] * (THREADS - 1), results
    assert shared.history("Patient", "d").total == 2


def _process_worker(url: str, rounds: int) -> int:
    """Run in a separate process (like a second uvicorn worker): optimistic increments with retry."""
    repo = SQLRepository(url)
    retries = 0
    try:
        for _ in range(rounds):
            while True:
                cur = repo.read("Patient", "c")
                try:
                    with repo.unit_of_work() as uow:
                        uow.update("Patient", "c", counter(cur.resource()["multipleBirthInteger"] + 1),
                                   if_match=cur.version_id)
                    break
                except PreconditionFailed:
                    retries += 1
    finally:
        repo.close()
    return retries


def test_two_processes_lose_no_update(shared: SQLRepository, database_url: str) -> None:
    import multiprocessing

    with shared.unit_of_work() as uow:
        uow.update("Patient", "c", counter(0))
    rounds = 3 * ROUNDS
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        retries = pool.starmap(_process_worker, [(database_url, rounds)] * 2)
    final = shared.read("Patient", "c")
    assert final.resource()["multipleBirthInteger"] == 2 * rounds, retries
    assert final.version_id == 1 + 2 * rounds
