"""Rebuild every search index row from the stored current versions (``fhirtrial reindex``).

Needed after the parameter definitions or the indexer change, or after writes that could not resolve
cross-resource values. Each batch of resources is rewritten in its own write transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import orjson
import sqlalchemy as sa

from .engine import WRITE
from .engine import analyze as engine_analyze
from .related import index_with_related, load_current
from .schema import resource

if TYPE_CHECKING:
    from .sql import SQLRepository

DEFAULT_BATCH = 500


def count_current(repo: "SQLRepository", types: Sequence[str] | None = None) -> int:  # type: ignore[name-defined]
    r = resource.c
    query = sa.select(sa.func.count()).select_from(resource).where(r.deleted.is_(False))
    if types:
        query = query.where(r.resource_type.in_(list(types)))
    with repo.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def rebuild(repo: "SQLRepository", types: Sequence[str] | None = None, *,  # type: ignore[name-defined]
            batch: int = DEFAULT_BATCH, on_batch: Callable[[int], None] | None = None) -> int:
    """Rewrite the index rows of every current resource (of ``types``); returns how many were rewritten."""
    r = resource.c
    body = sa.cast(r.body, sa.Text) if repo.postgres else r.body
    writer, indexer, postgres = repo._writer, repo.indexer, repo.postgres
    done, last_pk = 0, 0
    while True:
        with repo.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            query = (sa.select(r.pk, r.resource_type, r.id, r.index_mask, body)
                     .where(r.pk > last_pk, r.deleted.is_(False)).order_by(r.pk).limit(batch))
            if types:
                query = query.where(r.resource_type.in_(list(types)))
            rows = conn.execute(query).all()
            if not rows:
                break
            bodies = [orjson.loads(text) if text is not None else None for *_, text in rows]
            wanted = getattr(indexer, "references_to_resolve", None)
            preloaded = {}
            if wanted is not None:
                keys = {k for b in bodies if b is not None for k in wanted(b)}
                preloaded = load_current(conn, sorted(keys), postgres)
            for (pk, rtype, rid, mask, _text), content in zip(rows, bodies):
                if content is None:
                    continue
                index = index_with_related(conn, indexer, content, postgres, preloaded)
                writer.clear(conn, rtype, rid, pk, mask)
                writer.write(conn, rtype, rid, pk, index)
                new_mask = writer.mask(index)
                if new_mask != mask:
                    conn.execute(resource.update().where(r.pk == pk).values(index_mask=new_mask))
            done += len(rows)
            last_pk = rows[-1][0]
        if on_batch is not None:
            on_batch(len(rows))
    engine_analyze(repo.engine)
    return done
