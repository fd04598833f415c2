"""The SQL tables of the store: current and past versions, one index table per search-parameter type.

https://hl7.org/fhir/R4/http.html#versioning and https://hl7.org/fhir/R4/search.html#ptypes
The full-text tables (SQLite FTS5 / PostgreSQL tsvector) are dialect-specific and created by the migration.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# Bits of ``resource.index_mask``: which index tables hold rows for the resource, so a rewrite only
# deletes where something was written before.
FTS_BIT = 1 << 7


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime: ``timestamptz`` on PostgreSQL, a sortable naive-UTC string on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _body() -> sa.types.TypeEngine[Any]:
    """TEXT on SQLite, JSONB on PostgreSQL (written with a cast from text, read back as ``body::text``)."""
    return sa.Text().with_variant(JSONB(), "postgresql")


def _pk() -> sa.Column[int]:
    return sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                     autoincrement=True)


def _owner() -> list[sa.SchemaItem]:
    """Columns and foreign key tying an index row to its resource."""
    return [
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
    ]


def _fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["resource_type", "resource_id"], ["resource.resource_type", "resource.id"],
                                   ondelete="CASCADE")


resource = sa.Table(
    "resource", metadata,
    _pk(),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("last_updated", UTCDateTime(), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("index_mask", sa.Integer, nullable=False, default=0),
    sa.Column("body", _body(), nullable=True),
    sa.UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    sa.Index("ix_resource_type_updated", "resource_type", "last_updated"),
)

resource_version = sa.Table(
    "resource_version", metadata,
    sa.Column("resource_type", sa.String(64), primary_key=True),
    sa.Column("resource_id", sa.String(64), primary_key=True),
    sa.Column("version_id", sa.Integer, primary_key=True),
    sa.Column("last_updated", UTCDateTime(), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("body", _body(), nullable=True),
    sa.ForeignKeyConstraint(["resource_type", "resource_id"], ["resource.resource_type", "resource.id"],
                            ondelete="CASCADE"),
    sa.Index("ix_version_updated", "last_updated", "resource_type", "resource_id", "version_id"),
    sa.Index("ix_version_type_updated", "resource_type", "last_updated", "resource_id", "version_id"),
)

idx_token = sa.Table(
    "idx_token", metadata, _pk(), *_owner(),
    sa.Column("system", sa.String(512)), sa.Column("code", sa.String(512)), sa.Column("text", sa.Text),
    _fk(),
    sa.Index("ix_token_search", "resource_type", "param", "code", "system"),
    sa.Index("ix_token_owner", "resource_type", "resource_id"),
)

idx_string = sa.Table(
    "idx_string", metadata, _pk(), *_owner(),
    sa.Column("normalized", sa.Text, nullable=False), sa.Column("exact", sa.Text, nullable=False),
    _fk(),
    sa.Index("ix_string_search", "resource_type", "param", "normalized"),
    sa.Index("ix_string_owner", "resource_type", "resource_id"),
)

idx_date = sa.Table(
    "idx_date", metadata, _pk(), *_owner(),
    sa.Column("low", UTCDateTime(), nullable=False), sa.Column("high", UTCDateTime(), nullable=False),
    _fk(),
    sa.Index("ix_date_search", "resource_type", "param", "low", "high"),
    sa.Index("ix_date_owner", "resource_type", "resource_id"),
)

idx_number = sa.Table(
    "idx_number", metadata, _pk(), *_owner(),
    sa.Column("value", sa.Float, nullable=False), sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    _fk(),
    sa.Index("ix_number_search", "resource_type", "param", "low", "high"),
    sa.Index("ix_number_owner", "resource_type", "resource_id"),
)

idx_quantity = sa.Table(
    "idx_quantity", metadata, _pk(), *_owner(),
    sa.Column("value", sa.Float, nullable=False), sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False), sa.Column("system", sa.String(512)),
    sa.Column("code", sa.String(256)), sa.Column("unit", sa.String(256)),
    _fk(),
    sa.Index("ix_quantity_search", "resource_type", "param", "code", "low", "high"),
    sa.Index("ix_quantity_owner", "resource_type", "resource_id"),
)

idx_reference = sa.Table(
    "idx_reference", metadata, _pk(), *_owner(),
    sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)), sa.Column("url", sa.Text),
    _fk(),
    sa.Index("ix_reference_search", "resource_type", "param", "target_type", "target_id"),
    sa.Index("ix_reference_target", "target_type", "target_id"),
    sa.Index("ix_reference_url", "resource_type", "param", "url"),
    sa.Index("ix_reference_owner", "resource_type", "resource_id"),
)

idx_uri = sa.Table(
    "idx_uri", metadata, _pk(), *_owner(),
    sa.Column("uri", sa.Text, nullable=False),
    _fk(),
    sa.Index("ix_uri_search", "resource_type", "param", "uri"),
    sa.Index("ix_uri_owner", "resource_type", "resource_id"),
)

# ResourceIndex attribute -> (table, mask bit); the order is the bit order.
INDEX_TABLES: dict[str, tuple[sa.Table, int]] = {
    name: (table, 1 << bit) for bit, (name, table) in enumerate([
        ("tokens", idx_token), ("strings", idx_string), ("dates", idx_date), ("numbers", idx_number),
        ("quantities", idx_quantity), ("references", idx_reference), ("uris", idx_uri),
    ])
}

# Name of the full-text table: FTS5 virtual table on SQLite (rowid = resource.pk, columns text/content),
# on PostgreSQL a table (resource_pk, text tsvector, content tsvector) with GIN indexes.
FTS_TABLE = "resource_fts"

ALL_TABLES: tuple[str, ...] = (FTS_TABLE, *(t.name for t, _ in INDEX_TABLES.values()), "resource_version",
                               "resource")

# Bulk Data $export jobs (https://hl7.org/fhir/uv/bulkdata/export.html), see fhirtrial/export/jobs.py.
# status: queued | running | complete | failed | cancelled. ``worker`` is "host:pid:boot" of the process running it,
# ``heartbeat`` its last sign of life, so a job whose process died is found and resumed (or failed).
export_job = sa.Table(
    "export_job", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request_url", sa.Text, nullable=False),
    sa.Column("scope", sa.String(64), nullable=True),
    sa.Column("types", sa.Text, nullable=True),
    sa.Column("since", UTCDateTime(), nullable=True),
    sa.Column("output_format", sa.String(64), nullable=False),
    sa.Column("requires_token", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("heartbeat", UTCDateTime(), nullable=True),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),
    sa.Column("transaction_time", UTCDateTime(), nullable=True),
    sa.Column("output", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_export_job_status", "status", "created_at"),
)
