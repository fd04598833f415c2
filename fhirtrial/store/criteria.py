"""Search criteria the store answers itself, for conditional interactions: ``_id`` and token parameters.

https://hl7.org/fhir/R4/search.html#token and https://hl7.org/fhir/R4/http.html#ccreate
(The search engine replaces this with the full parameter set.)
"""
from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa

from ..errors import InvalidRequest
from .schema import idx_token, resource

# Result parameters that do not restrict the match set.
IGNORED = frozenset({"_format", "_pretty", "_summary", "_elements", "_count", "_sort", "_total"})
# Token parameters every resource type here has, usable before the parameter registry is loaded.
DEFAULT_TOKENS = frozenset({"identifier", "_tag", "_security"})

_SPLIT_COMMA = re.compile(r"(?<!\\),")
_SPLIT_BAR = re.compile(r"(?<!\\)\|")


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\|", "|").replace("\\$", "$").replace("\\\\", "\\")


def token_condition(param: str, value: str) -> sa.ColumnElement[bool]:
    """The token-row condition for ``code``, ``system|code``, ``|code`` or ``system|``."""
    parts = _SPLIT_BAR.split(value, maxsplit=1)
    t = idx_token.c
    if len(parts) == 1:
        code = _unescape(parts[0])
        if not code:
            raise InvalidRequest(f"Empty value for search parameter {param!r}", expression=param)
        return t.code == code
    system, code = _unescape(parts[0]), _unescape(parts[1])
    if not system and not code:
        raise InvalidRequest(f"Empty value for search parameter {param!r}", expression=param)
    if not system:
        return sa.and_(t.code == code, t.system.is_(None))
    if not code:
        return t.system == system
    return sa.and_(t.code == code, t.system == system)


def ids_query(resource_type: str, criteria: dict[str, list[str]],
              is_token: Callable[[str, str], bool]) -> sa.Select[tuple[str]]:
    """Ids of current (not deleted) resources of the type matching every criterion (AND across values,
    OR across the comma-separated parts of one value)."""
    r = resource.c
    query = sa.select(r.id).where(r.resource_type == resource_type, r.deleted.is_(False))
    for param, values in criteria.items():
        name, _, modifier = param.partition(":")
        if name in IGNORED:
            continue
        if modifier:
            raise InvalidRequest(f"Modifier :{modifier} of search parameter {name!r} is not supported here",
                                 expression=param)
        for value in values:
            parts = [p for p in _SPLIT_COMMA.split(value)]
            if name == "_id":
                query = query.where(r.id.in_([_unescape(p) for p in parts]))
            elif is_token(resource_type, name):
                matches = sa.or_(*(token_condition(name, p) for p in parts))
                query = query.where(sa.exists().where(
                    idx_token.c.resource_type == resource_type, idx_token.c.resource_id == r.id,
                    idx_token.c.param == name, matches))
            else:
                raise InvalidRequest(f"Search parameter {name!r} is not supported for {resource_type} in "
                                     "conditional interactions (only _id and token parameters)",
                                     expression=name)
    return query.order_by(r.id)
