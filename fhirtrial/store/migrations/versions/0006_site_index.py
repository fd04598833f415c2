"""idx_site: a study's coded status at one of its sites, beside the site it references (``site-status-near``).

https://hl7.org/fhir/R4/search.html#composite. The position is the referenced Location's own idx_position row,
joined when searching (fhirtrial/store/search/site.py). Studies stored before this revision have no rows until
they are written again (re-import) or ``fhirtrial reindex`` runs.

Revision ID: 0006_site_index
Revises: 0005_conditional_claims
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_site_index"
down_revision = "0005_conditional_claims"
branch_labels = None
depends_on = None


def _c_text(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "idx_site",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.String(64)),
        sa.Column("system", sa.String(512)), sa.Column("code", _c_text(512)),
        sa.ForeignKeyConstraint(["resource_type", "resource_id"], ["resource.resource_type", "resource.id"],
                                ondelete="CASCADE", name="fk_site_resource"),
    )
    op.create_index("ix_site_search", "idx_site", ["resource_type", "param", "code", "target_id", "resource_id"])
    op.create_index("ix_site_target", "idx_site", ["target_type", "target_id", "param", "code", "resource_id"])
    op.create_index("ix_site_owner", "idx_site", ["resource_type", "resource_id", "param", "code", "target_id"])


def downgrade() -> None:
    op.drop_table("idx_site")
