"""A Repository inside one open write transaction, so that the entries of a transaction Bundle read what the
entries before them wrote, https://hl7.org/fhir/R4/http.html#trules.

Every read runs on the transaction's connection; ``unit_of_work`` hands out the transaction itself, which only
the code that opened it (``SQLRepository.atomic``) commits or rolls back.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import lookup
from .failures import translated
from .history import history_page
from .reader import current
from .repository import HistoryPage, Key, SearchPage, StoredResource, Visible
from .schema import resource
from .unit_of_work import SQLUnitOfWork

if TYPE_CHECKING:
    from ..search.request import SearchRequest
    from .sql import SQLRepository

_r = resource.c


class AtomicRepository:
    """The Repository of one write transaction (not thread-safe: one caller at a time)."""

    def __init__(self, repo: SQLRepository, uow: SQLUnitOfWork) -> None:
        self._repo = repo
        self._uow = uow
        body = sa.cast(_r.body, sa.Text) if repo.postgres else _r.body
        self._read = sa.select(_r.version_id, _r.last_updated, _r.deleted, body).where(
            _r.resource_type == sa.bindparam("rt"), _r.id == sa.bindparam("rid"))

    @property
    def dialect(self) -> str:
        return self._repo.dialect

    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        with translated():
            row = self._uow.connection.execute(self._read, {"rt": resource_type, "rid": resource_id}).first()
        return current(resource_type, resource_id, row)

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource:
        with translated():
            return self._repo.vread_in(self._uow.connection, resource_type, resource_id, version_id)

    def history(self, resource_type: str | None, resource_id: str | None, *, since: datetime | None = None,
                at: datetime | None = None, count: int = 20, cursor: str | None = None) -> HistoryPage:
        with translated():
            return history_page(self._uow.connection, resource_type, resource_id, since=since, at=at, count=count,
                                cursor=cursor)

    def search(self, request: SearchRequest, *, cursor: str | None = None,
               visible: Visible | None = None) -> SearchPage:
        with translated():
            return self._repo.search_in(self._uow.connection, request, cursor, visible)

    def search_keys(self, request: SearchRequest, limit: int) -> tuple[list[Key], dict[str, float]]:
        with translated():
            return self._repo.search_keys_in(self._uow.connection, request, limit)

    def read_many(self, resource_type: str, ids: list[str]) -> dict[str, StoredResource]:
        with translated():
            return lookup.read_many(self._uow.connection, self._repo.postgres, resource_type, ids)

    def positions(self, location_ids: list[str]) -> dict[str, tuple[float, float]]:
        with translated():
            return lookup.positions(self._uow.connection, location_ids)

    def find_ids(self, resource_type: str, criteria: dict[str, list[str]]) -> list[str]:
        return self._uow.find_ids(resource_type, criteria)

    @contextmanager
    def unit_of_work(self) -> Iterator[SQLUnitOfWork]:
        yield self._uow

    def close(self) -> None:
        """Nothing of its own to release: the transaction belongs to whoever opened it."""
