"""Answers of costly read-only operations ($facets) kept until the database's next commit,
https://hl7.org/fhir/R4/http.html#read.

The same guarantee as the read-by-id cache (store/read_cache.py): the database's committed state is asked
after the request arrived (store/freshness.py), and an answer is served only under the state it was computed
under, so it is never older than a read made when the request came in, whoever committed. Counting the facets of
every study is a GROUP BY over the index tables (about a second at 50k studies); the trial finder's first page
asks exactly that of every visitor.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from starlette.requests import Request

from ..store.freshness import Freshness
from ..store.read_cache import ReadCache
from .context import repo_of, settings_of

V = TypeVar("V")
_PROBES: WeakKeyDictionary[Any, Freshness] = WeakKeyDictionary()  # the repository's probe (closed with it)


def open_read_cache(repo: Any, settings: Any) -> tuple[Freshness | None, ReadCache[Any]]:
    """A cache of ``settings.read_cache_mb`` for ``repo``'s answers and the probe of its committed state it is
    checked against; off (no probe, size 0) when the size is 0 or the repository has no probe."""
    size = getattr(settings, "read_cache_mb", 0) * 1024 * 1024
    opener = getattr(repo, "freshness", None)
    if opener is None or size <= 0:
        return None, ReadCache(0)
    # One probe per repository, shared by every cache of the app: each probe holds its own connections (two on
    # PostgreSQL) and asks the database once per request.
    freshness = _PROBES.get(repo)
    if freshness is None:
        freshness = _PROBES[repo] = opener()
    return freshness, ReadCache(size)


class AnswerCache:
    """One per app, used on the event loop's thread only (ReadCache is not thread-safe)."""

    def __init__(self) -> None:
        self._repo: Any = None
        self._freshness: Freshness | None = None
        self._cache: ReadCache[Any] = ReadCache(0)

    def _for(self, request: Request) -> None:
        repo = request.app.state.repo
        if repo is self._repo:
            return
        self._freshness, self._cache = open_read_cache(repo, settings_of(request))
        self._repo = repo

    async def answer(self, request: Request, key: Hashable, compute: Callable[[], Awaitable[V]], size: int) -> V:
        """The kept answer for ``key`` in the database's current state, else ``compute()``'s, then kept."""
        if repo_of(request) is not request.app.state.repo:
            return await compute()  # a transaction's entry reads its own uncommitted writes: never kept
        self._for(request)
        if not self._cache.enabled or self._freshness is None:
            return await compute()
        version = await self._freshness.version()
        found = self._cache.get(key, version)
        if found is not None:
            return found
        value = await compute()
        self._cache.put(key, value, size, version)
        return value


def answer_cache(request: Request) -> AnswerCache:
    """The app's answer cache, made on first use."""
    cache = getattr(request.app.state, "answer_cache", None)
    if cache is None:
        cache = request.app.state.answer_cache = AnswerCache()
    return cache


__all__ = ["AnswerCache", "answer_cache", "open_read_cache"]
