"""History at instance, type and system level, newest first, with _since, _at, _count and a keyset cursor.

https://hl7.org/fhir/R4/http.html#history
"""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from ..errors import InvalidRequest, NotFound
from .repository import HistoryPage, StoredResource
from .schema import UTCDateTime, resource, resource_version

_v = resource_version.c
_ORDER = (_v.last_updated, _v.resource_type, _v.resource_id, _v.version_id)


def encode_cursor(entry: StoredResource) -> str:
    """An opaque cursor positioned after ``entry`` in newest-first order."""
    raw = orjson.dumps([entry.last_updated.isoformat(), entry.resource_type, entry.id, entry.version_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str, str, int]:
    try:
        ts, rt, rid, vid = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None or not (isinstance(rt, str) and isinstance(rid, str) and isinstance(vid, int)):
            raise ValueError(cursor)
        return when, rt, rid, vid
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest(f"Invalid history page cursor {cursor[:80]!r}", expression="_cursor") from None


def _filters(resource_type: str | None, resource_id: str | None, since: datetime | None,
             at: datetime | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if resource_type is not None:
        where.append(_v.resource_type == resource_type)
    if resource_id is not None:
        where.append(_v.resource_id == resource_id)
    if since is not None:
        where.append(_v.last_updated >= since)
    if at is not None:
        # The version current at ``at``: the newest one made at or before it.
        newer = resource_version.alias("newer")
        where.append(_v.last_updated <= at)
        where.append(~sa.exists().where(newer.c.resource_type == _v.resource_type,
                                        newer.c.resource_id == _v.resource_id,
                                        newer.c.version_id > _v.version_id, newer.c.last_updated <= at))
    return where


def history_page(conn: sa.Connection, resource_type: str | None, resource_id: str | None, *,
                 since: datetime | None, at: datetime | None, count: int, cursor: str | None) -> HistoryPage:
    for name, value in (("_since", since), ("_at", at)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(f"{name} needs a time zone", expression=name)
    if count < 0:
        raise InvalidRequest(f"_count must not be negative, got {count}", expression="_count")
    where = _filters(resource_type, resource_id, since, at)
    total = conn.execute(sa.select(sa.func.count()).select_from(resource_version).where(*where)).scalar_one()
    if total == 0 and resource_id is not None and resource_type is not None:
        exists = conn.execute(sa.select(resource.c.pk).where(resource.c.resource_type == resource_type,
                                                             resource.c.id == resource_id)).first()
        if exists is None:
            raise NotFound(f"Resource {resource_type}/{resource_id} is not known", expression="id")
    if count == 0 or total == 0:
        return HistoryPage([], total, None)
    page_where = list(where)
    if cursor:
        ts, rt, rid, vid = decode_cursor(cursor)
        after = (sa.bindparam(None, ts, UTCDateTime()), sa.bindparam(None, rt, sa.String()),
                 sa.bindparam(None, rid, sa.String()), sa.bindparam(None, vid, sa.Integer()))
        page_where.append(sa.tuple_(*_ORDER) < sa.tuple_(*after))
    body: Any = sa.cast(_v.body, sa.Text) if conn.dialect.name == "postgresql" else _v.body
    query = (sa.select(*_ORDER, _v.deleted, _v.method, body).where(*page_where)
             .order_by(*(c.desc() for c in _ORDER)).limit(count + 1))
    rows = conn.execute(query).all()
    entries = [StoredResource(rt, rid, vid, ts, bool(deleted), None if body is None else body.encode(), method)
               for ts, rt, rid, vid, deleted, method, body in rows[:count]]
    next_cursor = encode_cursor(entries[-1]) if len(rows) > count else None
    return HistoryPage(entries, total, next_cursor)
