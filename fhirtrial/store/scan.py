"""Streaming reads of current resources for export: by type (and ``_since``) in keyset batches, and by key.

https://hl7.org/fhir/uv/bulkdata/export.html -- constant memory whatever the database size: each batch is one
indexed range query on ``(resource_type, id)`` (the unique index), resumed after the last id seen. Run a whole
export inside :func:`snapshot` so every batch sees the same committed state (SQLite WAL read transaction,
PostgreSQL REPEATABLE READ READ ONLY).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from .failures import translated
from .repository import StoredResource
from .schema import UTCDateTime, resource

_r = resource.c
_UTC = timezone.utc
DEFAULT_BATCH = 1000
_IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and psycopg's parameter limits


@dataclass(frozen=True, slots=True)
class Row:
    """One current resource as stored: its JSON (compact, one line) and version."""

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    body: bytes

    def stored(self) -> StoredResource:
        return StoredResource(self.resource_type, self.id, self.version_id, self.last_updated, False, self.body)


def _engine(repo: Any) -> sa.Engine:
    return repo.engine


def _body_col(conn: sa.Connection) -> Any:
    return sa.cast(_r.body, sa.Text) if conn.dialect.name == "postgresql" else _r.body


def _ts(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _row(rt: str, rid: str, vid: int, ts: Any, body: str) -> Row:
    return Row(rt, rid, vid, _ts(ts), body.encode())


@contextmanager
def snapshot(repo: Any) -> Iterator[sa.Connection]:
    """A read-only connection whose queries all see one consistent committed state until it is closed."""
    with translated(), _engine(repo).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        else:
            with conn.begin():  # BEGIN (deferred): the WAL snapshot is taken at the first read
                yield conn


def _filters(resource_type: str, since: datetime | None, until: datetime | None) -> list[sa.ColumnElement[bool]]:
    where = [_r.resource_type == resource_type, _r.deleted.is_(False)]
    if since is not None:
        where.append(_r.last_updated >= sa.bindparam(None, since, UTCDateTime()))
    if until is not None:
        where.append(_r.last_updated <= sa.bindparam(None, until, UTCDateTime()))
    return where


def count(conn: sa.Connection, resource_type: str, *, since: datetime | None = None,
          until: datetime | None = None) -> int:
    """Current, not deleted resources of one type (modified at or after ``since``)."""
    query = sa.select(sa.func.count()).select_from(resource).where(*_filters(resource_type, since, until))
    return int(conn.execute(query).scalar_one())


def types_present(conn: sa.Connection) -> list[str]:
    """The resource types that have at least one current resource, sorted."""
    query = sa.select(_r.resource_type).where(_r.deleted.is_(False)).distinct().order_by(_r.resource_type)
    return list(conn.execute(query).scalars())


def scan(conn: sa.Connection, resource_type: str, *, since: datetime | None = None, until: datetime | None = None,
         batch: int = DEFAULT_BATCH, after: str | None = None) -> Iterator[list[Row]]:
    """Current resources of one type in id order, ``batch`` at a time; ``after`` resumes past an id."""
    body = _body_col(conn)
    base = (sa.select(_r.resource_type, _r.id, _r.version_id, _r.last_updated, body)
            .where(*_filters(resource_type, since, until)).order_by(_r.id).limit(batch))
    last = after
    while True:
        query = base if last is None else base.where(_r.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        yield [_row(*r) for r in rows]
        if len(rows) < batch:
            return
        last = rows[-1][1]


def fetch(conn: sa.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    """The current, not deleted version of each key that has one (a few IN queries per type)."""
    by_type: dict[str, list[str]] = {}
    for rt, rid in keys:
        by_type.setdefault(rt, []).append(rid)
    body = _body_col(conn)
    found: dict[tuple[str, str], Row] = {}
    for rt, ids in by_type.items():
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start:start + _IN_CHUNK]
            query = sa.select(_r.resource_type, _r.id, _r.version_id, _r.last_updated, body).where(
                _r.resource_type == rt, _r.id.in_(chunk), _r.deleted.is_(False))
            for r in conn.execute(query):
                found[(r[0], r[1])] = _row(*r)
    return found

