"""The suite cannot hurt a database it did not create: it reads FHIRTRIAL_TEST_DATABASE_URL only, and refuses (one
line, nothing written) a PostgreSQL database that holds tables without its marker (tests/support/database.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fhirtrial.store.migrate import migrate
from fhirtrial.store.sql import SQLRepository

from .support.database import MARKER, TEST_DATABASE_ENV, UnsafeTestDatabase, claim

ROOT = Path(__file__).resolve().parents[1]
# A test that empties its database, starts a server on it and writes through it.
SAMPLE_TEST = "tests/rest/test_server_process.py::test_errors_over_http_are_outcomes"


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SAMPLE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TEST_DATABASE_ENV}
    return {**env, **extra}


def _stored(url: str) -> list[tuple[str, str, int]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT resource_type, id, version_id FROM resource ORDER BY resource_type, id")]
    finally:
        engine.dispose()


def _user_database(url: str) -> list[tuple[str, str, int]]:
    """A user's database: migrated, with a study in it."""
    migrate(url)
    with SQLRepository(url) as repo, repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "mine", {"resourceType": "ResearchStudy", "id": "mine", "status": "active"})
    stored = _stored(url)
    assert stored == [("ResearchStudy", "mine", 1)]
    return stored


@pytest.fixture
def side_database() -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of FHIRTRIAL_TEST_DATABASE_URL, dropped afterwards."""
    url = os.environ.get(TEST_DATABASE_ENV)
    if not url:
        pytest.skip(f"needs PostgreSQL ({TEST_DATABASE_ENV}, e.g. `. .ci/pg.sh; pg_start`)")
    name = f"fhirtrial_guard_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.ProgrammingError as exc:
        admin.dispose()
        pytest.skip(f"cannot create a second database on the test server: {exc.orig}")
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_the_servers_variable_is_gone_inside_the_suite() -> None:
    assert "FHIRTRIAL_DATABASE_URL" not in os.environ
    assert Path(os.environ["FHIRTRIAL_DATA_DIR"]).is_dir()  # the default database is a throwaway one


def test_an_exported_server_database_is_left_alone_sqlite(tmp_path: Path) -> None:
    """FHIRTRIAL_DATABASE_URL in the user's shell: the suite runs (on its own databases) and leaves it as it was."""
    user = f"sqlite:///{tmp_path / 'user.db'}"
    before = _user_database(user)
    data = (tmp_path / "user.db").read_bytes()
    run = _pytest(_child_env(FHIRTRIAL_DATABASE_URL=user))
    assert run.returncode == 0, run.stdout + run.stderr
    assert _stored(user) == before
    assert (tmp_path / "user.db").read_bytes() == data


def test_an_exported_server_database_is_left_alone_postgresql(side_database: str) -> None:
    before = _user_database(side_database)
    run = _pytest(_child_env(FHIRTRIAL_DATABASE_URL=side_database))
    assert run.returncode == 0, run.stdout + run.stderr
    assert _stored(side_database) == before


def test_a_database_with_data_is_refused_in_one_line(side_database: str) -> None:
    before = _user_database(side_database)
    with pytest.raises(UnsafeTestDatabase, match="refusing"):
        claim(side_database)
    run = _pytest(_child_env(**{TEST_DATABASE_ENV: side_database}))
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "refusing to run the tests" in lines[0] and TEST_DATABASE_ENV in lines[0], lines
    assert "passed" not in run.stdout
    assert _stored(side_database) == before
    engine = sa.create_engine(side_database)
    try:
        assert MARKER not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_any_foreign_table_is_refused(side_database: str) -> None:
    engine = sa.create_engine(side_database)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE invoices (id int)")
        with pytest.raises(UnsafeTestDatabase, match=r"1 table\(s\) the tests did not create"):
            claim(side_database)
        assert sa.inspect(engine).get_table_names() == ["invoices"]
    finally:
        engine.dispose()


def test_an_empty_database_is_claimed_and_stays_usable(side_database: str) -> None:
    claim(side_database)  # empty: the marker is written
    migrate(side_database)
    with SQLRepository(side_database) as repo, repo.unit_of_work() as uow:
        uow.update("Patient", "p", {"resourceType": "Patient", "id": "p"})
    claim(side_database)  # the suite's own data: accepted
    run = _pytest(_child_env(**{TEST_DATABASE_ENV: side_database}))
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("Patient", "p", 1) not in _stored(side_database)  # the child suite emptied it, as it may


def test_only_postgresql_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(UnsafeTestDatabase, match="must name a PostgreSQL database"):
        claim(f"sqlite:///{tmp_path / 'x.db'}")
    assert not (tmp_path / "x.db").exists()
