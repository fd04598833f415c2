"""Whether anything was committed since a cached read, asked once per request, https://hl7.org/fhir/R4/http.html#read.

A ``Version`` is (a local sequence number, the database's committed state). Two versions with the same state
saw the same committed data, so an answer read after the first may serve the second. Any commit, by any
connection of any process on any host, changes the state:

- SQLite: ``PRAGMA data_version`` (https://www.sqlite.org/pragma.html#pragma_data_version) on a connection of
  its own that never writes; microseconds, asked inline.
- PostgreSQL: the text of ``pg_current_snapshot()`` (https://www.postgresql.org/docs/current/functions-info.html
  #FUNCTIONS-PG-SNAPSHOT): its xmin, xmax and in-progress list change whenever a transaction that wrote
  anything ends, whatever wrote it (REST, bulk import, COPY, psql), and equal snapshots see equal data. It is
  a round trip, so concurrent requests share one: a caller waits for the next query *sent after it arrived*
  (never one already in flight, which could predate a write it has seen acknowledged), and every caller that
  arrived meanwhile takes the same answer. One query per round trip, however many requests.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Hashable, Protocol

import sqlalchemy as sa

from .engine import sqlite_pragmas

log = logging.getLogger("fhirtrial.store")

Version = tuple[int, Hashable]


class Freshness(Protocol):
    async def version(self) -> Version | None:
        """The database's state now (None: unknown, read through)."""

    def close(self) -> None: ...


def open_freshness(url: sa.URL, busy_timeout_s: float) -> Freshness:
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", timeout=busy_timeout_s, check_same_thread=False,
                               isolation_level=None)
        sqlite_pragmas(conn, busy_timeout_s)
        return DataVersion(conn)
    return SnapshotVersion(url.set(drivername="postgresql").render_as_string(hide_password=False))


class DataVersion:
    """SQLite's ``PRAGMA data_version`` on its own connection (used by the event loop's thread only)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._seq = 0

    def now(self) -> Version:
        self._seq += 1
        return self._seq, self._conn.execute("PRAGMA data_version").fetchone()[0]

    async def version(self) -> Version | None:
        return self.now()

    def close(self) -> None:
        self._conn.close()


class SnapshotVersion:
    """PostgreSQL's current snapshot on one autocommit asyncio connection, shared by concurrent callers."""

    def __init__(self, conninfo: str, connect_timeout_s: int = 10) -> None:
        self._conninfo = conninfo
        self._connect_timeout_s = connect_timeout_s
        self._conn: object | None = None  # psycopg.AsyncConnection, of the loop below
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: asyncio.Future[Version | None] | None = None  # for the next query, not yet sent
        self._runner: asyncio.Task[None] | None = None
        self._seq = 0

    async def version(self) -> Version | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a connection belongs to one loop (tests may run several in turn)
            self.close()
            self._loop = loop
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = loop.create_future()
            if self._runner is None:
                self._runner = loop.create_task(self._run())
        # shield: one caller's cancellation must not cancel the answer the others wait for
        return await asyncio.shield(waiting)

    async def _run(self) -> None:
        try:
            while (waiting := self._waiting) is not None:
                self._waiting = None  # callers from now on wait for the next query
                state = await self._ask()
                self._seq += 1
                if not waiting.done():
                    waiting.set_result(None if state is None else (self._seq, state))
        finally:
            self._runner = None

    async def _ask(self) -> str | None:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:  # type: ignore[attr-defined]
                self._conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=self._connect_timeout_s)
            cur = await self._conn.execute("SELECT pg_current_snapshot()::text")  # type: ignore[attr-defined]
            row = await cur.fetchone()
            return row[0]
        except Exception:  # noqa: BLE001 -- no answer means no cache, never a failed read
            log.warning("read cache: the change probe failed; reading through", exc_info=True)
            self._drop()
            return None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.pgconn.finish()  # type: ignore[attr-defined]  # sync: the loop may be gone
            self._conn = None

    def close(self) -> None:
        self._drop()
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        self._waiting = None
