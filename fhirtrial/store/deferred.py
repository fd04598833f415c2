"""Search indexes set aside during a large import and built again at its end.

https://www.postgresql.org/docs/current/populate.html#POPULATE-RM-INDEXES and
https://www.sqlite.org/lang_createindex.html: inserting tens of millions of index rows one by one into B-trees
that no longer fit in memory costs far more than sorting them once. For a large import the *search* indexes
(and the history/_lastUpdated ones) are dropped and created again when it ends. The owner indexes stay, so an
update still replaces exactly its own rows, as do the unique keys the importer reads versions by. On
PostgreSQL the foreign keys from the index and version tables to ``resource`` go too (a trigger per inserted
row costs a third of the load; the importer writes the resource before its rows, and resources are never
removed) and are added back, validated, at the end. Each dropped object's exact DDL is recorded in
``deferred_index`` in the same transaction as the drop: an import killed half-way leaves that record, and the
next import (or ``fhirtrial reindex``) builds them. Meanwhile searches still give the right answers, only slower.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from .engine import WRITE, analyze, is_postgres
from .schema import deferred_index

DEFERRABLE: tuple[str, ...] = (
    "ix_token_search", "ix_string_search", "ix_date_search", "ix_number_search", "ix_quantity_search",
    "ix_reference_search", "ix_reference_url", "ix_uri_search", "ix_position_search", "ix_composite_search", "ix_site_search", "ix_site_target",
    "ix_resource_type_updated", "ix_resource_cover", "ix_version_updated", "ix_version_type_updated",
    "ix_fts_text", "ix_fts_content",  # PostgreSQL's GIN indexes (SQLite's FTS5 table is its own index)
)
# PostgreSQL only: foreign keys are checked by a trigger per row (SQLite's checks are cheap index probes).
DEFERRABLE_FOREIGN_KEYS: tuple[str, ...] = (
    "fk_version_resource", "fk_token_resource", "fk_string_resource", "fk_date_resource", "fk_number_resource",
    "fk_quantity_resource", "fk_reference_resource", "fk_uri_resource", "fk_position_resource",
    "fk_composite_resource", "fk_site_resource", "resource_fts_resource_pk_fkey",
)
# Below this many studies in the input, keeping the indexes up to date is cheaper than building them again.
MIN_STUDIES = 10_000


def deferrable(postgres: bool) -> list[str]:
    """Names of what ``set_aside`` drops on that database (when it exists)."""
    names = [n for n in DEFERRABLE if postgres or not n.startswith("ix_fts_")]
    return names + list(DEFERRABLE_FOREIGN_KEYS) if postgres else names


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
    """Drop the deferrable indexes (and, on PostgreSQL, foreign keys) that exist, recording their DDL; returns
    the names dropped."""
    dropped = []
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        for name in DEFERRABLE:
            ddl = _ddl(conn, name)
            if ddl is None:
                continue
            conn.execute(deferred_index.insert().values(name=name, ddl=ddl))
            conn.exec_driver_sql(f"DROP INDEX {name}")
            dropped.append(name)
        if is_postgres(conn):
            for name in DEFERRABLE_FOREIGN_KEYS:
                found = _foreign_key(conn, name)
                if found is None:
                    continue
                table, definition = found
                conn.execute(deferred_index.insert().values(
                    name=name, ddl=f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                dropped.append(name)
    return dropped


def build(engine: sa.Engine, on_index: Callable[[str, float], None] | None = None) -> list[str]:
    """Create every index (then foreign key) set aside, each in its own transaction with the removal of its
    record."""
    with engine.connect() as conn:
        rows = sorted(conn.execute(sa.select(deferred_index.c.name, deferred_index.c.ddl)),
                      key=lambda row: (row[1].startswith("ALTER"), row[0]))
    built = []
    for name, ddl in rows:
        started = time.perf_counter()
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            exists = _foreign_key(conn, name) is not None if ddl.startswith("ALTER") else _ddl(conn, name) is not None
            if not exists:
                conn.exec_driver_sql(ddl)
            conn.execute(deferred_index.delete().where(deferred_index.c.name == name))
        built.append(name)
        if on_index is not None:
            on_index(name, time.perf_counter() - started)
    if built:
        analyze(engine)  # the planner needs statistics for the new indexes
    return built


def _foreign_key(conn: sa.Connection, name: str) -> tuple[str, str] | None:
    """PostgreSQL: (table, definition) of a foreign key constraint, as the database reports it."""
    row = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND c.conname = %s "
        "AND n.nspname = current_schema()", (name,)).first()
    return None if row is None else (row[0], row[1])


def _ddl(conn: sa.Connection, name: str) -> str | None:
    """The CREATE INDEX statement of an existing index, as the database itself reports it."""
    if is_postgres(conn):
        sql = ("SELECT pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind = 'i' AND c.relname = %s AND n.nspname = current_schema()")
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
    return conn.exec_driver_sql(sql, (name,)).scalar_one_or_none()
