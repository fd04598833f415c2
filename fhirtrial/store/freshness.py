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
  arrived in the same turn of the event loop takes the same answer. Two connections, so that a caller rarely
  waits for a query in flight to end before its own is sent.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any, Hashable, Protocol

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
    """PostgreSQL's current snapshot, asked through up to ``links`` connections at once (a caller never waits for
    a query already in flight when another connection is free), each driven by the event loop through libpq."""

    def __init__(self, conninfo: str, connect_timeout_s: int = 10, links: int = 2) -> None:
        self._links = [_Link(conninfo, connect_timeout_s) for _ in range(links)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[asyncio.Future[Version | None]] = []  # callers of the next query, not yet sent
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0

    async def version(self) -> Version | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a connection is watched by one loop (tests may run several in turn)
            self.close()
            self._loop = loop
        # A future per caller (one caller's cancellation cancels only its own), answered by the next query sent.
        answer: asyncio.Future[Version | None] = loop.create_future()
        self._waiting.append(answer)
        if not self._scheduled:  # once per turn of the loop: the requests read in this turn share a query
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await answer

    def _dispatch(self) -> None:
        self._scheduled = False
        if not self._waiting:
            return
        link = next((link for link in self._links if not link.busy), None)
        if link is None:
            return  # the first link to finish dispatches again
        waiting, self._waiting = self._waiting, []
        link.busy = True
        assert self._loop is not None
        task = self._loop.create_task(self._probe(link, waiting))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self, link: _Link, waiting: list[asyncio.Future[Version | None]]) -> None:
        try:
            state = await self._ask(link)
        finally:
            link.busy = False
        self._seq += 1
        version = None if state is None else (self._seq, state)
        for answer in waiting:
            if not answer.done():
                answer.set_result(version)
        if self._waiting:
            self._dispatch()

    async def _ask(self, link: _Link) -> str | None:
        return await link.ask()

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for link in self._links:
            link.drop(self._loop)
            link.busy = False
        self._waiting = []
        self._scheduled = False


class _Link:
    """One connection: a prepared statement sent, the answer read when the socket is readable -- a few
    microseconds of the loop per query."""

    def __init__(self, conninfo: str, connect_timeout_s: int) -> None:
        self._conninfo = conninfo
        self._connect_timeout_s = connect_timeout_s
        self._pg: Any = None  # psycopg.pq.PGconn, nonblocking, its socket watched by the loop
        self._fd = -1
        self._answer: asyncio.Future[str | None] | None = None  # of the query in flight
        self._retry_at = 0.0
        self.busy = False

    async def ask(self) -> str | None:
        loop = asyncio.get_running_loop()
        if self._pg is None and loop.time() < self._retry_at:
            return None  # the last connection attempt failed a moment ago: read through meanwhile
        try:
            if self._pg is None:
                self._retry_at = loop.time() + _RETRY_S
                self._pg = await loop.run_in_executor(None, self._connect)
                self._fd = self._pg.socket
                loop.add_reader(self._fd, self._readable, loop)
            self._answer = loop.create_future()
            self._pg.send_query_prepared(_PROBE, None)
            if self._pg.flush() != 0:  # a few bytes: the socket buffer takes them; if not, flush again soon
                loop.call_soon(self._flush, loop)
            return await self._answer
        except Exception:  # noqa: BLE001 -- no answer means no cache, never a failed read
            log.warning("read cache: the change probe failed; reading through", exc_info=True)
            self.drop(loop)
            return None

    def _connect(self) -> Any:
        from psycopg import pq
        from psycopg.conninfo import make_conninfo

        pg = pq.PGconn.connect(make_conninfo(self._conninfo, connect_timeout=self._connect_timeout_s).encode())
        if pg.status != pq.ConnStatus.OK or pg.prepare(_PROBE, _SQL).status != pq.ExecStatus.COMMAND_OK:
            message = pg.error_message.decode(errors="replace")
            pg.finish()
            raise ConnectionError(message)
        pg.nonblocking = 1
        return pg

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pg is not None and self._pg.flush() != 0:
            loop.call_later(0.001, self._flush, loop)

    def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        from psycopg import pq

        pg, answer = self._pg, self._answer
        if pg is None:
            return
        try:
            pg.consume_input()
            if pg.is_busy():
                return
            value: str | None = None
            while (result := pg.get_result()) is not None:
                if result.status == pq.ExecStatus.TUPLES_OK:
                    value = result.get_value(0, 0).decode()
            if pg.status != pq.ConnStatus.OK:
                raise ConnectionError(pg.error_message.decode(errors="replace"))
        except Exception:  # noqa: BLE001 -- a broken connection: reconnect at the next query
            log.warning("read cache: the change probe's connection failed", exc_info=True)
            self.drop(loop)
            return
        if answer is not None and not answer.done():
            self._answer = None
            answer.set_result(value)

    def drop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(self._fd)  # before libpq closes the descriptor
            pg.finish()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(None)
        self._answer = None


_RETRY_S = 1.0
_PROBE = b"fhirtrial_snapshot"
_SQL = b"SELECT pg_current_snapshot()::text"
