"""Several connections reading one PostgreSQL snapshot at once, https://www.postgresql.org/docs/current/sql-set-transaction.html.

A REPEATABLE READ transaction exports its snapshot (``pg_export_snapshot``); other transactions that adopt it see
exactly the same committed state, so one consistent read (an export at its ``transactionTime``) can be spread over
several connections, one PostgreSQL process -- one core -- each.
"""
from __future__ import annotations

import queue
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")


class SharedSnapshot:
    """``size`` more connections of ``conn``'s engine, each in a read-only transaction on ``conn``'s snapshot
    (https://www.postgresql.org/docs/current/sql-set-transaction.html), with a thread each; ``map`` runs a query
    per item on them and gives the answers in the items' order, at most ``size`` ahead of the reader."""

    def __init__(self, conn: sa.Connection, size: int) -> None:
        self._conn = conn
        self._size = max(1, size)
        self._stack = ExitStack()
        self._free: queue.SimpleQueue[sa.Connection] = queue.SimpleQueue()

    def __enter__(self) -> SharedSnapshot:
        snapshot_id = self._conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot_id):
            raise ValueError(f"unexpected snapshot id {snapshot_id!r}")
        try:
            for _ in range(self._size):
                c = self._stack.enter_context(self._conn.engine.connect())
                c = c.execution_options(isolation_level="REPEATABLE READ")
                self._stack.enter_context(c.begin())
                c.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")
                c.exec_driver_sql("SET TRANSACTION READ ONLY")
                self._free.put(c)
            self._threads = self._stack.enter_context(ThreadPoolExecutor(self._size, "fhirtrial-export"))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def map(self, job: Callable[..., T], items: list[tuple[Any, ...]]) -> Iterator[T]:
        def run(item: tuple[Any, ...]) -> T:
            c = self._free.get()
            try:
                return job(c, *item)
            finally:
                self._free.put(c)

        pending: deque[Future[T]] = deque()
        try:
            for item in items:
                pending.append(self._threads.submit(run, item))
                if len(pending) > self._size:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
