"""Import shards: a worker's finished rows in a SQLite file of its own, moved into the store inside SQLite.

https://www.sqlite.org/lang_attach.html and https://www.sqlite.org/lang_insert.html (INSERT ... SELECT).
A worker process writes the rows of the studies it prepared (stamped bodies, full text, every index table's
rows, already in the database's text form) into a fresh shard file and hands the writer only what it needs to
decide versions: type, id, content digest. The writer ATTACHes the shard and moves the rows of every resource it
creates with one ``INSERT ... SELECT`` per table, so those rows never become Python objects in its process.
Anything else (an update, a resource the worker did not index) is read back from the shard and written the
usual way. A shard is written once, read once, then deleted; it is never the record of anything, so a killed
import leaves at most stale files behind, which the next import removes (``sweep``).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from .index_writer import COMPOSITE_COLUMNS
from .liveness import pid_alive
from .schema import COMPOSITE_BIT, FTS_TABLE, INDEX_TABLES, UTCDateTime, idx_composite, resource

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .prepared import PreparedResource

Indexed = tuple[dict[str, list[tuple[Any, ...]]], int, str, str]  # store.prepared.IndexRows' fields
# A shard index row's rowid is seq << _SHIFT | its position among the resource's rows in that table: the rows of
# one resource are one rowid range, and the resource they belong to is rowid >> _SHIFT.
_SHIFT = 20
_DIALECT = SQLiteDialect_pysqlite()
_PREFIX = "fhirtrial-shards-"
_UTC_TYPE = UTCDateTime()
# IndexRows key -> (table, mask bit): INDEX_TABLES, then idx_composite (IndexWriter.write's order).
TABLES: dict[str, tuple[sa.Table, int]] = {**INDEX_TABLES, "composites": (idx_composite, COMPOSITE_BIT)}


def columns(attr: str) -> list[str]:
    """The columns of an index table after its owner (resource_type, resource_id), in IndexRows' tuple order."""
    table = TABLES[attr][0]
    if table is idx_composite:
        return list(COMPOSITE_COLUMNS)
    return [c.name for c in table.columns if c.name not in ("pk", "resource_type", "resource_id")]


def binders(attr: str, dialect: sa.Dialect) -> list[tuple[int, Any]]:
    """(position in the row, converter) for the columns whose values SQLAlchemy converts before the driver sees
    them (UTCDateTime -> naive UTC text on SQLite), so rows written in bulk equal the unit of work's."""
    table = TABLES[attr][0]
    return [(i, proc) for i, name in enumerate(columns(attr))
            if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None]


