"""Conditional create's guard: one row per resource type and normalised criteria (fhirtrial/store/claims.py).

https://hl7.org/fhir/R4/http.html#ccreate

Revision ID: 0005_conditional_claims
Revises: 0004_pg_statistics
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_conditional_claims"
down_revision = "0004_pg_statistics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conditional_claim",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("criteria_hash", sa.String(64), primary_key=True),
        sa.Column("criteria", sa.Text, nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conditional_claim")
