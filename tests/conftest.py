"""Shared fixtures: the database under test (SQLite file, or PostgreSQL from FHIRTRIAL_DATABASE_URL) and an
empty, migrated SQLRepository per test."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fhirtrial.store.migrate import migrate
from fhirtrial.store.sql import SQLRepository

PG_ENV = "FHIRTRIAL_DATABASE_URL"


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


class _Truncator:
    """Empties every table but alembic_version of a migrated PostgreSQL database, in one statement."""

    def __init__(self, url: str) -> None:
        from fhirtrial.store.engine import create_engine

        self.engine = create_engine(url, pool_size=1)
        with self.engine.connect() as conn:
            names = conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'")).scalars().all()
        self.sql = "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY"

    def __call__(self) -> None:
        from fhirtrial.store import deferred

        deferred.build(self.engine)  # a test that set search indexes aside must not leave the next without them
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.sql)


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | _Truncator]:
    """PostgreSQL: migrated once per session; SQLite: a migrated template file copied for each test."""
    url = _pg_url()
    if url:
        migrate(url)
        truncate = _Truncator(url)
        yield truncate
        truncate.engine.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    yield path


@pytest.fixture
def database_url(_database_template: Path | _Truncator, tmp_path: Path) -> str:
    """URL of a migrated, empty database for this test."""
    url = _pg_url()
    if url:
        assert isinstance(_database_template, _Truncator)
        _database_template()
        return url
    assert isinstance(_database_template, Path)
    target = tmp_path / "fhirtrial.db"
    shutil.copyfile(_database_template, target)
    return f"sqlite:///{target}"


_INDEXERS: list[object] = []


def _indexer() -> object:
    """One FhirPathIndexer per session: compiling its plans once keeps per-test setup cheap."""
    from fhirtrial.search.extract import FhirPathIndexer

    if not _INDEXERS:
        _INDEXERS.append(FhirPathIndexer())
    return _INDEXERS[0]


@pytest.fixture
def repo(database_url: str) -> Iterator[SQLRepository]:
    """An open, migrated, empty SQLRepository indexing with FhirPathIndexer (the default everywhere)."""
    repository = SQLRepository(database_url, _indexer())
    yield repository
    repository.close()
