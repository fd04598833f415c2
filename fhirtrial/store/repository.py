"""The storage interface the REST layer talks to; SQL is one implementation of it.

https://hl7.org/fhir/R4/http.html (read, vread, update, delete, history)
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Literal, NamedTuple, Protocol

import orjson

if TYPE_CHECKING:
    from ..errors import Issue
    from ..search.request import SearchRequest

Outcome = Literal["created", "updated", "unchanged", "deleted", "gone"]
# Which resources an answer may hold (the caller's credentials: rest/auth.py); a rejected include is not followed.
Visible = Callable[["StoredResource"], bool]


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of one resource. ``body`` is the JSON with ``meta.versionId``/``meta.lastUpdated`` set;
    it is ``None`` for the version that records a delete."""

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime  # timezone-aware UTC
    deleted: bool
    body: bytes | None
    # The interaction that made this version: POST, PUT, PATCH or DELETE (for history entries).
    method: str = "PUT"

    def resource(self) -> dict[str, Any]:
        assert self.body is not None, "a deleted version has no body"
        return orjson.loads(self.body)

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'


class Key(NamedTuple):
    """One current version, named without its body: (id, version, lastUpdated) tell it from any other, even
    across databases (a cache keyed on them cannot serve another database's resource of the same id)."""

    id: str
    version_id: int
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: StoredResource
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[StoredResource]  # newest first
    total: int | None  # counted with the first page (carried in the cursor), None past store.history.TOTAL_CAP
    # Opaque cursor for the next page, or None when this is the last one.
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search (https://hl7.org/fhir/R4/search.html#paging)."""

    matches: list[StoredResource]  # current versions, in the requested order
    included: list[StoredResource]  # _include/_revinclude results (deduplicated, not among matches)
    total: int | None  # None when _total=none or not computed
    # Opaque cursors for the neighbouring pages; None when there is no such page.
    next_cursor: str | None
    previous_cursor: str | None
    # What the page leaves out that the request asked for (e.g. _include cut at its limit), for the Bundle.
    issues: list["Issue"] = field(default_factory=list)
    # Per match ("Type", "id"): the distance in km to the searched point (a near search), and the full-text
    # relevance in [0, 1) (higher is better) -- Bundle.entry.search's location-distance extension and score.
    distances: dict[tuple[str, str], float] = field(default_factory=dict)
    scores: dict[tuple[str, str], float] = field(default_factory=dict)


class UnitOfWork(Protocol):
    """The writes of one transaction: all of them are committed together or none is.

    Version checks happen inside the transaction, so two concurrent writers never lose an update.
    """

    def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version (including a delete marker), locked for the rest of the transaction."""

    def create(self, resource_type: str, resource: dict[str, Any], resource_id: str | None = None) -> WriteResult:
        """Store a new resource; a server id is assigned when ``resource_id`` is None."""

    def update(self, resource_type: str, resource_id: str, resource: dict[str, Any], *,
               if_match: int | None = None, method: str = "PUT") -> WriteResult:
        """Create-or-update. Content equal to the current version (meta aside) makes no new version."""

    def delete(self, resource_type: str, resource_id: str, *, if_match: int | None = None) -> WriteResult:
        """Logical delete: a new version with ``deleted`` set; deleting nothing is not an error."""

    def find_ids(self, resource_type: str, criteria: dict[str, list[str]]) -> list[str]:
        """Ids of current resources matching search criteria (for conditional create/update/delete)."""

    def claim(self, resource_type: str, criteria: dict[str, list[str]], resource_id: str, *,
              replacing: str | None = None) -> str | None:
        """Reserve the creation of the resource ``criteria`` find (conditional create) for ``resource_id``, until
        the transaction ends: None when reserved; else the id holding the reservation (a concurrent create that
        has committed since this transaction's search, or a resource the search no longer finds). Pass that id
        as ``replacing`` after searching again to take a stale reservation over (store/claims.py)."""


class Repository(Protocol):
    def read(self, resource_type: str, resource_id: str) -> StoredResource:
        """The current version; raises NotFound, or Gone when it is deleted."""

    def vread(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource:
        """One version; raises NotFound, or Gone for a delete version."""

    def history(self, resource_type: str | None, resource_id: str | None, *, since: datetime | None = None,
                at: datetime | None = None, count: int = 20, cursor: str | None = None) -> HistoryPage:
        """Versions at instance, type (id None) or system (both None) level, newest first."""

    def search(self, request: "SearchRequest", *, cursor: str | None = None,
               visible: Visible | None = None) -> SearchPage:
        """Run a parsed search; ``cursor`` continues a previous page (keyset, stable while data changes).
        ``visible`` drops matches and includes it rejects (includes are not followed through them)."""

    def search_keys(self, request: "SearchRequest", limit: int) -> tuple[list[Key], dict[str, float]]:
        """Keys of the first ``limit`` matches in the search's order, no body read, and each one's
        distance in km to the searched point (a near search)."""

    def read_many(self, resource_type: str, ids: list[str]) -> dict[str, StoredResource]:
        """Id -> current version, for those of ``ids`` that exist and are not deleted."""

    def positions(self, location_ids: list[str]) -> dict[str, tuple[float, float]]:
        """Location id -> (latitude, longitude), from the ``near`` index (no body read)."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction: commits on normal exit, rolls back on any exception."""

    def atomic(self) -> AbstractContextManager[Repository]:
        """One write transaction seen as a Repository whose reads see its own writes and whose
        ``unit_of_work`` is that transaction; commits on normal exit, rolls back on any exception."""

    def close(self) -> None: ...
