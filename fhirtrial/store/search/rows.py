"""Loading current resources as StoredResource."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..repository import StoredResource
from ..schema import resource

_CHUNK = 500


def body_column(postgres: bool, r: Any = None) -> Any:
    body = (r if r is not None else resource.c).body
    return sa.cast(body, sa.Text).label("body") if postgres else body.label("body")


def stored(rtype: str, rid: str, vid: int, ts: Any, body: str) -> StoredResource:
    return StoredResource(rtype, rid, vid, ts, False, body.encode())


def load_resources(conn: sa.Connection, postgres: bool, keys: list[tuple[str, str]]) -> list[StoredResource]:
    """Current, not deleted versions of ``keys``, in the order of ``keys`` (missing ones left out)."""
    r = resource.c
    found: dict[tuple[str, str], StoredResource] = {}
    by_type: dict[str, list[str]] = {}
    for t, i in keys:
        by_type.setdefault(t, []).append(i)
    for rtype, ids in by_type.items():
        for start in range(0, len(ids), _CHUNK):
            q = sa.select(r.resource_type, r.id, r.version_id, r.last_updated, body_column(postgres)).where(
                r.resource_type == rtype, r.id.in_(ids[start:start + _CHUNK]), r.deleted.is_(False))
            for t, i, vid, ts, body in conn.execute(q):
                found[(t, i)] = stored(t, i, vid, ts, body)
    return [found[k] for k in keys if k in found]
