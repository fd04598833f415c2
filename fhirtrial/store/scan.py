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

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import array_agg

from .failures import translated
from .repository import StoredResource
from .schema import UTCDateTime, resource, resource_version
from .shared_snapshot import SharedSnapshot

_r = resource.c
_UTC = timezone.utc
DEFAULT_BATCH = 1000
PG_WORKERS = 2  # connections turning stored jsonb into NDJSON at once (export on PostgreSQL)
_MMAP_BYTES = 1 << 30
_IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and psycopg's parameter limits


@dataclass(frozen=True, slots=True)
class Row:
    """One current resource as stored: its JSON (compact, one line) and version."""

    resource_type: str
    id: str
    version_id: int
    stamp: Any  # lastUpdated as the driver gave it (SQLite: text), parsed only when asked for
    body: bytes

    @property
    def last_updated(self) -> datetime:
        return _ts(self.stamp)

    def stored(self) -> StoredResource:
        return StoredResource(self.resource_type, self.id, self.version_id, self.last_updated, False, self.body)


def _engine(repo: Any) -> sa.Engine:
    return repo.engine


def _body_col(conn: sa.Connection, column: Any = _r.body) -> Any:
    """SQLite: the body as bytes straight from the file (no str decode and encode per row on the export path).
    PostgreSQL: ``jsonb::text`` (as bytea it would travel hex-encoded, twice the size, for the server to write)."""
    if conn.dialect.name == "postgresql":
        return sa.cast(column, sa.Text)
    return sa.cast(column, sa.LargeBinary)


