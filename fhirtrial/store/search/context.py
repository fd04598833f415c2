"""What the predicate builders share: the dialect and helpers that keep every client value a bound parameter."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from ...search.index import ROWS_BY_TYPE
from ..schema import INDEX_TABLES, idx_composite

# Filter.type -> index table: the table of the ResourceIndex attribute holding that type's entries.
_TABLE_OF_ROWS = {**{attr: table for attr, (table, _bit) in INDEX_TABLES.items()}, "composites": idx_composite}
TABLES: dict[str, sa.Table] = {ptype: _TABLE_OF_ROWS[attr] for ptype, attr in ROWS_BY_TYPE.items()}


@dataclass(slots=True)
class Context:
    postgres: bool
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # The plan (plan.plan_filters: SQLite always, PostgreSQL for the id order)
    correlated: set[int] = field(default_factory=set)  # top-level filters probed per candidate
    scan: bool = False  # walk the type's resources in id order (every filter broad)
    driver: int | None = None  # the filter whose rows drive the query (the others probe them)
    sieve: int | None = None  # SQLite, _sort: a filter checked on the driver's rows as a materialised IN list
    probe_order: list[int] = field(default_factory=list)  # the probed filters, fewest rows first
    counts: dict[int, int] = field(default_factory=dict)  # index rows per counted filter (capped)

    def contains(self, column: Any, needle: str) -> sa.ColumnElement[bool]:
        """``needle`` occurs in ``column`` (exact substring, no LIKE wildcards to escape)."""
        fn = sa.func.strpos if self.postgres else sa.func.instr
        return fn(column, bound(needle, sa.Text)) > 0


class SafeText(sa.TypeDecorator[str]):
    """Text parameter; PostgreSQL cannot hold NUL in text, so there it becomes U+FFFF (a noncharacter that no
    stored value contains either), and the comparison simply finds nothing."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is not None and dialect.name == "postgresql" and "\x00" in value:
            return value.replace("\x00", "\uffff")
        return value


def bound(value: Any, type_: Any = None) -> Any:
    """A bound parameter (never SQL text)."""
    if isinstance(value, str) and (type_ is None or type_ is sa.Text):
        return sa.literal(value, SafeText())
    return sa.literal(value, type_) if type_ is not None else sa.literal(value)


def successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (code-point order), or None."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not encodable
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


def starts_with(column: Any, prefix: str) -> sa.ColumnElement[bool]:
    """``column`` starts with ``prefix``, as an index range (code-point collation on both databases)."""
    if prefix == "":
        return sa.true()
    cond = column >= bound(prefix, sa.Text)
    upper = successor(prefix)
    return sa.and_(cond, column < bound(upper, sa.Text)) if upper is not None else cond
