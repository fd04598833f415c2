"""Engine creation for the store: SQLite in WAL mode with immediate write transactions, or a PostgreSQL pool.

https://hl7.org/fhir/R4/http.html#concurrency -- write transactions take the write lock before reading versions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

# Execution option marking a connection whose transactions write (SQLite: BEGIN IMMEDIATE).
WRITE = "fhirtrial_write"
BUSY_TIMEOUT_S = 30.0


def normalize_url(url: str) -> sa.URL:
    """Accept ``postgres://``/``postgresql://`` and pick the psycopg 3 driver; reject in-memory SQLite."""
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:"):
        raise ValueError("fhirtrial needs a SQLite file (WAL, several connections); in-memory databases "
                         "are not supported")
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")
    return u


def sqlite_pragmas(dbapi_conn: Any, busy_timeout_s: float) -> None:
    """Per-connection SQLite settings (https://www.sqlite.org/pragma.html)."""
    dbapi_conn.isolation_level = None  # the driver never begins on its own; we emit BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    cur.close()
    # Great-circle distance for Location near, the same function the in-memory matcher uses.
    from ..search.geo import haversine_km

    dbapi_conn.create_function("haversine_km", 4, haversine_km, deterministic=True)


# PostgreSQL: psycopg prepares statements run often; a generic plan (parameter values unknown) is badly wrong for
# skewed search data ("recruiting" vs a rare condition), so every execution is planned with its values.
def create_engine(url: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S, pool_size: int = 10) -> sa.Engine:
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        # The default database lives in the data directory, which may not exist yet on a first run.
        Path(u.database).expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
                                  pool_size=pool_size, max_overflow=2 * pool_size)
        _install_sqlite_begin(engine, busy_timeout_s)
        return engine
    return sa.create_engine(u, pool_size=pool_size, max_overflow=2 * pool_size, pool_recycle=1800,
                            pool_pre_ping=True, connect_args={"options": "-c timezone=UTC -c plan_cache_mode=force_custom_plan"})


def _install_sqlite_begin(engine: sa.Engine, busy_timeout_s: float) -> None:
    """pysqlite's own transaction handling is off; BEGIN IMMEDIATE takes the write lock up front, so a
    version read inside a write transaction can never be stale (https://www.sqlite.org/lang_transaction.html)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite_pragmas(dbapi_conn, busy_timeout_s)

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def shown_url(url: str) -> str:
    """The database as a user should see it: password hidden, a SQLite file as its absolute path."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        u = u.set(database=str(Path(u.database).expanduser().absolute()))
    return u.render_as_string(hide_password=True)


def is_postgres(engine: sa.Engine | sa.Connection) -> bool:
    return engine.dialect.name == "postgresql"


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics (https://www.sqlite.org/lang_analyze.html). SQLite reads every index
    whole (its analysis_limit samples only the first rows of each index, which for skewed search data gives
    statistics worse than none); PostgreSQL ANALYZE samples by itself."""
    # In a write transaction that commits: an AUTOCOMMIT connection would still get our BEGIN (see
    # _install_sqlite_begin) and lose the statistics at its rollback.
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        conn.exec_driver_sql("ANALYZE")
