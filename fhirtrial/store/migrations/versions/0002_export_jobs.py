"""Bulk Data $export jobs, https://hl7.org/fhir/uv/bulkdata/export.html.

Revision ID: 0002_export_jobs
Revises: 0001_initial
Create Date: 2026-01-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_export_jobs"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "export_job",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_url", sa.Text, nullable=False),
        sa.Column("scope", sa.String(64), nullable=True),
        sa.Column("types", sa.Text, nullable=True),
        sa.Column("since", _ts(), nullable=True),
        sa.Column("output_format", sa.String(64), nullable=False),
        sa.Column("requires_token", sa.Boolean, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("heartbeat", _ts(), nullable=True),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("transaction_time", _ts(), nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_export_job_status", "export_job", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_export_job_status", table_name="export_job")
    op.drop_table("export_job")
