"""The PostgreSQL database the suite may empty: named by FHIRTRIAL_TEST_DATABASE_URL only, and claimed with a marker
table the first time the suite migrates it while it is still empty (https://www.postgresql.org/docs/current/sql-truncate.html).

The server's own FHIRTRIAL_DATABASE_URL is never read by the tests: a user who exports it in their shell must not
lose their data by running the suite. A database that holds tables without the marker was not created by the
tests, so it is refused before anything is written to it.
"""
from __future__ import annotations

import sqlalchemy as sa

TEST_DATABASE_ENV = "FHIRTRIAL_TEST_DATABASE_URL"
MARKER = "fhirtrial_test_marker"


class UnsafeTestDatabase(Exception):
    """The database named for the tests may hold someone's data: the suite will not touch it."""


def shown(url: str) -> str:
    """The URL with its password hidden."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def claim(url: str) -> None:
    """Return when the suite may empty the database at ``url``: it carries the marker, or it has no table at all
    (then the marker is written now). Raise UnsafeTestDatabase otherwise, having changed nothing."""
    from fhirtrial.store.engine import create_engine

    try:
        engine = create_engine(url, pool_size=1)
    except (ValueError, sa.exc.ArgumentError) as exc:
        raise UnsafeTestDatabase(f"{TEST_DATABASE_ENV}={shown(url)} is not usable: {exc}") from None
    if engine.dialect.name != "postgresql":
        engine.dispose()
        raise UnsafeTestDatabase(f"{TEST_DATABASE_ENV} must name a PostgreSQL database (SQLite tests use "
                                 f"temporary files), not {shown(url)}")
    try:
        with engine.begin() as conn:
            # One claimer at a time: two suites started together on an empty database must not both see it empty.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('fhirtrial test marker'))")
            tables = set(sa.inspect(conn).get_table_names())
            if MARKER in tables:
                return
            if tables:
                raise UnsafeTestDatabase(
                    f"refusing to run the tests on {shown(url)}: it holds {len(tables)} table(s) the tests did not "
                    f"create (no {MARKER} table); set {TEST_DATABASE_ENV} to an empty database")
            conn.exec_driver_sql(f"CREATE TABLE {MARKER} (claimed_at timestamptz NOT NULL DEFAULT now())")
            conn.exec_driver_sql(f"INSERT INTO {MARKER} DEFAULT VALUES")
    except sa.exc.OperationalError as exc:
        raise UnsafeTestDatabase(f"cannot connect to {TEST_DATABASE_ENV}={shown(url)}: "
                                 f"{str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()
