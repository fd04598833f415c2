"""Search indexes set aside by a bulk import (fhirtrial/store/deferred.py).

Revision ID: 0003_deferred_indexes
Revises: 0002_export_jobs
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_deferred_indexes"
down_revision = "0002_export_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_index",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("ddl", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deferred_index")
