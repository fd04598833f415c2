"""Keyset paging (https://hl7.org/fhir/R4/search.html#paging): a cursor holds the sort values and tie-break (pk, or id:
sort.by_id) of the row before (or after) the page, so pages stay correct while data changes and no OFFSET is ever used."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ...errors import InvalidRequest
from ...search.request import SearchRequest
from .. import cursor as cursors
from .sort import Term

VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    direction: str  # "next": rows after ``values``; "prev": rows before them
    values: tuple[Any, ...]  # per Term, in order (None for a NULL value)
    fingerprint: str
    total: int | None = None  # the total found with the first page, carried to later ones


def fingerprint(request: SearchRequest) -> str:
    """What a cursor is bound to: the type(s), filters and sort (not _count, _include, _total...)."""
    parts = [request.resource_type or "", ",".join(request.types),
             *(f"{f.name}={','.join(f.raw)}" for f in request.filters),
             ",".join(("-" if k.descending else "") + k.param for k in request.sort)]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"f": repr(value)}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "f" in value:
            return float(value["f"])
        raise ValueError("bad value")
    if value is not None and not isinstance(value, (str, int, float)):
        raise ValueError("bad value")
    return value


def encode(cursor: Cursor) -> str:
    data = {"v": VERSION, "d": cursor.direction, "k": [_dump(v) for v in cursor.values], "h": cursor.fingerprint,
            "n": cursor.total}
    return cursors.encode(data)


def decode(text: str, request: SearchRequest, terms: int, tie_break: type = int) -> Cursor:
    try:
        raw = cursors.decode(text)
        if raw["v"] != VERSION or raw["d"] not in ("next", "prev") or len(raw["k"]) != terms:
            raise ValueError("version")
        values = tuple(_load(v) for v in raw["k"])
        total = raw.get("n")
        if total is not None and not isinstance(total, int):
            raise ValueError("total")
        cursor = Cursor(raw["d"], values, str(raw["h"]), total)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(f"Invalid paging cursor: {type(exc).__name__}", expression="_cursor") from None
    if type(values[-1]) is not tie_break:
        raise InvalidRequest("Invalid paging cursor", expression="_cursor")
    if cursor.fingerprint != fingerprint(request):
        raise InvalidRequest("The paging cursor belongs to another search", expression="_cursor")
    return cursor


def flag(term: Term) -> Any:
    """1 for a NULL value (sorted last whatever the direction), else 0."""
    return sa.case((term.expr.is_(None), 1), else_=0)


def order_by(terms: list[Term], reverse: bool) -> list[Any]:
    out: list[Any] = []
    for term in terms:
        desc = term.descending != reverse
        if term.nullable:
            f = flag(term)
            out.append(f.desc() if reverse else f.asc())
        out.append(term.expr.desc() if desc else term.expr.asc())
    return out


def after(terms: list[Term], values: tuple[Any, ...], reverse: bool) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in the order (before them when ``reverse``)."""
    # Expand nullable terms into (null flag, value) pairs, then the usual lexicographic OR of ANDs.
    flat: list[tuple[Any, bool, Any]] = []  # expr, descending, value (None: skip the strict comparison)
    for term, value in zip(terms, values):
        desc = term.descending != reverse
        if term.nullable:
            flat.append((flag(term), reverse, 1 if value is None else 0))
            flat.append((term.expr, desc, value))
        else:
            flat.append((term.expr, desc, value))
    disjuncts = []
    equal: list[Any] = []
    for expr, desc, value in flat:
        if value is not None:
            disjuncts.append(sa.and_(*equal, expr < value if desc else expr > value))
            equal.append(expr == value)
        else:
            equal.append(expr.is_(None))
    return sa.or_(*disjuncts) if disjuncts else sa.false()
