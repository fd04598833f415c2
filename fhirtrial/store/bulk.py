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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

import orjson
import sqlalchemy as sa

from ..errors import FhirError, IndexingError
from . import deferred
from .engine import WRITE
from .failures import DB_ERRORS
from .index_writer import COMPOSITE_COLUMNS, IndexWriter, pg_safe
from .related import Dependents, index_with_related, reindex
from .schema import COMPOSITE_BIT, FTS_BIT, FTS_TABLE, INDEX_TABLES, idx_composite, idx_reference, resource
from .shard import ShardMover, bind_rows
from .versioning import comparable_content, key_digest, stamp

if TYPE_CHECKING:
    from .prepared import IndexRows, PreparedResource, PreparedStudy
    from .sql import SQLRepository

Outcome = Literal["created", "updated", "unchanged"]
_FETCH_CHUNK = 400
_SQLITE_CACHE_KIB = 256 * 1024
_COPY_MIN = 64  # PostgreSQL: tables with at least this many rows in a flush go by COPY
_KEYS_MAX = 200_000  # content keys remembered across batches (BulkWriter._remember)
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
            self.key = key_digest(orjson.dumps(comparable_content(orjson.loads(self.body)),
                                               option=orjson.OPT_SORT_KEYS))
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

    __slots__ = ("inserts", "updates", "versions", "clears", "index", "fts", "keys", "moves")

    def __init__(self) -> None:
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[tuple[Any, ...]] = []
        self.versions: list[tuple[Any, ...]] = []
        self.clears: list[tuple[str, str, int, int]] = []  # rt, rid, pk, old mask
        self.index: dict[str, list[tuple[Any, ...]]] = {attr: [] for attr in _TABLES}
        self.fts: list[tuple[Any, ...]] = []
        self.keys: set[tuple[str, str]] = set()
        self.moves: dict[str, list[tuple[int, int]]] = {}  # shard alias -> (seq, pk) of resources created from it


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
        self._version_from_current = (
            "INSERT INTO resource_version (resource_type, resource_id, version_id, last_updated, deleted, method, "
            "body) SELECT resource_type, id, version_id, last_updated, deleted, 'PUT', body FROM resource "
            "WHERE pk = ANY(%s)")
        self._index_sql: dict[str, str] = {}
        self._index_procs: dict[str, list[Any]] = {}
        self._clear_sql: dict[int, str] = {}
        for attr, (table, bit) in _TABLES.items():
            names = ["resource_type", "resource_id",
                     *(COMPOSITE_COLUMNS if table is idx_composite
                       else (c.name for c in table.columns if c.name not in ("pk", "resource_type", "resource_id")))]
            self._index_sql[attr] = (f"INSERT INTO {table.name} ({', '.join(names)}) "
                                     f"VALUES ({', '.join([p] * len(names))})")
            # only the columns whose values SQLAlchemy converts (dates on SQLite), by position in the row
            procs = [(i - 2, proc) for i, name in enumerate(names)
                     if i >= 2 and (proc := _binder(table.c[name], dialect)) is not None]
            self._index_procs[attr] = procs
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
        self._index_writer = IndexWriter(self.postgres)
        self._dependents = Dependents(self.indexer)
        self._written: set[tuple[str, str]] = set()  # resources given a new version in the current unit
        self._study: dict[str, dict[str, Any]] | None = None  # bodies of the study being planned, by "Type/id"
        self._current: PreparedStudy | None = None
        self._keys: dict[tuple[str, str], tuple[int, bytes]] = {}  # (type, id) -> (version, content key)
        self._deferred = False  # search indexes set aside (defer_indexes): rows go in the owner indexes' order
        self._mover = ShardMover()
        self._aliases: dict[str, str] = {}  # shard path -> schema name it is attached as, during a write
        # Studies prepared into shards (store.shard) are moved inside SQLite; PostgreSQL takes rows as objects.
        self.shards = not self.postgres

    # -- public ----------------------------------------------------------------------------------------------
    def defer_indexes(self, studies: int, *, force: bool = False) -> bool:
        """Set the search indexes aside for an import of ``studies`` studies when that pays (store.deferred);
        True when they are (now or from an unfinished earlier import) set aside."""
        with self.engine.connect() as conn:
            if not (force or deferred.worth_it(conn, studies)):
                return False
        deferred.set_aside(self.engine)
        self._deferred = True
        return True

    def build_indexes(self, on_index: Any = None) -> list[str]:
        """Build every index set aside (store.deferred.build)."""
        built = deferred.build(self.engine, on_index)
        self._deferred = False
        return built

    def write(self, studies: Sequence[PreparedStudy]) -> list[StudyResult]:
        """Store every study that has resources (each all-or-nothing); failed inputs pass through as failed."""
        results = [StudyResult(s, error=s.error) if s.resources is None else StudyResult(s) for s in studies]
        todo = [r for r in results if r.error is None]
        if not todo:
            return results
        shards = sorted({s.shard for s in studies if s.shard is not None and s.resources is not None})
        try:
            with self._connect(shards) as conn, conn.begin():
                self._pragmas(conn)
                state = self._fetch(conn, todo)
                self._start_pks(conn)
                pending = _Pending()
                self._written = set()
                for result in todo:
                    self._apply(conn, result, state, state, pending)
                self._flush(conn, pending)
                self._reindex_dependents(conn, state)
            self._remember(state)
            return results
        except (*DB_ERRORS, FhirError, ValueError, TypeError, OverflowError):
            for result in todo:
                result.resources.clear()
        # Something in the batch failed: redo it one savepoint per study.
        self._keys.clear()
        with self._connect(shards) as conn, conn.begin():
            state = self._fetch(conn, todo)
            for result in todo:
                self._start_pks(conn)
                overlay: dict[tuple[str, str], Current] = {}
                pending = _Pending()
                self._written = set()
                savepoint = conn.begin_nested()
                try:
                    self._apply(conn, result, state, overlay, pending)
                    self._flush(conn, pending)
                    self._reindex_dependents(conn, overlay, state)
                    savepoint.commit()
                    state.update(overlay)
                except Exception as exc:  # noqa: BLE001 -- this study fails alone
                    savepoint.rollback()
                    result.resources.clear()
                    result.error = _reason(exc)
                    result.study.stage = "index" if isinstance(exc, IndexingError) else "write"
        self._remember(state)
        return results

    @contextmanager
    def _connect(self, shards: list[str]) -> Iterator[sa.Connection]:
        """A write connection with the ``shards`` attached (outside any transaction, as SQLite requires), and
        detached again before it returns to the pool."""
        with self.engine.connect().execution_options(**{WRITE: True}) as conn:
            raw = conn.connection.driver_connection  # type: ignore[union-attr]
            self._aliases = {}
            try:
                for n, path in enumerate(shards):
                    alias = f"shard{n}"
                    raw.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
                    self._aliases[path] = alias
                if shards:
                    self._mover.prepare(raw)
                yield conn
            finally:
                for alias in self._aliases.values():
                    raw.execute(f"DETACH DATABASE {alias}")
                self._aliases = {}

    def _remember(self, state: dict[tuple[str, str], Current]) -> None:
        """Keep the content keys of a committed unit: shared resources (sponsors, sites) come back in almost
        every batch, and their stored body need not be read and parsed again while its version is the same."""
        if len(self._keys) + len(state) > _KEYS_MAX:
            self._keys.clear()
        for key, cur in state.items():
            if cur.key is not None and not cur.deleted:
                self._keys[key] = (cur.version_id, cur.key)

    def _pragmas(self, conn: sa.Connection) -> None:
        """A larger page cache for the import's connection (the index B-trees of a batch stay in memory).
        Durability is unchanged: WAL with synchronous=NORMAL (engine.sqlite_pragmas), so a killed import
        loses at most the batch in flight, never a part of a study."""
        if not self.postgres:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")

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
            unknown: list[str] = []  # ids whose content key is not remembered for the stored version
            for chunk in _chunks(ids):
                sql = (f"SELECT pk, id, version_id, last_updated, deleted, index_mask FROM resource "
                       f"WHERE resource_type = {p} AND id IN ({', '.join([p] * len(chunk))}){lock}")
                for pk, rid, vid, ts, deleted, mask in conn.exec_driver_sql(sql, (rtype, *chunk)):
                    known = self._keys.get((rtype, rid))
                    key = known[1] if known is not None and known[0] == vid else None
                    state[(rtype, rid)] = Current(pk, vid, _utc(ts), bool(deleted), mask, key=key)
                    if key is None and not deleted:
                        unknown.append(rid)
            for chunk in _chunks(unknown):
                sql = (f"SELECT id, {body} FROM resource "
                       f"WHERE resource_type = {p} AND id IN ({', '.join([p] * len(chunk))})")
                for rid, text in conn.exec_driver_sql(sql, (rtype, *chunk)):
                    state[(rtype, rid)].body = text
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
        self._study = None
        self._current = result.study
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
            if res.seq is not None:
                if cur is None and res.index is not None:  # a new resource: its rows move inside SQLite
                    result.resources.append(self._move(conn, res, overlay, pending))
                    continue
                res = self._loaded(conn, res)
            result.resources.append(self._plan(conn, res, cur, overlay, pending))

    def _move(self, conn: sa.Connection, res: PreparedResource, overlay: dict[tuple[str, str], Current],
              pending: _Pending) -> ResourceResult:
        """Plan the creation of a resource whose rows are in the study's shard (version 1, as prepared)."""
        assert self._current is not None and self._current.shard is not None and res.index is not None
        rtype, rid = res.resource_type, res.id
        pk = self._pk(conn)
        pending.moves.setdefault(self._aliases[self._current.shard], []).append((res.seq, pk))  # type: ignore[arg-type]
        pending.keys.add((rtype, rid))
        self._written.add((rtype, rid))
        overlay[(rtype, rid)] = Current(pk, 1, res.ts, False, res.index.mask, key=res.key)
        return ResourceResult(rtype, rid, "created", 1, res.ts)

    def _loaded(self, conn: sa.Connection, res: PreparedResource) -> PreparedResource:
        """``res`` with its body and index rows read back from its study's shard."""
        from .prepared import IndexRows, PreparedResource

        assert self._current is not None and self._current.shard is not None and res.seq is not None
        body, index = self._mover.load(conn, self._aliases[self._current.shard], res.seq)
        return PreparedResource(res.resource_type, res.id, res.key, body, res.ts,
                                IndexRows(*index) if index is not None else None, res.warnings)

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
                index = self._index_here(conn, stamped, pending)
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
            pending.index[attr].extend(bind_rows(rtype, rid, rows, self._index_procs[attr]))
        if index.text or index.content:
            t, c = index.text or "", index.content or ""
            if self.postgres:
                t, c = pg_safe(t), pg_safe(c)
            pending.fts.append((pk, t, c))
        pending.keys.add((rtype, rid))
        self._written.add((rtype, rid))
        overlay[(rtype, rid)] = Current(pk, vid, ts, False, index.mask, key=res.key)
        return ResourceResult(rtype, rid, "created" if cur is None else "updated", vid, ts, body)

    def _index_here(self, conn: sa.Connection, stamped: dict[str, Any], pending: _Pending) -> IndexRows:
        """Index rows computed by the writer (rare: a clock step back, a shared resource the worker skipped,
        a resolved resource outside the study), with related resources as the unit of work resolves them:
        the study's own from the batch, any other from the database as written so far."""
        from .prepared import index_rows

        wanted = getattr(self.indexer, "references_to_resolve", None)
        keys = wanted(stamped) if wanted is not None else []
        if keys and self._study is None:
            study = self._current.resources if self._current is not None else None
            self._study = {f"{r.resource_type}/{r.id}": orjson.loads(r.body if r.seq is None else
                                                                      self._loaded(conn, r).body)
                           for r in study or ()}
        if any(k not in (self._study or {}) for k in keys):
            self._flush(conn, pending)  # the database must hold what this unit wrote so far
            pending.__init__()  # type: ignore[misc]
        return index_rows(index_with_related(conn, self.indexer, stamped, self.postgres, preloaded=self._study))

    def _reindex_dependents(self, conn: sa.Connection, *states: dict[tuple[str, str], Current]) -> None:
        """What the unit of work does after each write (unit_of_work._reindex_dependents), once per unit: the
        resources not written in this unit whose index resolves one that was, get their index rows rewritten."""
        if not self._written or not hasattr(self.indexer, "references_to_resolve"):
            return
        by_type: dict[str, list[str]] = {}
        for rtype, rid in self._written:
            by_type.setdefault(rtype, []).append(rid)
        p = "%s" if self.postgres else "?"
        found: dict[tuple[str, str], set[str]] = {}
        for ttype in sorted(by_type):
            ids = sorted(by_type[ttype])
            for chunk in _chunks(ids):
                sql = (f"SELECT DISTINCT resource_type, resource_id, target_id FROM {idx_reference.name} "
                       f"WHERE target_type = {p} AND target_id IN ({', '.join([p] * len(chunk))})")
                for rtype, rid, tid in conn.exec_driver_sql(sql, (ttype, *chunk)):
                    if (rtype, rid) not in self._written and (rtype, rid) != (ttype, tid) \
                            and self._dependents.resolving(rtype):
                        found.setdefault((rtype, rid), set()).add(f"{ttype}/{tid}")
        p_mask = f"SELECT index_mask FROM resource WHERE resource_type = {p} AND id = {p}"
        for key in sorted(found):
            for target in sorted(found[key]):
                if reindex(conn, self.indexer, self._index_writer, self.postgres, *key, only_if_resolves=target):
                    mask = conn.exec_driver_sql(p_mask, key).scalar_one()
                    for state in states:
                        if key in state:
                            state[key].mask = mask
                    break

    def _copy(self, conn: sa.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: COPY ... FROM STDIN of the rows an ``INSERT INTO t (columns) VALUES ...`` statement would
        insert (same values as its parameters; text input, so a JSON body goes into jsonb as it would by cast)."""
        columns = sql[sql.index("(") + 1:sql.index(")")]
        table = sql.split()[2]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

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
            if self.postgres and len(pending.inserts) >= _COPY_MIN:
                self._copy(conn, self._insert, pending.inserts)
            else:
                run(self._insert, pending.inserts)
        if pending.updates:
            run(self._update, pending.updates)
        if pending.versions and self.postgres:
            # The history rows copy the jsonb just stored: PostgreSQL parses each body once, not twice.
            pks = [row[0] for row in pending.inserts] + [row[-1] for row in pending.updates]
            run(self._version_from_current, (pks,))
        elif pending.versions:
            run(self._version, pending.versions)
        for attr, rows in pending.index.items():
            if rows:
                key = _owner_order if self._deferred else _SEARCH_ORDER.get(attr)
                if key is not None and not self.postgres and len(rows) > 1:
                    # the order of the index that is kept up to date: B-tree inserts land on neighbouring pages
                    rows.sort(key=key)
                if self.postgres and len(rows) >= _COPY_MIN:
                    self._copy(conn, self._index_sql[attr], rows)
                else:
                    run(self._index_sql[attr], rows)
        if pending.fts:
            run(self._fts_insert, pending.fts)
        order = {} if self._deferred else _SHARD_SEARCH_ORDER
        for alias, moves in pending.moves.items():
            self._mover.move(conn, alias, moves, order)


# index rows by IndexRows key: the INDEX_TABLES, then idx_composite (IndexWriter.write)
_TABLES: dict[str, tuple[sa.Table, int]] = {**INDEX_TABLES, "composites": (idx_composite, COMPOSITE_BIT)}


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _FETCH_CHUNK):
        yield ids[start:start + _FETCH_CHUNK]


# (resource_type, resource_id): the leading columns of every owner index (a C key; sort is stable, so each
# resource's rows keep their order)
_owner_order = itemgetter(0, 1)

# Row -> sort key of the table's search index (ix_token_search, ix_string_search): (resource_type, resource_id,
# param, ...entry fields) rows sorted by (resource_type, param, value).
_SEARCH_ORDER: dict[str, Any] = {
    "tokens": lambda r: (r[0], r[2], r[4] or "", r[3] or ""),
    "strings": lambda r: (r[0], r[2], r[3][:128]),
}


# The same orders for rows moved from a shard (store.shard), as SQL.
_SHARD_SEARCH_ORDER: dict[str, str] = {
    "tokens": "resource_type, param, coalesce(code, ''), coalesce(system, '')",
    "strings": "resource_type, param, substr(normalized, 1, 128)",
}


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
