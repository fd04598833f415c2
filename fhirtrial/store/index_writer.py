"""Writes a resource's search index rows (one table per parameter type, plus full text) in the write transaction.

https://hl7.org/fhir/R4/search.html#ptypes and https://hl7.org/fhir/R4/search.html#text
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from ..search.index import (CompositeEntry, DateEntry, NumberEntry, QuantityEntry, ResourceIndex, StringEntry,
                            TokenEntry)
from .schema import COMPOSITE_BIT, FTS_BIT, FTS_TABLE, INDEX_TABLES, idx_composite

# to_tsvector refuses results over 1 MB; longer text is cut (search sees the first part only).
_PG_TEXT_LIMIT = 200_000


class IndexWriter:
    """Replaces the index rows of one resource; ``mask`` records which tables hold rows for it."""

    def __init__(self, postgres: bool) -> None:
        self._postgres = postgres
        self.postgres = postgres
        self._deletes = {bit: table.delete().where(table.c.resource_type == sa.bindparam("rt"),
                                                   table.c.resource_id == sa.bindparam("rid"))
                         for table, bit in INDEX_TABLES.values()}
        self._deletes[COMPOSITE_BIT] = idx_composite.delete().where(
            idx_composite.c.resource_type == sa.bindparam("rt"), idx_composite.c.resource_id == sa.bindparam("rid"))
        self._inserts = {attr: table.insert() for attr, (table, _bit) in INDEX_TABLES.items()}
        self._composite_insert = idx_composite.insert()
        if postgres:
            self._fts_delete = sa.text(f"DELETE FROM {FTS_TABLE} WHERE resource_pk = :pk")
            self._fts_insert = sa.text(
                f"INSERT INTO {FTS_TABLE} (resource_pk, text, content) VALUES "
                "(:pk, to_tsvector('english', :text), to_tsvector('english', :content))")
        else:
            self._fts_delete = sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :pk")
            self._fts_insert = sa.text(f"INSERT INTO {FTS_TABLE} (rowid, text, content) VALUES (:pk, :text, :content)")

    @staticmethod
    def mask(index: ResourceIndex) -> int:
        """The tables ``index`` writes rows to."""
        mask = FTS_BIT if index.text or index.content else 0
        for attr, (_table, bit) in INDEX_TABLES.items():
            if getattr(index, attr):
                mask |= bit
        if index.composites:
            mask |= COMPOSITE_BIT
        return mask

    def clear(self, conn: sa.Connection, resource_type: str, resource_id: str, pk: int, mask: int) -> None:
        """Remove every index row of the resource (the tables named by ``mask``)."""
        for bit, statement in self._deletes.items():
            if mask & bit:
                conn.execute(statement, {"rt": resource_type, "rid": resource_id})
        if mask & FTS_BIT:
            conn.execute(self._fts_delete, {"pk": pk})

    def write(self, conn: sa.Connection, resource_type: str, resource_id: str, pk: int,
              index: ResourceIndex) -> None:
        """Insert the rows of ``index`` (the tables named by ``mask(index)``)."""
        owner = {"resource_type": resource_type, "resource_id": resource_id}
        for attr, statement in self._inserts.items():
            entries: list[Any] = getattr(index, attr)
            if entries:
                conn.execute(statement, [{**owner, **asdict(e)} for e in entries])
        if index.composites:
            rows = [row for e in index.composites if (row := composite_row(e)) is not None]
            if rows:
                conn.execute(self._composite_insert, [{**owner, **row} for row in rows])
        if index.text or index.content:
            text, content = index.text or "", index.content or ""
            if self._postgres:
                text, content = pg_safe(text), pg_safe(content)
            conn.execute(self._fts_insert, {"pk": pk, "text": text, "content": content})


def pg_safe(text: str) -> str:
    return text.replace("\x00", " ")[:_PG_TEXT_LIMIT]


COMPOSITE_COLUMNS = tuple(c.name for c in idx_composite.columns
                          if c.name not in ("pk", "resource_type", "resource_id"))


def composite_row(entry: CompositeEntry) -> dict[str, Any] | None:
    """The idx_composite columns (param and c1_*/c2_*) of one combination; None for a shape not served
    (the served composites are token + token/quantity/date/string)."""
    if len(entry.components) != 2 or not isinstance(entry.components[0], TokenEntry):
        return None
    first, second = entry.components
    row: dict[str, Any] = dict.fromkeys(COMPOSITE_COLUMNS)
    row.update(param=entry.param, c1_system=first.system, c1_code=first.code)
    if isinstance(second, TokenEntry):
        row.update(c2_system=second.system, c2_code=second.code)
    elif isinstance(second, QuantityEntry):
        row.update(c2_system=second.system, c2_code=second.code, c2_unit=second.unit, c2_value=second.value,
                   c2_low=second.low, c2_high=second.high)
    elif isinstance(second, NumberEntry):
        row.update(c2_value=second.value, c2_low=second.low, c2_high=second.high)
    elif isinstance(second, DateEntry):
        row.update(c2_date_low=second.low, c2_date_high=second.high)
    elif isinstance(second, StringEntry):
        row.update(c2_normalized=second.normalized, c2_exact=second.exact)
    else:
        return None
    return row
