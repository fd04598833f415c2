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


def _c_text(length: int | None = None) -> sa.types.TypeEngine[Any]:
    """Text compared by code point on both databases (SQLite BINARY; PostgreSQL COLLATE "C"), so that prefix
    searches are index range scans and sort orders agree between the two."""
    base = sa.String(length) if length else sa.Text()
    return base.with_variant(sa.String(length, collation="C") if length else sa.Text(collation="C"), "postgresql")


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
    # Covering for search: candidates found in an index table are checked (and paged) without reading the
    # resource rows, whose bodies make them large.
    sa.Index("ix_resource_cover", "resource_type", "id", "deleted", "version_id", "last_updated"),
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
    sa.Column("system", sa.String(512)), sa.Column("code", _c_text(512)), sa.Column("text", sa.Text),
    _fk(),
    sa.Index("ix_token_search", "resource_type", "param", "code", "system", "resource_id"),
    sa.Index("ix_token_owner", "resource_type", "resource_id", "param", "code", "system"),
)

idx_string = sa.Table(
    "idx_string", metadata, _pk(), *_owner(),
    sa.Column("normalized", _c_text(), nullable=False), sa.Column("exact", sa.Text, nullable=False),
    _fk(),
    sa.Index("ix_string_owner", "resource_type", "resource_id", "param"),
)
# Strings can be longer than a btree entry may be (PostgreSQL: ~2.7 kB): the search index holds a prefix,
# and prefix searches compare that expression (store/search/string.py).
STRING_PREFIX = 128
sa.Index("ix_string_search", idx_string.c.resource_type, idx_string.c.param,
         sa.func.substr(idx_string.c.normalized, 1, STRING_PREFIX), idx_string.c.resource_id)

idx_date = sa.Table(
    "idx_date", metadata, _pk(), *_owner(),
    sa.Column("low", UTCDateTime(), nullable=False), sa.Column("high", UTCDateTime(), nullable=False),
    _fk(),
    sa.Index("ix_date_search", "resource_type", "param", "low", "high", "resource_id"),
    sa.Index("ix_date_owner", "resource_type", "resource_id", "param", "low", "high"),
)

idx_number = sa.Table(
    "idx_number", metadata, _pk(), *_owner(),
    sa.Column("value", sa.Float, nullable=False), sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    _fk(),
    sa.Index("ix_number_search", "resource_type", "param", "low", "high", "resource_id"),
    sa.Index("ix_number_owner", "resource_type", "resource_id", "param", "low", "high", "value"),
)

idx_quantity = sa.Table(
    "idx_quantity", metadata, _pk(), *_owner(),
    sa.Column("value", sa.Float, nullable=False), sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False), sa.Column("system", sa.String(512)),
    sa.Column("code", sa.String(256)), sa.Column("unit", sa.String(256)),
    _fk(),
    sa.Index("ix_quantity_search", "resource_type", "param", "code", "low", "high"),
    sa.Index("ix_quantity_owner", "resource_type", "resource_id", "param", "value", "low", "high"),
)

idx_reference = sa.Table(
    "idx_reference", metadata, _pk(), *_owner(),
    sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)), sa.Column("url", sa.Text),
    _fk(),
    sa.Index("ix_reference_search", "resource_type", "param", "target_type", "target_id", "resource_id"),
    sa.Index("ix_reference_target", "target_type", "target_id"),
    sa.Index("ix_reference_url", "resource_type", "param", "url"),
    sa.Index("ix_reference_owner", "resource_type", "resource_id", "param", "target_type", "target_id"),
)

idx_uri = sa.Table(
    "idx_uri", metadata, _pk(), *_owner(),
    sa.Column("uri", _c_text(), nullable=False),
    _fk(),
    sa.Index("ix_uri_search", "resource_type", "param", "uri"),
    sa.Index("ix_uri_owner", "resource_type", "resource_id", "param"),
)

# Location.position for ``near``: a bounding box on (latitude, longitude), then great-circle distance.
idx_position = sa.Table(
    "idx_position", metadata, _pk(), *_owner(),
    sa.Column("latitude", sa.Float, nullable=False), sa.Column("longitude", sa.Float, nullable=False),
    _fk(),
    sa.Index("ix_position_search", "resource_type", "param", "latitude", "longitude", "resource_id"),
    sa.Index("ix_position_owner", "resource_type", "resource_id", "param", "latitude", "longitude"),
)

