"""token (https://hl7.org/fhir/R4/search.html#token): code, system|code, |code, system|; :text, :of-type, :in."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from ...errors import InvalidRequest
from ...search.convert import OF_TYPE
from ...search.request import OfTypeValue, TextValue, TokenValue, UriValue
from .context import Context, bound


def token_condition(cols: Any, v: TokenValue) -> sa.ColumnElement[bool]:
    """matching._token on the columns ``system`` and ``code`` of ``cols``."""
    parts = []
    if v.code is not None:
        parts.append(cols.code == bound(v.code))
    if v.match_system and v.system is None:
        parts += [cols.system.is_(None), cols.code.is_not(None)]
    elif v.system is not None:
        parts.append(cols.system == bound(v.system))
    return sa.and_(*parts)


def text_condition(ctx: Context, column: Any, v: TextValue) -> sa.ColumnElement[bool]:
    """:text -- the phrase starts the text or one of its words."""
    q = v.normalized
    return sa.and_(column.is_not(None), sa.or_(
        sa.func.substr(column, 1, len(q)) == bound(q, sa.Text), ctx.contains(column, " " + q)))


def of_type_condition(cols: Any, param: str, v: OfTypeValue) -> sa.ColumnElement[bool]:
    system = cols.system.is_(None) if v.system is None else cols.system == bound(v.system)
    return sa.and_(cols.param == param + OF_TYPE, system, cols.code == bound(f"{v.type_code}|{v.value}"))


@lru_cache(maxsize=256)
def expand_value_set(url: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """system -> codes of a value set of the R4 definitions, expanded from the copy shipped with the package (no
    terminology server, nothing from npm)."""
    from ...validation.expansion import Unexpandable
    from ...validation.valuesets import expansion

    try:
        return tuple((system, tuple(codes)) for system, codes in expansion(url).items())
    except Unexpandable as exc:
        raise InvalidRequest(f"Value set {url!r} cannot be expanded here: {exc}", expression=url) from None


def in_condition(cols: Any, v: UriValue) -> sa.ColumnElement[bool]:
    """:in / :not-in -- a code of the expanded value set (the caller negates for :not-in). Rows of ``code``
    elements carry no system (it is implied by the element's binding): their code alone is compared."""
    expansion = expand_value_set(v.uri)
    return sa.or_(sa.false(), *(sa.and_(sa.or_(cols.system == bound(system), cols.system.is_(None)),
                                        cols.code.in_([bound(c) for c in codes]))
                                for system, codes in expansion))
