"""Answers to plain reads kept until the database's next commit, https://hl7.org/fhir/R4/http.html#read.

Validity comes from SQLite's whole-database change counter (``PRAGMA data_version``,
https://www.sqlite.org/pragma.html#pragma_data_version), asked on every lookup on a connection that never
writes: any commit by any connection of any process changes it, and the cache is emptied. A cached answer
is therefore never older than a read of the database at the moment of the lookup. PostgreSQL has no such
cheap counter, so there the cache reads through.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import sqlalchemy as sa

from .engine import sqlite_pragmas

V = TypeVar("V")


def change_probe(url: sa.URL, busy_timeout_s: float) -> Probe | None:
    """A callable whose value changes whenever anything is committed to the database; None if there is none."""
    if url.get_backend_name() != "sqlite":
        return None
    conn = sqlite3.connect(url.database or "", timeout=busy_timeout_s, check_same_thread=False,
                           isolation_level=None)
    sqlite_pragmas(conn, busy_timeout_s)
    return Probe(conn)


class Probe:
    """``PRAGMA data_version`` on its own connection (used by one thread); ``close`` releases it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __call__(self) -> int:
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class ReadCache(Generic[V]):
    """Values by key, dropped all at once when the database changes or when ``max_bytes`` is reached.

    Not thread-safe: one per thread (the fast path keeps one on the event loop's thread)."""

    def __init__(self, probe: Callable[[], int] | None, max_bytes: int) -> None:
        self._probe = probe if max_bytes > 0 else None
        self._max_bytes = max_bytes
        self._values: dict[Hashable, V] = {}
        self._bytes = 0
        self._version: int | None = None

    @property
    def enabled(self) -> bool:
        return self._probe is not None

    def get(self, key: Hashable) -> V | None:
        if self._probe is None:
            return None
        version = self._probe()
        if version != self._version:
            self.clear()
            self._version = version
            return None
        return self._values.get(key)

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value`` (``size`` bytes); call only after a ``get`` of the same key missed."""
        if self._probe is None or size > self._max_bytes:
            return
        if self._bytes + size > self._max_bytes:
            self.clear()
        self._values[key] = value
        self._bytes += size

    def clear(self) -> None:
        self._values.clear()
        self._bytes = 0
