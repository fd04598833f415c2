"""The read-by-id hot path: one indexed SELECT on a pooled raw DB-API connection, returning stored bytes.

https://hl7.org/fhir/R4/http.html#read -- no ORM, no SQLAlchemy execution overhead, no JSON re-parsing.
"""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from ..errors import Gone, NotFound
from .engine import sqlite_pragmas
from .failures import DB_ERRORS, translate
from .repository import StoredResource

_SQLITE_READ = ("SELECT version_id, last_updated, deleted, body FROM resource "
                "WHERE resource_type = ? AND id = ?")
_PG_READ = ("SELECT version_id, last_updated, deleted, body::text FROM resource "
            "WHERE resource_type = %s AND id = %s")
_UTC = timezone.utc


def current(resource_type: str, resource_id: str, row: Any) -> StoredResource:
    """A read's answer from the row (version_id, last_updated, deleted, body) of ``resource``: NotFound when there
    is none, Gone when it is a delete."""
    if row is None:
        raise NotFound(f"Resource {resource_type}/{resource_id} is not known", expression="id")
    version_id, last_updated, deleted, body = row
    if deleted:
        raise Gone(f"Resource {resource_type}/{resource_id} was deleted (version {version_id})",
                   headers={"ETag": f'W/"{version_id}"'})
    if isinstance(last_updated, str):  # raw sqlite3 (the hot path reads without SQLAlchemy's types)
        last_updated = datetime.fromisoformat(last_updated).replace(tzinfo=_UTC)
    return StoredResource(resource_type, resource_id, version_id, last_updated, False, body.encode())


class Reader:
    """A LIFO pool of autocommit connections used only for single-statement reads."""

    def __init__(self, url: sa.URL, *, busy_timeout_s: float, max_idle: int = 32) -> None:
        self._url = url
        self._sqlite = url.get_backend_name() == "sqlite"
        self._busy_timeout_s = busy_timeout_s
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._sql = _SQLITE_READ if self._sqlite else _PG_READ

    def _connect(self) -> Any:
        if self._sqlite:
            conn = sqlite3.connect(self._url.database or "", timeout=self._busy_timeout_s,
                                   check_same_thread=False, isolation_level=None, cached_statements=64)
            sqlite_pragmas(conn, self._busy_timeout_s)
            return conn
        import psycopg

        u = self._url
        return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database,
                               autocommit=True, prepare_threshold=0, options="-c timezone=UTC",
                               **{k: v for k, v in u.query.items() if isinstance(v, str)})

    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        """The current version; NotFound when there is none, Gone when it is a delete."""
        try:
            row = self._fetch((resource_type, resource_id))
        except DB_ERRORS:
            # An idle connection may have died (server restart, idle timeout): one retry on a fresh one.
            try:
                row = self._fetch((resource_type, resource_id), fresh=True)
            except DB_ERRORS as exc:
                raise translate(exc) from exc
        return current(resource_type, resource_id, row)

    def _fetch(self, params: tuple[str, str], fresh: bool = False) -> Any:
        conn = None
        if not fresh:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = self._connect()
            row = conn.execute(self._sql, params).fetchone()
        except BaseException:
            if conn is not None:
                _close_quietly(conn)
            raise
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return row
        _close_quietly(conn)
        return row

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 -- closing a broken connection must not mask the real error
        pass