def _ts(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _row(rt: str, rid: str, vid: int, ts: Any, body: Any) -> Row:
    return Row(rt, rid, vid, ts, body if isinstance(body, bytes) else body.encode())


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
            # Memory-mapped reads spare a copy per page of the bodies an export streams; only for this use of the
            # pooled connection.
            raw = conn.connection.dbapi_connection
            raw.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")  # type: ignore[union-attr]
            try:
                with conn.begin():  # BEGIN (deferred): the WAL snapshot is taken at the first read
                    yield conn
            finally:
                raw.execute("PRAGMA mmap_size=0")  # type: ignore[union-attr]


def _filters(since: datetime | None, until: datetime | None) -> list[sa.ColumnElement[bool]]:
    """Rows to look at: current ones, plus (with ``until``) those changed or deleted after it, whose version as
    of ``until`` comes from the history. ``until`` never narrows the range read, so the scan follows the
    (resource_type, id) index in id order instead of sorting every batch."""
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(_r.last_updated >= sa.bindparam(None, since, UTCDateTime()))
    if until is None:
        where.append(_r.deleted.is_(False))
    else:
        where.append(sa.or_(_r.deleted.is_(False), _r.last_updated > sa.bindparam(None, until, UTCDateTime())))
    return where


def count(conn: sa.Connection, resource_type: str, *, since: datetime | None = None,
          until: datetime | None = None) -> int:
    """Rows a scan of one type looks at (its current resources, modified at or after ``since``)."""
    return counts(conn, [resource_type], since=since, until=until).get(resource_type, 0)


def counts(conn: sa.Connection, resource_types: Iterable[str], *, since: datetime | None = None,
           until: datetime | None = None) -> dict[str, int]:
    """``count`` of several types in one query."""
    query = (sa.select(_r.resource_type, sa.func.count()).where(
        _r.resource_type.in_(list(resource_types)), *_filters(since, until)).group_by(_r.resource_type))
    return {rt: int(n) for rt, n in conn.execute(query)}


def types_present(conn: sa.Connection, *, until: datetime | None = None) -> list[str]:
    """The resource types that have at least one current resource (as of ``until``), sorted."""
    query = sa.select(_r.resource_type).where(*_filters(None, until)).distinct().order_by(_r.resource_type)
    return list(conn.execute(query).scalars())


def scan(conn: sa.Connection, resource_type: str, *, since: datetime | None = None, until: datetime | None = None,
         batch: int = DEFAULT_BATCH, after: str | None = None) -> Iterator[list[Row]]:
    """Resources of one type in id order, ``batch`` rows read at a time (a list per read, possibly empty);
    ``after`` resumes past an id. With ``until``: each resource as it was then (a later change or delete is
    looked through to the version current at ``until``), so an export resumed later writes the same state."""
    body = _body_col(conn)
    # lastUpdated as the driver gives it (SQLite: text, parsed below in one C call, not by two type layers), and
    # whether it is past ``until`` asked of the database
    stamp = _r.last_updated if conn.dialect.name == "postgresql" else sa.type_coerce(_r.last_updated, sa.String)
    later = sa.literal(False) if until is None else _r.last_updated > sa.bindparam(None, until, UTCDateTime())
    base = (sa.select(_r.id, _r.version_id, stamp, _r.deleted, later, body)
            .where(_r.resource_type == resource_type, *_filters(since, until)).order_by(_r.id).limit(batch))
    last = after
    while True:
        query = base if last is None else base.where(_r.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        newer = [r[0] for r in rows if r[4]]
        older = _as_of(conn, resource_type, newer, until) if newer else {}
        out = []
        for rid, vid, ts, deleted, is_newer, data in rows:
            if is_newer:
                was = older[rid]
                if was is not None and (since is None or was.last_updated >= since):
                    out.append(was)
            elif not deleted:
                out.append(Row(resource_type, rid, vid, ts, data if isinstance(data, bytes) else data.encode()))
        yield out
        if len(rows) < batch:
            return
        last = rows[-1][0]


@dataclass(frozen=True, slots=True)
class Lines:
    """One batch of a :func:`lines` scan: ``ndjson`` holds ``count`` resources, one per line (each line ends in a
    newline); ``changed`` the resources changed after ``until``, as they were then; ``looked_at`` the rows read."""

    looked_at: int
    ndjson: bytes
    count: int
    changed: list[Row]


def lines(conn: sa.Connection, resource_type: str, *, since: datetime | None = None,
          until: datetime | None = None, batch: int = DEFAULT_BATCH, workers: int = PG_WORKERS) -> Iterator[Lines]:
    """What :func:`scan` reads, as NDJSON ready to write, batch by batch in id order.

    On PostgreSQL the database joins each batch into one text (``string_agg`` of ``body::text``, which has no
    newline), so no row passes through Python one by one, and ``workers`` connections sharing the snapshot of
    ``conn`` (``pg_export_snapshot``) turn batches into text at once: jsonb to text is the export's largest cost,
    and one connection is one core. Only the few rows changed after ``until`` come as rows, from the history."""
    if conn.dialect.name != "postgresql":
        for rows in scan(conn, resource_type, since=since, until=until, batch=batch):
            bodies = [one_line(r.body) for r in rows]
            yield Lines(len(rows), b"".join(b + b"\n" for b in bodies), len(bodies), [])
        return
    where = [_r.resource_type == resource_type, *_filters(since, until)]
    numbered = sa.select(_r.id, sa.func.row_number().over(order_by=_r.id).label("n")).where(*where).subquery()
    # the id ending each full batch: the batches become id ranges, fetched by several connections at once
    ends = list(conn.execute(sa.select(numbered.c.id).where(numbered.c.n % batch == 0).order_by(numbered.c.id))
                .scalars())
    ranges = list(zip([None, *ends], [*ends, None]))  # (the last is empty when the last batch was full)
    later = sa.literal(False) if until is None else _r.last_updated > sa.bindparam(None, until, UTCDateTime())
    page = sa.select(_r.id, _r.deleted, later.label("later"), _r.body).where(*where).order_by(_r.id)

    def fetch_range(c: sa.Connection, low: str | None, high: str | None) -> tuple[int, str | None, int, list[str]]:
        q = page if low is None else page.where(_r.id > low)
        s = (q if high is None else q.where(_r.id <= high)).subquery()
        shown = sa.and_(s.c.deleted.is_(False), s.c.later.is_(False))
        # Aggregates read the subquery in its (id) order; the order of lines in a file means nothing in NDJSON.
        query = sa.select(sa.func.count(), sa.func.string_agg(sa.cast(s.c.body, sa.Text), sa.literal("\n"))
                          .filter(shown), sa.func.count().filter(shown), array_agg(s.c.id).filter(s.c.later))
        looked_at, text, n, newer = c.execute(query).one()
        return looked_at, text, n, newer or []

    with SharedSnapshot(conn, min(workers, len(ranges))) as pool:
        for looked_at, text, n, newer in pool.map(fetch_range, ranges):
            changed: list[Row] = []
            if newer:
                for row in _as_of(conn, resource_type, newer, until).values():
                    if row is not None and (since is None or row.last_updated >= since):
                        changed.append(row)
            yield Lines(looked_at, (text + "\n").encode() if text else b"", n, changed)


def one_line(body: bytes) -> bytes:
    """A stored body as one NDJSON line (without its newline). Stored JSON is compact, and PostgreSQL's jsonb
    text is one line too: re-encoded only if a newline slipped in."""
    return orjson.dumps(orjson.loads(body)) if b"\n" in body else body


def _as_of(conn: sa.Connection, resource_type: str, ids: list[str], until: datetime | None) -> dict[str, Row | None]:
    """The version of each resource current at ``until`` (None: it did not exist then, or was deleted)."""
    v = resource_version.c
    older = resource_version.alias("older")
    at = sa.bindparam(None, until, UTCDateTime())
    latest = (sa.select(sa.func.max(older.c.version_id)).where(
        older.c.resource_type == v.resource_type, older.c.resource_id == v.resource_id,
        older.c.last_updated <= at).scalar_subquery())
    found: dict[str, Row | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), _IN_CHUNK):
        query = sa.select(v.resource_id, v.version_id, v.last_updated, v.deleted, _body_col(conn, v.body)).where(
            v.resource_type == resource_type, v.resource_id.in_(ids[start:start + _IN_CHUNK]),
            v.version_id == latest)
        for rid, vid, ts, deleted, data in conn.execute(query):
            found[rid] = None if deleted else _row(resource_type, rid, vid, ts, data)
    return found


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

