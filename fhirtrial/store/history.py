"""History at instance, type and system level, newest first, with _since, _at, _count and a keyset cursor.

https://hl7.org/fhir/R4/http.html#history -- the total (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.total)
is found once, with the first page, and carried in the cursor: later pages cost no count. Like search's default
``_total`` it is bounded: a history of more than TOTAL_CAP versions has none.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..errors import InvalidRequest, NotFound
from . import cursor as cursors
from .repository import HistoryPage, StoredResource
from .schema import UTCDateTime, resource, resource_version

_v = resource_version.c
_ORDER = (_v.last_updated, _v.resource_type, _v.resource_id, _v.version_id)
# Largest total counted on a first page (search's default _total has the same bound, store/search/query.py).
TOTAL_CAP = 10_000


def fingerprint(resource_type: str | None, resource_id: str | None, since: datetime | None,
                at: datetime | None) -> str:
    """What a cursor is bound to: the level and the filters (not _count)."""
    parts = [resource_type or "", resource_id or "", since.isoformat() if since else "", at.isoformat() if at else ""]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=6).hexdigest()


def encode_cursor(entry: StoredResource, total: int | None, bound_to: str) -> str:
    """An opaque cursor positioned after ``entry`` in newest-first order, carrying the first page's total."""
    return cursors.encode([entry.last_updated.isoformat(), entry.resource_type, entry.id, entry.version_id, total,
                           bound_to])


def decode_cursor(cursor: str, bound_to: str) -> tuple[tuple[datetime, str, str, int], int | None]:
    """The position after which the page starts, and the carried total."""
    try:
        ts, rt, rid, vid, total, owner = cursors.decode(cursor)
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None or not (isinstance(rt, str) and isinstance(rid, str) and isinstance(vid, int)
                                       and (total is None or isinstance(total, int)) and isinstance(owner, str)):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidRequest(f"Invalid history page cursor {cursor[:80]!r}", expression="_cursor") from None
    if owner != bound_to:
        raise InvalidRequest("The page cursor belongs to another history (other level, _since or _at)",
                             expression="_cursor")
    return (when, rt, rid, vid), total


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


def _count(conn: sa.Connection, where: list[sa.ColumnElement[bool]]) -> int | None:
    """Versions matching ``where``, counted up to TOTAL_CAP; None past it."""
    capped = sa.select(sa.literal(1)).select_from(resource_version).where(*where).limit(TOTAL_CAP + 1).subquery()
    found = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return found if found <= TOTAL_CAP else None


def history_page(conn: sa.Connection, resource_type: str | None, resource_id: str | None, *,
                 since: datetime | None, at: datetime | None, count: int, cursor: str | None) -> HistoryPage:
    for name, value in (("_since", since), ("_at", at)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(f"{name} needs a time zone", expression=name)
    if count < 0:
        raise InvalidRequest(f"_count must not be negative, got {count}", expression="_count")
    bound_to = fingerprint(resource_type, resource_id, since, at)
    where = _filters(resource_type, resource_id, since, at)
    page_where = list(where)
    total: int | None = None
    if cursor:
        (ts, rt, rid, vid), total = decode_cursor(cursor, bound_to)
        after = (sa.bindparam(None, ts, UTCDateTime()), sa.bindparam(None, rt, sa.String()),
                 sa.bindparam(None, rid, sa.String()), sa.bindparam(None, vid, sa.Integer()))
        page_where.append(sa.tuple_(*_ORDER) < sa.tuple_(*after))
    entries: list[StoredResource] = []
    more = False
    if count > 0:
        body: Any = sa.cast(_v.body, sa.Text) if conn.dialect.name == "postgresql" else _v.body
        query = (sa.select(*_ORDER, _v.deleted, _v.method, body).where(*page_where)
                 .order_by(*(c.desc() for c in _ORDER)).limit(count + 1))
        rows = conn.execute(query).all()
        more = len(rows) > count
        entries = [StoredResource(rt, rid, vid, ts, bool(deleted), None if body is None else body.encode(), method)
                   for ts, rt, rid, vid, deleted, method, body in rows[:count]]
    if not cursor:
        # The first page: when it holds every version its length is the total, else one bounded count.
        total = len(entries) if count > 0 and not more else _count(conn, where)
        if total == 0 and resource_id is not None and resource_type is not None:
            _check_exists(conn, resource_type, resource_id)
    next_cursor = encode_cursor(entries[-1], total, bound_to) if more else None
    return HistoryPage(entries, total, next_cursor)


def _check_exists(conn: sa.Connection, resource_type: str, resource_id: str) -> None:
    """A resource that never existed has no history: NotFound, not an empty page."""
    exists = conn.execute(sa.select(resource.c.pk).where(resource.c.resource_type == resource_type,
                                                         resource.c.id == resource_id)).first()
    if exists is None:
        raise NotFound(f"Resource {resource_type}/{resource_id} is not known", expression="id")
