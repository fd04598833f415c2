"""Cross-resource index values: a study's eligibility Group / protocol PlanDefinition (fhirtrial/search/README.md).

The indexer reads them through ``resolve()``; the store loads them from the current versions inside the write
transaction (so writes earlier in the same transaction are seen), and when one of them changes, rewrites the
index rows of the resources that resolve it.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa

from ..search.fhirpath_syntax import resolved_paths
from ..search.index import Indexer, ResourceIndex
from .index_writer import IndexWriter
from .schema import idx_reference, resource

_CHUNK = 400


def _body_column(postgres: bool) -> Any:
    return sa.cast(resource.c.body, sa.Text) if postgres else resource.c.body


def load_current(conn: sa.Connection, keys: Iterable[str], postgres: bool) -> dict[str, dict[str, Any]]:
    """"Type/id" -> current, not deleted body."""
    by_type: dict[str, list[str]] = {}
    for key in keys:
        rtype, _, rid = key.partition("/")
        by_type.setdefault(rtype, []).append(rid)
    out: dict[str, dict[str, Any]] = {}
    r = resource.c
    for rtype, ids in by_type.items():
        for start in range(0, len(ids), _CHUNK):
            rows = conn.execute(sa.select(r.id, _body_column(postgres)).where(
                r.resource_type == rtype, r.id.in_(ids[start:start + _CHUNK]), r.deleted.is_(False)))
            for rid, body in rows:
                if body is not None:
                    out[f"{rtype}/{rid}"] = orjson.loads(body)
    return out


def index_with_related(conn: sa.Connection, indexer: Indexer, body: dict[str, Any], postgres: bool,
                       preloaded: dict[str, dict[str, Any]] | None = None) -> ResourceIndex:
    """``indexer.index(body)``, passing the resources its ``resolve()`` may reach when the indexer wants them."""
    wanted = getattr(indexer, "references_to_resolve", None)
    if wanted is None:
        return indexer.index(body)
    keys = wanted(body)
    if not keys:
        return indexer.index(body, related={})  # type: ignore[call-arg]
    related = {k: preloaded[k] for k in keys if preloaded is not None and k in preloaded}
    missing = [k for k in keys if k not in related]
    if missing:
        related.update(load_current(conn, missing, postgres))
    return indexer.index(body, related=related)  # type: ignore[call-arg]


class Dependents:
    """Which resource types resolve references while indexing (cached per indexer)."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer
        self._resolving: dict[str, bool] = {}

    def resolving(self, resource_type: str) -> bool:
        found = self._resolving.get(resource_type)
        if found is None:
            plan = getattr(self.indexer, "plan", None)  # the indexer's own rule (search/extract.py)
            found = bool(plan) and any(resolved_paths(c.param.expression or "") for c in plan(resource_type))
            self._resolving[resource_type] = found
        return found

    def referencing(self, conn: sa.Connection, target_type: str, target_id: str) -> list[tuple[str, str]]:
        """Resources whose index may depend on ``target_type/target_id``."""
        if not hasattr(self.indexer, "references_to_resolve"):
            return []
        ref = idx_reference.c
        rows = conn.execute(sa.select(ref.resource_type, ref.resource_id).distinct().where(
            ref.target_type == target_type, ref.target_id == target_id)).all()
        return sorted((t, i) for t, i in rows if self.resolving(t))


def reindex(conn: sa.Connection, indexer: Indexer, writer: IndexWriter, postgres: bool,
            resource_type: str, resource_id: str, only_if_resolves: str | None = None) -> bool:
    """Rewrite the index rows of the current version (no new version). With ``only_if_resolves``, only when
    the resource really resolves that "Type/id". Returns whether rows were rewritten."""
    r = resource.c
    row = conn.execute(sa.select(r.pk, r.index_mask, _body_column(postgres)).where(
        r.resource_type == resource_type, r.id == resource_id, r.deleted.is_(False))).first()
    if row is None or row[2] is None:
        return False
    pk, mask, text = row
    body = orjson.loads(text)
    if only_if_resolves is not None:
        wanted = getattr(indexer, "references_to_resolve", None)
        if wanted is None or only_if_resolves not in wanted(body):
            return False
    index = index_with_related(conn, indexer, body, postgres)
    writer.clear(conn, resource_type, resource_id, pk, mask)
    writer.write(conn, resource_type, resource_id, pk, index)
    new_mask = writer.mask(index)
    if new_mask != mask:
        conn.execute(resource.update().where(r.pk == pk).values(index_mask=new_mask))
    return True
