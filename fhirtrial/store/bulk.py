"""Bulk writes of whole studies: many studies per transaction, the same rows as the unit of work.

A resource written here is indistinguishable from one written through the REST API
(https://hl7.org/fhir/R4/http.html#update): same ``resource``/``resource_version`` rows, version numbering,
``meta`` (versioning.stamp), no-op detection (versioning.content_key == same_content), index rows and
index mask (IndexWriter), full text. Only the way the SQL is sent differs: the current versions of a whole
batch are read in a few queries and rows go out with ``executemany``.

Atomicity: a batch is first written optimistically in one transaction; if anything fails the transaction
is rolled back and the batch is redone with one SAVEPOINT per study, so a failing study loses only itself.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import orjson
import sqlalchemy as sa

from ..errors import FhirError
from .engine import WRITE
from .failures import DB_ERRORS
from .index_writer import IndexWriter, pg_safe
from .schema import FTS_BIT, FTS_TABLE, INDEX_TABLES, resource, resource_version
from .versioning import comparable_content, stamp

if TYPE_CHECKING:
    from ..ingest.prepare import IndexRows, PreparedResource, PreparedStudy
    from .sql import SQLRepository

Outcome = Literal["created", "updated", "unchanged"]
_FETCH_CHUNK = 400
_UTC = timezone.utc


@dataclass(slots=True)
class Current:
    """The current row of a resource as the writer knows it (read from the database or written in this batch)."""

    pk: int
    version_id: int
    last_updated: datetime
    deleted: bool
    mask: int
    body: str | None = None  # stored JSON, when read from the database
    key: bytes | None = None  # content_key, computed lazily

    def content_key(self) -> bytes | None:
        if self.key is None and self.body is not None:
            self.key = orjson.dumps(comparable_content(orjson.loads(self.body)), option=orjson.OPT_SORT_KEYS)
        return self.key


@dataclass(slots=True)
class ResourceResult:
    resource_type: str
    id: str
    outcome: Outcome
    version_id: int
    last_updated: datetime
    body: bytes | None = None  # set for created/updated versions


@dataclass(slots=True)
class StudyResult:
    study: PreparedStudy
    resources: list[ResourceResult] = field(default_factory=list)
    error: str | None = None

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "failed"
        kinds = {r.outcome for r in self.resources}
        if self.resources and self.resources[0].outcome == "created":
            return "created"
        return "updated" if kinds - {"unchanged"} else "unchanged"


class _Pending:
    """Rows of one unit (a batch, or one study), sent in bulk by ``flush``."""

    __slots__ = ("inserts", "updates", "versions", "clears", "index", "fts", "keys")

    def __init__(self) -> None:
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[tuple[Any, ...]] = []
        self.versions: list[tuple[Any, ...]] = []
        self.clears: list[tuple[str, str, int, int]] = []  # rt, rid, pk, old mask
        self.index: dict[str, list[tuple[Any, ...]]] = {attr: [] for attr in INDEX_TABLES}
        self.fts: list[tuple[Any, ...]] = []
        self.keys: set[tuple[str, str]] = set()


class BulkWriter:
    """Writes PreparedStudy batches into a SQLRepository's tables. One instance per writer; not thread-safe."""

    def __init__(self, repo: SQLRepository) -> None:
        self.repo = repo
        self.engine = repo.engine
        self.postgres = repo.postgres
        self.indexer = repo.indexer
        dialect = self.engine.dialect
        p = "%s" if self.postgres else "?"
        body = f"{p}::jsonb" if self.postgres else p
        self._ts = _binder(resource.c.last_updated, dialect) or (lambda v: v)
        self._insert = (f"INSERT INTO resource (pk, resource_type, id, version_id, last_updated, deleted, "
                        f"index_mask, body) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {body})")
        self._update = (f"UPDATE resource SET version_id = {p}, last_updated = {p}, deleted = {p}, "
                        f"index_mask = {p}, body = {body} WHERE pk = {p}")
        self._version = (f"INSERT INTO resource_version (resource_type, resource_id, version_id, last_updated, "
                         f"deleted, method, body) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {body})")
        self._index_sql: dict[str, str] = {}
        self._index_procs: dict[str, list[Any]] = {}
        self._clear_sql: dict[int, str] = {}
        for attr, (table, bit) in INDEX_TABLES.items():
            cols = [c for c in table.columns if c.name != "pk"]
            self._index_sql[attr] = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
                                     f"VALUES ({', '.join([p] * len(cols))})")
            self._index_procs[attr] = [_binder(c, dialect) for c in cols]
            self._clear_sql[bit] = f"DELETE FROM {table.name} WHERE resource_type = {p} AND resource_id = {p}"
        if self.postgres:
            self._fts_clear = f"DELETE FROM {FTS_TABLE} WHERE resource_pk = %s"
            self._fts_insert = (f"INSERT INTO {FTS_TABLE} (resource_pk, text, content) VALUES "
                                "(%s, to_tsvector('english', %s), to_tsvector('english', %s))")
        else:
            self._fts_clear = f"DELETE FROM {FTS_TABLE} WHERE rowid = ?"
            self._fts_insert = f"INSERT INTO {FTS_TABLE} (rowid, text, content) VALUES (?, ?, ?)"
        self._next_pk = 0
        self._pk_pool: list[int] = []

    # -- public ----------------------------------------------------------------------------------------------
    def write(self, studies: Sequence[PreparedStudy]) -> list[StudyResult]:
        """Store every study that has resources (each all-or-nothing); failed inputs pass through as failed."""
        results = [StudyResult(s, error=s.error) if s.resources is None else StudyResult(s) for s in studies]
        todo = [r for r in results if r.error is None]
        if not todo:
            return results
        try:
            with self.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
                state = self._fetch(conn, todo)
                self._start_pks(conn)
                pending = _Pending()
                for result in todo:
                    self._apply(conn, result, state, state, pending)
                self._flush(conn, pending)
            return results
        except (*DB_ERRORS, FhirError, ValueError, TypeError, OverflowError):
            for result in todo:
                result.resources.clear()
        # Something in the batch failed: redo it one savepoint per study.
        with self.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            state = self._fetch(conn, todo)
            for result in todo:
                self._start_pks(conn)
                overlay: dict[tuple[str, str], Current] = {}
                pending = _Pending()
                savepoint = conn.begin_nested()
                try:
                    self._apply(conn, result, state, overlay, pending)
                    self._flush(conn, pending)
                    savepoint.commit()
                    state.update(overlay)
                except Exception as exc:  # noqa: BLE001 -- this study fails alone
                    savepoint.rollback()
                    result.resources.clear()
                    result.error = _reason(exc)
                    result.study.stage = "write"
        return results

    # -- reading ---------------------------------------------------------------------------------------------
    def _fetch(self, conn: sa.Connection, todo: list[StudyResult]) -> dict[tuple[str, str], Current]:
        """Current versions of every resource of the batch, in one query per type and chunk (locked on PostgreSQL)."""
        wanted: dict[str, set[str]] = {}
        for result in todo:
            for res in result.study.resources or ():
                wanted.setdefault(res.resource_type, set()).add(res.id)
        state: dict[tuple[str, str], Current] = {}
        p = "%s" if self.postgres else "?"
        body = "body::text" if self.postgres else "body"
        lock = " FOR UPDATE" if self.postgres else ""
        for rtype in sorted(wanted):
            ids = sorted(wanted[rtype])
            for start in range(0, len(ids), _FETCH_CHUNK):
                chunk = ids[start:start + _FETCH_CHUNK]
                sql = (f"SELECT pk, id, version_id, last_updated, deleted, index_mask, {body} FROM resource "
                       f"WHERE resource_type = {p} AND id IN ({', '.join([p] * len(chunk))}){lock}")
                for pk, rid, vid, ts, deleted, mask, text in conn.exec_driver_sql(sql, (rtype, *chunk)):
                    state[(rtype, rid)] = Current(pk, vid, _utc(ts), bool(deleted), mask, text)
        return state

    def _start_pks(self, conn: sa.Connection) -> None:
        if not self.postgres:  # single writer under BEGIN IMMEDIATE: the next rowid is ours
            self._next_pk = int(conn.exec_driver_sql("SELECT COALESCE(MAX(pk), 0) FROM resource").scalar_one()) + 1

    def _pk(self, conn: sa.Connection) -> int:
        if not self.postgres:
            pk, self._next_pk = self._next_pk, self._next_pk + 1
            return pk
        if not self._pk_pool:
            self._pk_pool = list(conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('resource', 'pk')) FROM generate_series(1, 512)").scalars())
            self._pk_pool.reverse()
        return self._pk_pool.pop()

    # -- planning --------------------------------------------------------------------------------------------
    def _apply(self, conn: sa.Connection, result: StudyResult, state: dict[tuple[str, str], Current],
               overlay: dict[tuple[str, str], Current], pending: _Pending) -> None:
        for res in result.study.resources or ():
            key = (res.resource_type, res.id)
            cur = overlay.get(key) or state.get(key)
            if cur is not None and not cur.deleted and cur.content_key() == res.key:
                result.resources.append(ResourceResult(res.resource_type, res.id, "unchanged", cur.version_id,
                                                       cur.last_updated))
                continue
            if key in pending.keys:  # written earlier in this unit with other content: keep statement order
                self._flush(conn, pending)
                pending.__init__()  # type: ignore[misc]
            result.resources.append(self._plan(conn, res, cur, overlay, pending))

    def _plan(self, conn: sa.Connection, res: PreparedResource, cur: Current | None,
              overlay: dict[tuple[str, str], Current], pending: _Pending) -> ResourceResult:
        rtype, rid = res.resource_type, res.id
        vid = cur.version_id + 1 if cur is not None else 1
        ts = max(res.ts, cur.last_updated) if cur is not None else res.ts  # versioning.now_ms(not_before)
        index = res.index
        body = res.body
        if vid != 1 or ts != res.ts or index is None:
            stamped, body = stamp(orjson.loads(res.body), rid, vid, ts)
            # meta.lastUpdated is indexed (_lastUpdated, _content): index what is stored
            if ts != res.ts or index is None:
                from ..ingest.prepare import index_rows

                index = index_rows(self.indexer.index(stamped))
        text = body.decode()
        ts_db = self._ts(ts)
        if cur is None or cur.pk is None:
            pk = self._pk(conn)
            pending.inserts.append((pk, rtype, rid, vid, ts_db, False, index.mask, text))
        else:
            pk = cur.pk
            pending.updates.append((vid, ts_db, False, index.mask, text, pk))
            if cur.mask:
                pending.clears.append((rtype, rid, pk, cur.mask))
        pending.versions.append((rtype, rid, vid, ts_db, False, "PUT", text))
        for attr, rows in index.rows.items():
            procs = self._index_procs[attr]
            target = pending.index[attr]
            for row in rows:
                values = (rtype, rid, *row)
                target.append(tuple(proc(v) if proc is not None else v for proc, v in zip(procs, values)))
        if index.text or index.content:
            t, c = index.text or "", index.content or ""
            if self.postgres:
                t, c = pg_safe(t), pg_safe(c)
            pending.fts.append((pk, t, c))
        pending.keys.add((rtype, rid))
        overlay[(rtype, rid)] = Current(pk, vid, ts, False, index.mask, key=res.key)
        return ResourceResult(rtype, rid, "created" if cur is None else "updated", vid, ts, body)

    # -- writing ---------------------------------------------------------------------------------------------
    def _flush(self, conn: sa.Connection, pending: _Pending) -> None:
        run = conn.exec_driver_sql
        for rtype, rid, pk, mask in pending.clears:
            for bit, sql in self._clear_sql.items():
                if mask & bit:
                    run(sql, (rtype, rid))
            if mask & FTS_BIT:
                run(self._fts_clear, (pk,))
        if pending.inserts:
            run(self._insert, pending.inserts)
        if pending.updates:
            run(self._update, pending.updates)
        if pending.versions:
            run(self._version, pending.versions)
        for attr, rows in pending.index.items():
            if rows:
                run(self._index_sql[attr], rows)
        if pending.fts:
            run(self._fts_insert, pending.fts)


def _binder(column: sa.Column[Any], dialect: sa.Dialect) -> Any:
    """What SQLAlchemy does to a value of ``column`` before the driver sees it (UTCDateTime -> naive UTC
    text on SQLite), so bulk rows are byte-identical to the unit of work's."""
    return column.type._cached_bind_processor(dialect)  # what compiled statements use


def _utc(ts: Any) -> datetime:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts.replace(tzinfo=_UTC) if ts.tzinfo is None else ts.astimezone(_UTC)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FhirError):
        return exc.diagnostics
    if isinstance(exc, DB_ERRORS):  # the database's own first line, without translate()'s warning log
        orig = getattr(exc, "orig", None) or exc
        return f"the database refused the study: {str(orig).splitlines()[0] if str(orig) else type(orig).__name__}"
    return f"{type(exc).__name__}: {exc}"
