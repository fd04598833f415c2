"""The Alembic history builds the schema the code expects, on both databases (https://alembic.sqlalchemy.org/)."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from fhirtrial.store.migrate import MIGRATIONS, alembic_config, downgrade, migrate
from fhirtrial.store.schema import FTS_TABLE, metadata
from fhirtrial.store.sql import SQLRepository, open_repository

from ..support.database import MARKER


def _include(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
    # The full-text table is dialect-specific and not part of the Core metadata; Alembic cannot compare
    # expression indexes (ix_string_search indexes a prefix of the text).
    # The test suite's own marker table (tests/support/database.py) is no part of the schema either.
    return not (name or "").startswith(FTS_TABLE) and not (type_ == "index" and "fts" in (name or "")) \
        and name not in ("ix_string_search", MARKER)


def test_schema_matches_metadata(database_url: str) -> None:
    repo = SQLRepository(database_url)
    try:
        with repo.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": _include, "compare_type": False})
            assert compare_metadata(ctx, metadata) == []
            assert ctx.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    finally:
        repo.close()


def test_postgres_has_extended_statistics(database_url: str) -> None:
    """Migration 0004: the planner knows that a code belongs to one parameter and a parameter to one type."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL statistics")
    import importlib

    expected = importlib.import_module("fhirtrial.store.migrations.versions.0004_pg_statistics").STATISTICS
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT s.stxname, c.relname, s.stxstattarget FROM pg_statistic_ext s "
                                        "JOIN pg_class c ON c.oid = s.stxrelid").all()
    finally:
        engine.dispose()
    assert {name: table for name, table, _ in rows} == {name: table for name, (table, _) in expected.items()}
    assert {name: target for name, _, target in rows}["st_token_value"] == 1000


def test_migrate_is_idempotent(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    with open_repository(database_url) as repo, repo.unit_of_work() as uow:
        assert uow.update("Patient", "a", {"resourceType": "Patient"}).outcome == "created"


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file() and (MIGRATIONS / "__init__.py").is_file()
    assert (MIGRATIONS / "versions" / "__init__.py").is_file()  # setuptools finds it as a package


def test_fresh_sqlite_concurrent_migrations_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(url)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"resource", "resource_version", "idx_token", FTS_TABLE} <= tables
    downgrade(url, "base")
    with sqlite3.connect(tmp_path / "fresh.db") as conn:
        left = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert left == {"alembic_version"}
    migrate(url)


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError):
        SQLRepository("sqlite://")


def test_plain_postgresql_url_uses_psycopg() -> None:
    from fhirtrial.store.engine import normalize_url

    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert sa.make_url("sqlite:///x.db") == normalize_url("sqlite:///x.db")
