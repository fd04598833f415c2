"""Search indexes set aside during a large import and built again at its end.

https://www.postgresql.org/docs/current/populate.html#POPULATE-RM-INDEXES and
https://www.sqlite.org/lang_createindex.html: inserting tens of millions of index rows one by one into B-trees
that no longer fit in memory costs far more than sorting them once. For a large import the *search* indexes
(and the history/_lastUpdated ones) are dropped and created again when it ends. The owner indexes stay, so an
update still replaces exactly its own rows, as do the unique keys the importer reads versions by. Each dropped
index's exact DDL is recorded in ``deferred_index`` in the same transaction as the drop: an import killed
half-way leaves that record, and the next import (or ``fhirtrial reindex``) builds them. Meanwhile searches
still give the right answers, only slower.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from .engine import WRITE, analyze, is_postgres
from .schema import deferred_index

DEFERRABLE: tuple[str, ...] = (
    "ix_token_search", "ix_string_search", "ix_date_search", "ix_number_search", "ix_quantity_search",
    "ix_reference_search", "ix_reference_url", "ix_uri_search", "ix_position_search", "ix_composite_search",
    "ix_resource_type_updated", "ix_resource_cover", "ix_version_updated", "ix_version_type_updated",
)
# Below this many studies in the input, keeping the indexes up to date is cheaper than building them again.
MIN_STUDIES = 10_000


def pending(conn: sa.Connection) -> list[str]:
    """Names of the indexes set aside and not built yet."""
    return list(conn.execute(sa.select(deferred_index.c.name).order_by(deferred_index.c.name)).scalars())


def worth_it(conn: sa.Connection, studies: int) -> bool:
    """Whether an import of ``studies`` studies should set the indexes aside: it is large, and at least as
    large as what is stored (building an index again costs in proportion to everything in it)."""
    if pending(conn):
        return True  # an earlier large import did not finish: carry on the same way
    if studies < MIN_STUDIES:
        return False
    stored = conn.exec_driver_sql(
        "SELECT count(*) FROM resource WHERE resource_type = 'ResearchStudy'").scalar_one()
    return studies >= stored


def set_aside(engine: sa.Engine) -> list[str]:
    """Drop the deferrable indexes that exist, recording their DDL; returns the names dropped."""
    dropped = []
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        for name in DEFERRABLE:
            ddl = _ddl(conn, name)
            if ddl is None:
                continue
            conn.execute(deferred_index.insert().values(name=name, ddl=ddl))
            conn.exec_driver_sql(f"DROP INDEX {name}")
            dropped.append(name)
    return dropped


def build(engine: sa.Engine, on_index: Callable[[str, float], None] | None = None) -> list[str]:
    """Create every index set aside, each in its own transaction with the removal of its record."""
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(deferred_index.c.name, deferred_index.c.ddl)
                                 .order_by(deferred_index.c.name)))
    built = []
    for name, ddl in rows:
        started = time.perf_counter()
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            if _ddl(conn, name) is None:
                conn.exec_driver_sql(ddl)
            conn.execute(deferred_index.delete().where(deferred_index.c.name == name))
        built.append(name)
        if on_index is not None:
            on_index(name, time.perf_counter() - started)
    if built:
        analyze(engine)  # the planner needs statistics for the new indexes
    return built


def _ddl(conn: sa.Connection, name: str) -> str | None:
    """The CREATE INDEX statement of an existing index, as the database itself reports it."""
    if is_postgres(conn):
        sql = ("SELECT pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind = 'i' AND c.relname = %s AND n.nspname = current_schema()")
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
    return conn.exec_driver_sql(sql, (name,)).scalar_one_or_none()