def bind_rows(rtype: str, rid: str, rows: list[tuple[Any, ...]], procs: list[tuple[int, Any]]) -> list[tuple[Any, ...]]:
    """``rows`` with their owner columns in front and their values converted by ``procs``."""
    if not procs:
        return [(rtype, rid, *row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, proc in procs:
            if values[i] is not None:
                values[i] = proc(values[i])
        out.append((rtype, rid, *values))
    return out


class ShardWriter:
    """Writes prepared resources into a new shard file (a worker's side). Not durable on purpose: a shard that
    did not reach its writer is prepared again by the next import."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("BEGIN")
        self._conn.execute("CREATE TABLE resource (seq INTEGER PRIMARY KEY, resource_type, id, last_updated, "
                           "index_mask, body)")
        self._conn.execute("CREATE TABLE fts (seq INTEGER PRIMARY KEY, text, content)")
        for attr, (table, _bit) in TABLES.items():
            self._conn.execute(f"CREATE TABLE {table.name} (rowid INTEGER PRIMARY KEY, resource_type, "
                               f"resource_id, {', '.join(columns(attr))})")
        self._ts = resource.c.last_updated.type._cached_bind_processor(_DIALECT)
        self._procs = {attr: binders(attr, _DIALECT) for attr in TABLES}
        self._resources: list[tuple[Any, ...]] = []
        self._fts: list[tuple[Any, ...]] = []
        self._rows: dict[str, list[tuple[Any, ...]]] = {attr: [] for attr in TABLES}
        self._seq = 0

    def add(self, res: PreparedResource) -> None:
        """Queue ``res``'s rows and leave in it only what the writer decides with (``seq``, key, mask)."""
        self._seq += 1
        seq = res.seq = self._seq
        index = res.index
        self._resources.append((seq, res.resource_type, res.id, self._ts(res.ts),
                                index.mask if index is not None else None, res.body.decode()))
        res.body = b""
        if index is None:
            return
        if index.text or index.content:
            self._fts.append((seq, index.text or "", index.content or ""))
        base = seq << _SHIFT
        for attr, rows in index.rows.items():
            bound = bind_rows(res.resource_type, res.id, rows, self._procs[attr])
            self._rows[attr].extend((base + k, *row) for k, row in enumerate(bound))
        index.rows, index.text, index.content = {}, "", ""

    def close(self) -> None:
        conn = self._conn
        conn.executemany("INSERT INTO resource VALUES (?, ?, ?, ?, ?, ?)", self._resources)
        conn.executemany("INSERT INTO fts VALUES (?, ?, ?)", self._fts)
        for attr, rows in self._rows.items():
            if rows:
                table = TABLES[attr][0].name
                conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        conn.execute("COMMIT")
        conn.close()


class ShardMover:
    """The writer's side: SQL that moves chosen resources of an attached shard into the store, and reads one
    back as a PreparedResource's body and IndexRows."""

    def __init__(self) -> None:
        self._procs = {attr: [(i, _from_text) for i, name in enumerate(columns(attr))
                              if isinstance(TABLES[attr][0].c[name].type, UTCDateTime)] for attr in TABLES}

    @staticmethod
    def prepare(raw: sqlite3.Connection) -> None:
        """The temporary table of moves (shard seq -> the pk the writer gave the resource), on this connection."""
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS shard_move (seq INTEGER PRIMARY KEY, pk INTEGER)")

    @staticmethod
    def move(conn: sa.Connection, alias: str, moves: list[tuple[int, int]], order_by: dict[str, str]) -> None:
        """Insert the resources ``moves`` names ((seq, pk) pairs) from shard ``alias``: resource, history,
        full text and index rows (in ``order_by``'s order per table, else the owner's), as version 1."""
        run = conn.exec_driver_sql
        run("DELETE FROM temp.shard_move")
        run("INSERT INTO temp.shard_move (seq, pk) VALUES (?, ?)", moves)
        picked = "FROM temp.shard_move m JOIN {a}.{t} r ON r.seq = m.seq".format
        run("INSERT INTO resource (pk, resource_type, id, version_id, last_updated, deleted, index_mask, body) "
            f"SELECT m.pk, r.resource_type, r.id, 1, r.last_updated, 0, r.index_mask, r.body "
            f"{picked(a=alias, t='resource')} ORDER BY m.pk")
        run("INSERT INTO resource_version (resource_type, resource_id, version_id, last_updated, deleted, method, "
            f"body) SELECT r.resource_type, r.id, 1, r.last_updated, 0, 'PUT', r.body {picked(a=alias, t='resource')}")
        run(f"INSERT INTO {FTS_TABLE} (rowid, text, content) SELECT m.pk, r.text, r.content "
            f"{picked(a=alias, t='fts')}")
        for attr, (table, _bit) in TABLES.items():
            names = ", ".join(["resource_type", "resource_id", *columns(attr)])
            order = order_by.get(attr, "resource_type, resource_id, rowid")
            run(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {alias}.{table.name} "
                f"WHERE (rowid >> {_SHIFT}) IN (SELECT seq FROM temp.shard_move) ORDER BY {order}")

    def load(self, conn: sa.Connection, alias: str, seq: int) -> tuple[bytes, Indexed | None]:
        """The stamped body and the index (rows, mask, text, content; None: not indexed by the worker) of
        shard resource ``seq``."""
        run = conn.exec_driver_sql
        mask, body = run(f"SELECT index_mask, body FROM {alias}.resource WHERE seq = ?", (seq,)).one()
        if mask is None:
            return body.encode(), None
        fts = run(f"SELECT text, content FROM {alias}.fts WHERE seq = ?", (seq,)).first()
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for attr, (table, _bit) in TABLES.items():
            found = run(f"SELECT {', '.join(columns(attr))} FROM {alias}.{table.name} WHERE rowid BETWEEN ? AND ? "
                        "ORDER BY rowid", (seq << _SHIFT, ((seq + 1) << _SHIFT) - 1)).all()
            if found:
                procs = self._procs[attr]
                rows[attr] = [_unbind(tuple(r), procs) for r in found]
        text, content = fts if fts is not None else ("", "")
        return body.encode(), (rows, mask, text, content)


def _from_text(value: Any) -> Any:
    """The inverse of a date column's bind converter: naive UTC text back to an aware datetime."""
    return _UTC_TYPE.process_result_value(value, _DIALECT)


def _unbind(row: tuple[Any, ...], procs: list[tuple[int, Any]]) -> tuple[Any, ...]:
    if not procs:
        return row
    values = list(row)
    for i, proc in procs:
        if values[i] is not None:
            values[i] = proc(values[i])
    return tuple(values)


def shard_dir() -> Path:
    """A new directory for this process's shards, in the system's temporary directory."""
    sweep()
    return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))


def sweep(root: str | Path | None = None) -> list[Path]:
    """Remove the shard directories of imports whose process is gone (killed before it could clean up)."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            pid = int(path.name[len(_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed

