"""The read cache is emptied by any commit, from any connection: https://hl7.org/fhir/R4/http.html#read."""
from __future__ import annotations

from typing import Any

from fhirtrial.store.read_cache import ReadCache
from fhirtrial.store.sql import SQLRepository

from .conftest import patient


def test_a_commit_by_another_connection_empties_the_cache(database_url: str, repo: SQLRepository) -> None:
    cache: ReadCache[str] = ReadCache(repo.change_probe(), 1 << 20)
    if repo.postgres:  # no whole-database change counter: the cache reads through
        assert not cache.enabled
        cache.put("k", "v", 1)
        assert cache.get("k") is None
        return
    assert cache.enabled
    assert cache.get("k") is None
    cache.put("k", "v", 1)
    assert cache.get("k") == "v"
    assert cache.get("k") == "v"  # nothing committed in between
    other = SQLRepository(database_url)  # as another server process would
    try:
        with other.unit_of_work() as uow:
            uow.create("Patient", patient("Other"))
    finally:
        other.close()
    assert cache.get("k") is None
    cache.put("k", "v2", 1)
    with repo.unit_of_work() as uow:
        uow.create("Patient", patient("Mine"))  # this repository's own writes count too
    assert cache.get("k") is None


def test_the_cache_is_bounded(repo: SQLRepository) -> None:
    cache: ReadCache[Any] = ReadCache(repo.change_probe(), 100)
    if not cache.enabled:
        return
    cache.get("a")
    cache.put("a", 1, 60)
    cache.put("big", 2, 101)  # larger than the whole cache: never kept
    assert cache.get("big") is None
    cache.put("b", 3, 60)  # would pass the bound: the cache starts again
    assert cache.get("a") is None
    assert cache.get("b") == 3


def test_size_zero_turns_it_off(repo: SQLRepository) -> None:
    cache: ReadCache[int] = ReadCache(repo.change_probe(), 0)
    assert not cache.enabled
    cache.put("a", 1, 1)
    assert cache.get("a") is None
