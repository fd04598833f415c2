"""Shared helpers of the REST search tests (no tests here).

``searchable(repo)`` gives a repository whose ``search`` works: the SQL store's own when it has one, otherwise
``MemorySearch``, a small in-memory stand-in built on the reference semantics (``fhirtrial.search.matching``) and
``FhirPathIndexer``: every current resource is indexed on each call (fine for a few hundred resources).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa

from fhirtrial.errors import InvalidRequest
from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.matching import matches
from fhirtrial.search.registry import default_registry
from fhirtrial.search.request import Filter, ReferenceValue, SearchRequest
from fhirtrial.store.repository import SearchPage, StoredResource
from fhirtrial.store.schema import resource as resource_table

BASE = "http://testserver/fhir"


def store_has_search(repo: Any) -> bool:
    """True once the SQL store implements search (it then indexes at write time with its indexer)."""
    return callable(getattr(type(repo), "search", None))


class MemorySearch:
    """Delegates everything to ``repo`` except ``search``, which it answers in memory."""

    def __init__(self, repo: Any, base_url: str = BASE) -> None:
        self._repo = repo
        self.indexer = FhirPathIndexer(base_url=base_url)
        self.registry = default_registry()
        self._cache: dict[tuple[str, str, int], ResourceIndex] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    # -- data ----------------------------------------------------------------------------------------------------
    def _current(self) -> dict[tuple[str, str], StoredResource]:
        r = resource_table.c
        with self._repo.engine.connect() as conn:
            rows = conn.execute(sa.select(r.resource_type, r.id, r.version_id, r.last_updated, r.body)
                                .where(r.deleted.is_(False))).all()
        out = {}
        for rtype, rid, vid, ts, body in rows:
            raw = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if isinstance(body, dict)
                                                                 else bytes(body))
            out[(rtype, rid)] = StoredResource(rtype, rid, vid, ts, False, raw)
        return out

    def _indexes(self, stored: dict[tuple[str, str], StoredResource]) -> dict[tuple[str, str], ResourceIndex]:
        bodies = {k: v.resource() for k, v in stored.items()}
        out = {}
        for key, body in bodies.items():
            ckey = (key[0], key[1], stored[key].version_id)
            if ckey in self._cache and key[0] != "ResearchStudy":  # studies read their Group/PlanDefinition
                out[key] = self._cache[ckey]
                continue
            related = {}
            for ref in self.indexer.references_to_resolve(body):
                t, _, i = ref.partition("/")
                if (t, i) in bodies:
                    related[ref] = bodies[(t, i)]
            out[key] = self._cache[ckey] = self.indexer.index(body, related)
        return out

    # -- filters -------------------------------------------------------------------------------------------------
    def _refs(self, index: ResourceIndex, param: str) -> list[tuple[str | None, str | None]]:
        return [(e.target_type, e.target_id) for e in index.references if e.param == param]

    def _match(self, key: tuple[str, str], f: Filter, indexes: dict, depth: int = 0) -> bool:
        if not f.chain[depth:]:
            if f.type == "fulltext":
                idx = indexes[key]
                if f.modifier == "missing":
                    present = bool(idx.text if f.param == "_text" else idx.content)
                    return any(v.missing != present for v in f.values)  # type: ignore[union-attr]
                needle = " ".join(v.normalized for v in f.values)  # type: ignore[union-attr]
                idx = indexes[key]
                hay = (idx.text if f.param == "_text" else idx.content).lower()
                return all(w in hay for w in needle.split())
            if f.param == "_id":
                return any(getattr(v, "code", None) == key[1] for v in f.values)
            return matches(f, indexes[key])
        link = f.chain[depth]
        if link.reverse:
            return any(k[0] == link.source_type and (key[0], key[1]) in self._refs(idx, link.param)
                       and self._match(k, f, indexes, depth + 1) for k, idx in indexes.items())
        return any((t, i) in indexes and t in link.target_types and self._match((t, i), f, indexes, depth + 1)
                   for t, i in self._refs(indexes[key], link.param))

    # -- search --------------------------------------------------------------------------------------------------
    def search(self, request: SearchRequest, *, cursor: str | None = None) -> SearchPage:
        stored = self._current()
        indexes = self._indexes(stored)
        types = (request.resource_type,) if request.resource_type else (request.types or RESOURCE_TYPES)
        keys = sorted(k for k in stored if k[0] in types)
        hits = [k for k in keys if all(self._match(k, f, indexes) for f in request.filters)]
        for sort in reversed(request.sort):
            hits.sort(key=lambda k, s=sort: self._sort_value(stored[k], indexes[k], s.param), reverse=sort.descending)
        offset = 0
        if cursor:
            try:
                offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
            except Exception:  # noqa: BLE001
                raise InvalidRequest(f"Invalid page cursor {cursor!r}", expression="_cursor") from None
        count = request.count if request.count is not None else 20
        page = hits[offset:offset + count]

        def enc(n: int) -> str:
            return base64.urlsafe_b64encode(str(n).encode()).decode()

        nxt = enc(offset + count) if count and offset + count < len(hits) else None
        prev = enc(max(offset - count, 0)) if offset > 0 else None
        included = self._includes(request, page, stored, indexes)
        total = None if request.total in ("none",) else len(hits)
        return SearchPage([stored[k] for k in page], [stored[k] for k in included], total, nxt, prev)

    def _sort_value(self, s: StoredResource, idx: ResourceIndex, param: str) -> tuple:
        if param == "_id":
            return (0, s.id)
        if param == "_lastUpdated":
            return (0, s.last_updated.isoformat())
        for rows in (idx.strings, idx.dates, idx.tokens, idx.numbers):
            vals = [getattr(e, "normalized", None) or getattr(e, "low", None) or getattr(e, "code", None)
                    or getattr(e, "value", None) for e in rows if e.param == param]
            vals = [v for v in vals if v is not None]
            if vals:
                return (0, str(min(vals)) if not isinstance(vals[0], float) else min(vals))
        return (1, "")

    def _includes(self, request: SearchRequest, page: list, stored: dict, indexes: dict) -> list:
        found: list[tuple[str, str]] = []
        seen = set(page)
        frontier = list(page)
        for _round in range(3):
            new = []
            for inc in request.includes:
                if _round and not inc.iterate:
                    continue
                for key in frontier:
                    if inc.reverse:
                        for k, idx in indexes.items():
                            if k[0] != inc.source_type:
                                continue
                            params = {e.param for e in idx.references} if inc.param == "*" else {inc.param}
                            if any(key in self._refs(idx, p) for p in params):
                                new.append(k)
                    elif inc.source_type in ("*", key[0]):
                        idx = indexes[key]
                        for e in idx.references:
                            if (inc.param in ("*", e.param)) and (inc.target_type in (None, e.target_type)):
                                new.append((e.target_type, e.target_id))
            frontier = []
            for k in new:
                if k in stored and k not in seen:
                    seen.add(k)
                    found.append(k)
                    frontier.append(k)
            if not frontier:
                break
        return found


def searchable(repo: Any) -> Any:
    return repo if store_has_search(repo) else MemorySearch(repo)


__all__ = ["MemorySearch", "ReferenceValue", "searchable", "store_has_search"]


def open_searchable(database_url: str, repo: Any) -> tuple[Any, Any]:
    """(repository with search, closer): the store itself once it has search (the conftest ``repo`` indexes with
    FhirPathIndexer), else the in-memory stand-in."""
    if store_has_search(repo):
        return repo, lambda: None
    return MemorySearch(repo), lambda: None