# Composite parameters (https://hl7.org/fhir/R4/search.html#composite): one row per combination. The served
# composites are token + (token | quantity | date | string); the first component fills c1_*, the second the
# columns of its type among c2_*.
idx_composite = sa.Table(
    "idx_composite", metadata, _pk(), *_owner(),
    sa.Column("c1_system", sa.String(512)), sa.Column("c1_code", sa.String(512)),
    sa.Column("c2_system", sa.String(512)), sa.Column("c2_code", sa.String(512)), sa.Column("c2_unit", sa.String(256)),
    sa.Column("c2_value", sa.Float), sa.Column("c2_low", sa.Float), sa.Column("c2_high", sa.Float),
    sa.Column("c2_date_low", UTCDateTime()), sa.Column("c2_date_high", UTCDateTime()),
    sa.Column("c2_normalized", _c_text()), sa.Column("c2_exact", sa.Text),
    _fk(),
    sa.Index("ix_composite_search", "resource_type", "param", "c1_code", "c2_code"),
    sa.Index("ix_composite_owner", "resource_type", "resource_id", "param"),
)
COMPOSITE_BIT = 1 << 9

# Composites of a coded value on a reference with the referenced Location's position (``site-status-near``:
# this study's status at a site, and where the site is). The position is read from idx_position of the
# Location when searching (store/search/site.py), so a Location shared by many studies is not copied per study.
idx_site = sa.Table(
    "idx_site", metadata, _pk(), *_owner(),
    sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)),
    sa.Column("system", sa.String(512)), sa.Column("code", _c_text(512)),
    _fk(),
    sa.Index("ix_site_search", "resource_type", "param", "code", "target_id", "resource_id"),
    sa.Index("ix_site_target", "target_type", "target_id", "param", "code", "resource_id"),
    sa.Index("ix_site_owner", "resource_type", "resource_id", "param", "code", "target_id"),
)

# ResourceIndex attribute -> (table, mask bit); the order is the bit order.
# Bit 7 is FTS_BIT; positions take bit 8, sites bit 10. Each entry's dataclass fields are the table's columns after the owner,
# so generic writers (IndexWriter, bulk) can insert them as they are. Composites (nested entries) are not
# listed here: IndexWriter flattens them into idx_composite (COMPOSITE_BIT).
# The owner indexes (resource_type, resource_id, param, values...) serve deletes and, being covering, the
# per-candidate probes of broad filters (store/search/predicate.py).
INDEX_TABLES: dict[str, tuple[sa.Table, int]] = {
    name: (table, 1 << bit) for bit, (name, table) in [
        (0, ("tokens", idx_token)), (1, ("strings", idx_string)), (2, ("dates", idx_date)),
        (3, ("numbers", idx_number)), (4, ("quantities", idx_quantity)), (5, ("references", idx_reference)),
        (6, ("uris", idx_uri)), (8, ("positions", idx_position)), (10, ("sites", idx_site)),
    ]
}

# Name of the full-text table: FTS5 virtual table on SQLite (rowid = resource.pk, columns text/content),
# on PostgreSQL a table (resource_pk, text tsvector, content tsvector) with GIN indexes.
FTS_TABLE = "resource_fts"

ALL_TABLES: tuple[str, ...] = (FTS_TABLE, *(t.name for t, _ in INDEX_TABLES.values()), "idx_composite",
                               "resource_version",
                               "resource")

# Search indexes a bulk import has dropped and must build again (store/deferred.py): name and exact DDL.
deferred_index = sa.Table(
    "deferred_index", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("ddl", sa.Text, nullable=False),
)

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

# Conditional create's guard (store/claims.py, as HAPI's HFJ_RES_SEARCH_URL): one row per resource type and
# normalised criteria, written in the creating transaction, so two racing creates cannot both create.
conditional_claim = sa.Table(
    "conditional_claim", metadata,
    sa.Column("resource_type", sa.String(64), primary_key=True),
    sa.Column("criteria_hash", sa.String(64), primary_key=True),
    sa.Column("criteria", sa.Text, nullable=False),
    sa.Column("resource_id", sa.String(64), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
)
