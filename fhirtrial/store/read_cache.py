"""Answers to plain reads kept until the database's next commit, https://hl7.org/fhir/R4/http.html#read.

Each lookup carries the database's ``Version`` asked for that request (store/freshness.py: SQLite's
``PRAGMA data_version``, PostgreSQL's current snapshot), after the request arrived: a new committed state empties
the cache, and an answer is kept only under the state it was asked under, so it is never older than a read of
the database made when the request came in, whichever process or host committed.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from .freshness import Version

V = TypeVar("V")
_NONE = object()


class ReadCache(Generic[V]):
    """Values by key, dropped all at once when the database changes or when ``max_bytes`` is reached.

    Not thread-safe: one per thread (the fast path keeps one on the event loop's thread)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._values: dict[Hashable, V] = {}
        self._bytes = 0
        self._seq = -1
        self._state: Hashable = _NONE

    @property
    def enabled(self) -> bool:
        return self._max_bytes > 0

    def get(self, key: Hashable, version: Version | None) -> V | None:
        """The value kept for ``key`` if the database is still as it was when the value was read."""
        if version is None or self._max_bytes <= 0:
            return None
        seq, state = version
        if state != self._state:
            if seq > self._seq:  # a newer state: everything kept is older than it
                self.clear()
                self._seq, self._state = seq, state
            return None  # (an older probe's answer, overtaken meanwhile, changes nothing)
        self._seq = max(seq, self._seq)
        return self._values.get(key)

    def put(self, key: Hashable, value: V, size: int, version: Version | None) -> None:
        """Keep ``value`` (``size`` bytes), read after ``version`` was asked; dropped if the state moved on."""
        if version is None or version[1] != self._state or size > self._max_bytes:
            return
        if self._bytes + size > self._max_bytes:
            self._values.clear()
            self._bytes = 0
        self._values[key] = value
        self._bytes += size

    def clear(self) -> None:
        self._values.clear()
        self._bytes = 0
