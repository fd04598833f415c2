"""PostgreSQL extended statistics on the index tables (https://www.postgresql.org/docs/current/planner-stats.html#PLANNER-STATS-EXTENDED).

A parameter's values belong to it alone: code 'RECRUITING' occurs only under param 'recruitment', and each param
under one resource type. Treated as independent columns, the planner multiplies their frequencies and expects
~90 rows where there are 10,000, then hashes and sorts what a page could have read in order. Dependencies and
most-common-value lists over the columns together fix those estimates. SQLite does not need them (store/search/plan.py).

Revision ID: 0004_pg_statistics
Revises: 0003_deferred_indexes
Create Date: 2026-11-25
"""
from __future__ import annotations

from alembic import op

revision = "0004_pg_statistics"
down_revision = "0003_deferred_indexes"
branch_labels = None
depends_on = None

# statistics name -> (table, columns); st_token_value gets a larger sample and MCV list (STATISTICS 1000, ~4 s
# of ANALYZE per 100k studies): with the default 100 a code of 10,000 rows among 13 million (a recruitment
# status, a common condition) falls out of the list, and its estimate back to ~80.
STATISTICS = {
    "st_token_value": ("idx_token", "resource_type, param, code"),
    "st_string_param": ("idx_string", "resource_type, param"),
    "st_date_param": ("idx_date", "resource_type, param"),
    "st_number_param": ("idx_number", "resource_type, param"),
    "st_reference_target": ("idx_reference", "resource_type, param, target_type"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns) in STATISTICS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (dependencies, mcv) ON {columns} FROM {table}")
    op.execute("ALTER STATISTICS st_token_value SET STATISTICS 1000")
    for table, _ in STATISTICS.values():
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
