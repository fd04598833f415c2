"""SQLRepository: the Repository on SQLite (WAL) or PostgreSQL (JSONB), https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..errors import Gone, InvalidRequest, NotFound
from ..search.index import Indexer, NoIndexer
from . import lookup
from .atomic import AtomicRepository
from .engine import BUSY_TIMEOUT_S, WRITE, create_engine, is_postgres
from .failures import translated
from .history import history_page
from .index_writer import IndexWriter
from .freshness import Freshness, open_freshness
from .reader import Reader
from .related import Dependents
from .repository import HistoryPage, Key, SearchPage, StoredResource, Visible
from .search import SearchEngine
from .schema import resource, resource_version
from .unit_of_work import SQLUnitOfWork, Statements


if TYPE_CHECKING:
    from ..search.request import SearchRequest


class SQLRepository:
    """Versioned resources in SQL. Thread-safe: share one instance per process.

    ``indexer`` turns each stored version into search index rows, written in the same transaction.
    ``find_ids`` (conditional interactions) runs the search engine, so it accepts every search parameter.
    """

    def __init__(self, url: str, indexer: Indexer | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S,
                 pool_size: int = 10) -> None:
        self.engine = create_engine(url, busy_timeout_s=busy_timeout_s, pool_size=pool_size)
        self.indexer: Indexer = indexer if indexer is not None else NoIndexer()
        self.postgres = is_postgres(self.engine)
        self._writer = IndexWriter(self.postgres)
        self._statements = Statements(self.postgres)
        self._reader = Reader(self.engine.url, busy_timeout_s=busy_timeout_s)
        self._busy_timeout_s = busy_timeout_s
        self._probes: list[Freshness] = []
        self._search = SearchEngine(self.postgres)
        self._dependents = Dependents(self.indexer)
        v = resource_version.c
        body = sa.cast(v.body, sa.Text) if self.postgres else v.body
        self._vread = sa.select(v.last_updated, v.deleted, v.method, body).where(
            v.resource_type == sa.bindparam("rt"), v.resource_id == sa.bindparam("rid"),
            v.version_id == sa.bindparam("vid"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- Repository ----------------------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        return self._reader.read(resource_type, resource_id)

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource:
        with translated(), self.engine.connect() as conn:
            return self.vread_in(conn, resource_type, resource_id, version_id)

    def vread_in(self, conn: sa.Connection, resource_type: str, resource_id: str, version_id: int) -> StoredResource:
        """``vread`` on an open connection (a transaction's, store/atomic.py)."""
        row = conn.execute(self._vread, {"rt": resource_type, "rid": resource_id, "vid": version_id}).first()
        if row is None:
            raise NotFound(f"Version {version_id} of {resource_type}/{resource_id} is not known",
                           expression="vid")
        ts, deleted, method, body = row
        if deleted:
            raise Gone(f"Version {version_id} of {resource_type}/{resource_id} is a delete",
                       headers={"ETag": f'W/"{version_id}"'})
        return StoredResource(resource_type, resource_id, version_id, ts, False, body.encode(), method)

    def history(self, resource_type: str | None, resource_id: str | None, *, since: datetime | None = None,
                at: datetime | None = None, count: int = 20, cursor: str | None = None) -> HistoryPage:
        with translated(), self.engine.connect() as conn:
            return history_page(conn, resource_type, resource_id, since=since, at=at, count=count, cursor=cursor)

    @contextmanager
    def unit_of_work(self) -> Iterator[SQLUnitOfWork]:
        """A write transaction (SQLite: BEGIN IMMEDIATE); commits on normal exit, rolls back on any exception."""
        with translated(), self.engine.connect().execution_options(**{WRITE: True}) as conn:
            with conn.begin():
                yield SQLUnitOfWork(conn, self._statements, self.indexer, self._writer, self._find_ids,
                                    self._dependents)

    def search(self, request: SearchRequest, *, cursor: str | None = None,
               visible: Visible | None = None) -> SearchPage:
        """Run a parsed search in one read transaction. On SQLite that is one snapshot (WAL): matches, total and
        includes agree. On PostgreSQL (READ COMMITTED) each statement sees what was committed when it began, so a
        write committed in between may show in the total or the includes and not in the matches."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return self._search.search(conn, request, cursor, visible)

    def search_in(self, conn: sa.Connection, request: SearchRequest, cursor: str | None = None,
                  visible: Visible | None = None) -> SearchPage:
        """``search`` on an open connection (a transaction's, store/atomic.py)."""
        return self._search.search(conn, request, cursor, visible)

    def search_keys(self, request: SearchRequest, limit: int) -> tuple[list[Key], dict[str, float]]:
        """Keys of the first ``limit`` matches in the search's order and their distances (a near search), no body
        read, in one read transaction."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return self._search.keys(conn, request, limit)

    def search_keys_in(self, conn: sa.Connection, request: SearchRequest, limit: int
                       ) -> tuple[list[Key], dict[str, float]]:
        """``search_keys`` on an open connection (a transaction's, store/atomic.py)."""
        return self._search.keys(conn, request, limit)

    def read_many(self, resource_type: str, ids: list[str]) -> dict[str, StoredResource]:
        """Id -> current version, for those of ``ids`` that exist and are not deleted."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return lookup.read_many(conn, self.postgres, resource_type, ids)

    def positions(self, location_ids: list[str]) -> dict[str, tuple[float, float]]:
        """Location id -> (latitude, longitude) from the ``near`` index, no body read."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return lookup.positions(conn, location_ids)

    @contextmanager
    def atomic(self) -> Iterator[AtomicRepository]:
        """One write transaction seen as a Repository: its reads see its own writes, its unit of work is the
        transaction itself; committed on normal exit, rolled back on any exception (a transaction Bundle)."""
        with self.unit_of_work() as uow:
            yield AtomicRepository(self, uow)

    def facets(self, request: SearchRequest) -> tuple[int, dict[str, list[Any]]]:
        """Matches of a type search and their facet counts (search/facets.py), in one read transaction."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return self._search.facets(conn, request)

    def find_ids(self, resource_type: str, criteria: dict[str, list[str]]) -> list[str]:
        """Ids of current resources matching search criteria (conditional interactions), outside a transaction."""
        with translated(), self.engine.connect() as conn, conn.begin():
            return self._find_ids(conn, resource_type, criteria)

    def _find_ids(self, conn: sa.Connection, resource_type: str, criteria: dict[str, list[str]]) -> list[str]:
        from ..search.parser import parse_search

        pairs = [(name, value) for name, values in criteria.items() for value in values]
        request = parse_search(resource_type, pairs, strict=True)
        if request.ignored:  # e.g. an empty value: never widen a conditional write by dropping a criterion
            bad = request.ignored[0]
            raise InvalidRequest(f"Search parameter {bad.name!r} cannot be used here: {bad.reason}",
                                 expression=bad.name)
        return self._search.find_ids(conn, request)

    def freshness(self) -> Freshness:
        """A new store/freshness.py probe of this database's committed state, closed with the repository."""
        probe = open_freshness(self.engine.url, self._busy_timeout_s)
        self._probes.append(probe)
        return probe

    def close(self) -> None:
        self._reader.close()
        for probe in self._probes:
            probe.close()
        self._probes.clear()
        self.engine.dispose()

    # -- conveniences --------------------------------------------------------------------------------------
    def count(self, resource_type: str | None = None) -> int:
        """Number of current, not deleted resources (of one type, or all)."""
        query = sa.select(sa.func.count()).select_from(resource).where(resource.c.deleted.is_(False))
        if resource_type is not None:
            query = query.where(resource.c.resource_type == resource_type)
        with translated(), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def __enter__(self) -> SQLRepository:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_repository(url: str, indexer: Indexer | None = None, **options: Any) -> SQLRepository:
    """Upgrade the database to the newest schema, then open it (indexing with FhirPathIndexer by default)."""
    from .migrate import migrate

    migrate(url)
    if indexer is None:
        from ..search.extract import FhirPathIndexer

        indexer = FhirPathIndexer()
    return SQLRepository(url, indexer, **options)
