"""One write transaction: version checks under lock, a new version row, and the index rows beside it.

https://hl7.org/fhir/R4/http.html#concurrency (If-Match, 412) and https://hl7.org/fhir/R4/http.html#update
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from ..errors import Conflict, PreconditionFailed
from ..search.index import Indexer, ResourceIndex
from .claims import Claims
from .failures import translated
from .index_writer import IndexWriter
from .related import Dependents, index_with_related, reindex
from .repository import StoredResource, WriteResult
from .schema import resource, resource_version
from .versioning import check_body, check_id, check_type, now_ms, same_content, stamp

P = ParamSpec("P")
T = TypeVar("T")


def _db(fn: Callable[P, T]) -> Callable[P, T]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with translated():
            return fn(*args, **kwargs)
    return wrapper


class Statements:
    """The write transaction's statements, built once per repository (SQLAlchemy caches their compiled form)."""

    def __init__(self, postgres: bool) -> None:
        r = resource.c
        body = sa.cast(r.body, sa.Text).label("body") if postgres else r.body
        self.lock = (sa.select(r.pk, r.version_id, r.last_updated, r.deleted, r.index_mask, body)
                     .where(r.resource_type == sa.bindparam("rt"), r.id == sa.bindparam("rid"))
                     .with_for_update())
        body_param: Any = (sa.cast(sa.bindparam("body", type_=sa.Text), resource.c.body.type)
                           if postgres else sa.bindparam("body"))
        insert = postgresql.insert if postgres else sqlite.insert
        self.insert_current = (insert(resource).values(
            resource_type=sa.bindparam("rt"), id=sa.bindparam("rid"), version_id=sa.bindparam("vid"),
            last_updated=sa.bindparam("ts"), deleted=sa.bindparam("deleted"), index_mask=sa.bindparam("mask"),
            body=body_param).on_conflict_do_nothing(index_elements=["resource_type", "id"]).returning(r.pk))
        self.update_current = resource.update().where(r.pk == sa.bindparam("row_pk")).values(
            version_id=sa.bindparam("vid"), last_updated=sa.bindparam("ts"), deleted=sa.bindparam("deleted"),
            index_mask=sa.bindparam("mask"), body=body_param)
        self.insert_version = resource_version.insert().values(
            resource_type=sa.bindparam("rt"), resource_id=sa.bindparam("rid"), version_id=sa.bindparam("vid"),
            last_updated=sa.bindparam("ts"), deleted=sa.bindparam("deleted"), method=sa.bindparam("method"),
            body=body_param)
        self.claims = Claims(postgres)


