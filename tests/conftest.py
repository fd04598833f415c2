"""Shared fixtures: the database under test (a SQLite file per test, or the PostgreSQL database named by
FHIRTRIAL_TEST_DATABASE_URL -- never the server's FHIRTRIAL_DATABASE_URL) and an empty, migrated SQLRepository
per test."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# The server's settings of the user's shell (FHIRTRIAL_DATABASE_URL above all) must reach neither the tests nor
# the servers and commands they start; the default data directory is a temporary one. Done before fhirtrial is
# imported, so no setting is read from them.
for _name in [n for n in os.environ if n.startswith("FHIRTRIAL_") and not n.startswith("FHIRTRIAL_TEST_")]:
    del os.environ[_name]
_DATA_DIR = tempfile.mkdtemp(prefix="fhirtrial-test-data-")
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)
os.environ["FHIRTRIAL_DATA_DIR"] = _DATA_DIR

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from fhirtrial.store.migrate import migrate  # noqa: E402
from fhirtrial.store.sql import SQLRepository  # noqa: E402

from .support.database import MARKER, TEST_DATABASE_ENV, UnsafeTestDatabase, claim  # noqa: E402

PG_ENV = TEST_DATABASE_ENV


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, in one line and before anything is written, a test database the suite did not create."""
    url = _pg_url()
    if url:
        try:
            claim(url)
        except UnsafeTestDatabase as exc:
            pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


class _Truncator:
    """Empties every table but alembic_version and the marker of a migrated PostgreSQL database, in one
    statement."""

    def __init__(self, url: str) -> None:
        from fhirtrial.store.engine import create_engine

        self.engine = create_engine(url, pool_size=1)
        with self.engine.connect() as conn:
            names = conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename NOT IN ('alembic_version', :marker)"), {"marker": MARKER}).scalars().all()
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
