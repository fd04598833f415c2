"""What the bulk writer (store/bulk.py) takes: studies whose resources are already stamped and indexed.

https://hl7.org/fhir/R4/search.html -- the import prepares them in worker processes (ingest/prepare.py); the
writer only decides versions, so these types and the index rows live here, below both.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from ..errors import Issue
from ..search.index import ResourceIndex
from .index_writer import IndexWriter, composite_row
from .schema import INDEX_TABLES

COMPOSITES = "composites"  # IndexRows.rows key of the idx_composite rows


@dataclass(slots=True)
class IndexRows:
    """A resource's index rows without their owner columns: per ResourceIndex attribute a list of tuples in
    the entry dataclass's field order (which is the index table's column order after the owner)."""

    rows: dict[str, list[tuple[Any, ...]]]
    mask: int
    text: str
    content: str


@dataclass(slots=True)
class PreparedResource:
    resource_type: str
    id: str
    key: bytes  # versioning.key_digest(versioning.content_key): equal keys mean "unchanged"
    body: bytes  # stamped as version 1 at ``ts``; empty when in a shard (``seq``)
    ts: datetime
    # None for a shared resource this process already prepared with the same content: the writer has
    # almost always stored it already ("unchanged"), and indexes it itself when not. When in a shard, only
    # the mask is here (the rows are in the shard).
    index: IndexRows | None
    warnings: tuple[Issue, ...] = ()  # what the validator reports beside a stored resource (strictness warning)
    seq: int | None = None  # its row in the study's shard (store/shard.py), which holds the body and index rows


@dataclass(slots=True)
class PreparedStudy:
    """A study ready for the writer, or the reason it cannot be stored (``error``)."""

    nct_id: str | None
    origin: str
    resources: list[PreparedResource] | None = None
    error: str | None = None
    stage: str | None = None  # where it failed: read, map, validate, write
    superseded_by: str | None = None
    warnings: int = 0
    issues: list[Issue] | None = None  # every error of the resource the validator refused
    shard: str | None = None  # the shard file holding its resources' rows (store/shard.py), if any

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"nctId": self.nct_id, "origin": self.origin, "stage": self.stage, "error": self.error}
        if self.superseded_by is not None:
            out["supersededBy"] = self.superseded_by
        if self.issues:
            out["issues"] = [i.to_json() for i in self.issues]
        return out


_GETTERS: dict[type, attrgetter] = {}  # type: ignore[type-arg]


def _getter(entry_type: type) -> attrgetter:  # type: ignore[type-arg]
    getter = _GETTERS.get(entry_type)
    if getter is None:
        getter = _GETTERS[entry_type] = attrgetter(*(f.name for f in fields(entry_type)))
    return getter


def index_rows(index: ResourceIndex) -> IndexRows:
    """The rows IndexWriter.write would insert for ``index`` (tables in INDEX_TABLES, then full text)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for attr in INDEX_TABLES:
        entries = getattr(index, attr)
        if entries:
            get = _getter(type(entries[0]))
            rows[attr] = [get(e) for e in entries]
    if index.composites:  # IndexWriter.write: idx_composite in COMPOSITE_COLUMNS order
        composite = [tuple(row.values()) for e in index.composites if (row := composite_row(e)) is not None]
        if composite:
            rows[COMPOSITES] = composite
    return IndexRows(rows, IndexWriter.mask(index), index.text, index.content)