class SQLUnitOfWork:
    """The UnitOfWork of SQLRepository, bound to one connection inside an open write transaction."""

    def __init__(self, conn: sa.Connection, statements: Statements, indexer: Indexer, writer: IndexWriter,
                 find_ids: Callable[..., list[str]], dependents: Dependents | None = None) -> None:
        self._conn = conn
        self._sql = statements
        self._indexer = indexer
        self._writer = writer
        self._find_ids = find_ids
        self._dependents = dependents if dependents is not None else Dependents(indexer)

    @property
    def connection(self) -> sa.Connection:
        """The transaction's connection (reads that must see its writes, store/atomic.py)."""
        return self._conn

    # -- reads ---------------------------------------------------------------------------------------------
    def _lock(self, resource_type: str, resource_id: str) -> Row[Any] | None:
        return self._conn.execute(self._sql.lock, {"rt": resource_type, "rid": resource_id}).first()

    @staticmethod
    def _stored(resource_type: str, resource_id: str, row: Row[Any], method: str = "PUT") -> StoredResource:
        _pk, vid, ts, deleted, _mask, body = row
        return StoredResource(resource_type, resource_id, vid, ts, bool(deleted),
                              None if deleted or body is None else body.encode(), method)

    @_db
    def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        row = self._lock(resource_type, resource_id)
        return None if row is None else self._stored(resource_type, resource_id, row)

    @_db
    def find_ids(self, resource_type: str, criteria: dict[str, list[str]]) -> list[str]:
        return self._find_ids(self._conn, resource_type, criteria)  # the search engine, inside this transaction

    @_db
    def claim(self, resource_type: str, criteria: dict[str, list[str]], resource_id: str, *,
              replacing: str | None = None) -> str | None:
        return self._sql.claims.claim(self._conn, resource_type, criteria, resource_id, replacing)

    # -- writes --------------------------------------------------------------------------------------------
    @_db
    def create(self, resource_type: str, resource: dict[str, Any], resource_id: str | None = None) -> WriteResult:
        check_type(resource_type)
        check_body(resource_type, None, resource)
        if resource_id is None:
            rid = str(uuid.uuid4())
            stored = self._write(resource_type, rid, None, resource, "POST")
            assert stored is not None  # a fresh uuid cannot collide
            return WriteResult(stored, "created")
        check_id(resource_id)
        for _ in range(2):
            row = self._lock(resource_type, resource_id)
            if row is not None and not row.deleted:
                raise Conflict(f"Resource {resource_type}/{resource_id} already exists", expression="id")
            stored = self._write(resource_type, resource_id, row, resource, "POST")
            if stored is not None:
                return WriteResult(stored, "created")
        raise Conflict(f"Resource {resource_type}/{resource_id} already exists", expression="id")

    @_db
    def update(self, resource_type: str, resource_id: str, resource: dict[str, Any], *,
               if_match: int | None = None, method: str = "PUT") -> WriteResult:
        check_type(resource_type)
        check_id(resource_id)
        check_body(resource_type, resource_id, resource)
        for _ in range(2):
            row = self._lock(resource_type, resource_id)
            _check_version(resource_type, resource_id, row, if_match)
            if row is not None and not row.deleted and row.body is not None \
                    and same_content(row.body.encode(), resource):
                return WriteResult(self._stored(resource_type, resource_id, row), "unchanged")
            stored = self._write(resource_type, resource_id, row, resource, method)
            if stored is not None:
                return WriteResult(stored, "updated" if row is not None and not row.deleted else "created")
        # Only reachable if the row that beat us to the insert vanished again, which logical deletes rule out.
        raise Conflict(f"Concurrent creation of {resource_type}/{resource_id}; retry")

    @_db
    def delete(self, resource_type: str, resource_id: str, *, if_match: int | None = None) -> WriteResult:
        check_type(resource_type)
        row = self._lock(resource_type, resource_id)
        _check_version(resource_type, resource_id, row, if_match)
        if row is None:
            return WriteResult(StoredResource(resource_type, resource_id, 0, now_ms(), True, None, "DELETE"), "gone")
        if row.deleted:
            return WriteResult(self._stored(resource_type, resource_id, row, "DELETE"), "gone")
        stored = self._write(resource_type, resource_id, row, None, "DELETE")
        assert stored is not None
        return WriteResult(stored, "deleted")

    def _write(self, resource_type: str, resource_id: str, row: Row[Any] | None,
               content: dict[str, Any] | None, method: str) -> StoredResource | None:
        """Write the next version (``content`` None: a delete). None when a concurrent transaction created
        the resource first (the caller locks the new row and retries)."""
        vid = row.version_id + 1 if row is not None else 1
        ts = now_ms(row.last_updated if row is not None else None)
        body: bytes | None = None
        index = ResourceIndex()
        if content is not None:
            stamped, body = stamp(content, resource_id, vid, ts)
            index = index_with_related(self._conn, self._indexer, stamped, self._writer.postgres)
        text = body.decode() if body is not None else None
        params = {"rt": resource_type, "rid": resource_id, "vid": vid, "ts": ts, "deleted": content is None,
                  "body": text, "mask": self._writer.mask(index), "method": method}
        if row is None:
            pk = self._conn.execute(self._sql.insert_current, params).scalar()
            if pk is None:
                return None
        else:
            pk = row.pk
            self._conn.execute(self._sql.update_current, {**params, "row_pk": pk})
            self._writer.clear(self._conn, resource_type, resource_id, pk, row.index_mask)
        self._conn.execute(self._sql.insert_version, params)
        self._writer.write(self._conn, resource_type, resource_id, pk, index)
        self._reindex_dependents(resource_type, resource_id)
        return StoredResource(resource_type, resource_id, vid, ts, content is None, body, method)


    def _reindex_dependents(self, resource_type: str, resource_id: str) -> None:
        """A changed Group/PlanDefinition feeds the index of the studies that resolve it: rewrite theirs."""
        key = f"{resource_type}/{resource_id}"
        for rtype, rid in self._dependents.referencing(self._conn, resource_type, resource_id):
            if (rtype, rid) != (resource_type, resource_id):
                reindex(self._conn, self._indexer, self._writer, self._writer.postgres, rtype, rid,
                        only_if_resolves=key)


def _check_version(resource_type: str, resource_id: str, row: Row[Any] | None, if_match: int | None) -> None:
    if if_match is None:
        return
    current = row.version_id if row is not None else None
    if current != if_match:
        have = f"the current version is {current}" if current is not None else "it does not exist"
        raise PreconditionFailed(f"If-Match version {if_match} of {resource_type}/{resource_id} does not match: "
                                 f"{have}", expression="If-Match")
