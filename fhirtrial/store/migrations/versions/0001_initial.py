"""Initial store schema: current and past versions, search index tables, full text.

https://hl7.org/fhir/R4/http.html#versioning, https://hl7.org/fhir/R4/search.html#ptypes

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

INDEX_TABLES = ("idx_token", "idx_string", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri",
                "idx_position", "idx_composite")


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _c_text(length: int | None = None) -> sa.types.TypeEngine:
    """Code-point ordered text (PostgreSQL COLLATE "C"): prefix searches become index range scans."""
    base = sa.String(length) if length else sa.Text()
    return base.with_variant(sa.String(length, collation="C") if length else sa.Text(collation="C"), "postgresql")


def _pk() -> sa.Column:
    return sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                     autoincrement=True)


def _index_table(name: str, short: str, columns: list[sa.Column], search: list[str] | None,
                 extra: dict[str, list[str]] | None = None, owner: tuple[str, ...] = ()) -> None:
    op.create_table(
        name, _pk(),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["resource_type", "resource_id"], ["resource.resource_type", "resource.id"],
                                ondelete="CASCADE", name=f"fk_{short}_resource"),
    )
    if search is not None:
        op.create_index(f"ix_{short}_search", name, ["resource_type", "param", *search])
    # Covering for the per-candidate probes of broad filters, and for deletes.
    op.create_index(f"ix_{short}_owner", name, ["resource_type", "resource_id", "param", *owner])
    for index_name, cols in (extra or {}).items():
        op.create_index(index_name, name, cols)


def upgrade() -> None:
    body = JSONB() if is_postgres() else sa.Text()
    op.create_table(
        "resource", _pk(),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", _ts(), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("index_mask", sa.Integer, nullable=False),
        sa.Column("body", body, nullable=True),
        sa.UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    )
    op.create_index("ix_resource_type_updated", "resource", ["resource_type", "last_updated"])
    op.create_index("ix_resource_cover", "resource", ["resource_type", "id", "deleted", "version_id", "last_updated"])
    op.create_table(
        "resource_version",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, primary_key=True),
        sa.Column("last_updated", _ts(), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("body", body, nullable=True),
        sa.ForeignKeyConstraint(["resource_type", "resource_id"], ["resource.resource_type", "resource.id"],
                                ondelete="CASCADE", name="fk_version_resource"),
    )
    op.create_index("ix_version_updated", "resource_version",
                    ["last_updated", "resource_type", "resource_id", "version_id"])
    op.create_index("ix_version_type_updated", "resource_version",
                    ["resource_type", "last_updated", "resource_id", "version_id"])

    # The search indexes end with resource_id so that the id lists of a filter are read from the index alone.
    _index_table("idx_token", "token", [sa.Column("system", sa.String(512)), sa.Column("code", _c_text(512)),
                                        sa.Column("text", sa.Text)], ["code", "system", "resource_id"],
                 owner=("code", "system"))
    _index_table("idx_string", "string", [sa.Column("normalized", _c_text(), nullable=False),
                                          sa.Column("exact", sa.Text, nullable=False)], None)
    # A prefix of the text: whole strings may exceed a btree entry (schema.STRING_PREFIX).
    op.create_index("ix_string_search", "idx_string",
                    ["resource_type", "param", sa.text("substr(normalized, 1, 128)"), "resource_id"])
    _index_table("idx_date", "date", [sa.Column("low", _ts(), nullable=False),
                                      sa.Column("high", _ts(), nullable=False)], ["low", "high", "resource_id"],
                 owner=("low", "high"))
    _index_table("idx_number", "number", [sa.Column("value", sa.Float, nullable=False),
                                          sa.Column("low", sa.Float, nullable=False),
                                          sa.Column("high", sa.Float, nullable=False)], ["low", "high", "resource_id"],
                 owner=("low", "high", "value"))
    _index_table("idx_quantity", "quantity", [
        sa.Column("value", sa.Float, nullable=False), sa.Column("low", sa.Float, nullable=False),
        sa.Column("high", sa.Float, nullable=False), sa.Column("system", sa.String(512)),
        sa.Column("code", sa.String(256)), sa.Column("unit", sa.String(256))], ["code", "low", "high"],
        owner=("value", "low", "high"))
    _index_table("idx_reference", "reference", [
        sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)), sa.Column("url", sa.Text)],
        ["target_type", "target_id", "resource_id"],
        {"ix_reference_target": ["target_type", "target_id"], "ix_reference_url": ["resource_type", "param", "url"]},
        owner=("target_type", "target_id"))
    _index_table("idx_uri", "uri", [sa.Column("uri", _c_text(), nullable=False)], ["uri"])
    # Location near: bounding box on (latitude, longitude), then great-circle distance.
    _index_table("idx_position", "position", [sa.Column("latitude", sa.Float, nullable=False),
                                              sa.Column("longitude", sa.Float, nullable=False)],
                 ["latitude", "longitude", "resource_id"], owner=("latitude", "longitude"))
    # Composites: token + (token | quantity | date | string), flattened (see schema.idx_composite).
    _index_table("idx_composite", "composite", [
        sa.Column("c1_system", sa.String(512)), sa.Column("c1_code", sa.String(512)),
        sa.Column("c2_system", sa.String(512)), sa.Column("c2_code", sa.String(512)),
        sa.Column("c2_unit", sa.String(256)), sa.Column("c2_value", sa.Float), sa.Column("c2_low", sa.Float),
        sa.Column("c2_high", sa.Float), sa.Column("c2_date_low", _ts()), sa.Column("c2_date_high", _ts()),
        sa.Column("c2_normalized", _c_text()), sa.Column("c2_exact", sa.Text)], ["c1_code", "c2_code"])

    # Full text for _text / _content (https://hl7.org/fhir/R4/search.html#text).
    if is_postgres():
        op.execute("CREATE TABLE resource_fts (resource_pk BIGINT PRIMARY KEY REFERENCES resource (pk) "
                   "ON DELETE CASCADE, text TSVECTOR NOT NULL, content TSVECTOR NOT NULL)")
        op.execute("CREATE INDEX ix_fts_text ON resource_fts USING GIN (text)")
        op.execute("CREATE INDEX ix_fts_content ON resource_fts USING GIN (content)")
    else:
        op.execute("CREATE VIRTUAL TABLE resource_fts USING fts5(text, content, "
                   "tokenize = 'porter unicode61 remove_diacritics 2')")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS resource_fts")
    for name in reversed(INDEX_TABLES):
        op.drop_table(name)
    op.drop_table("resource_version")
    op.drop_table("resource")
