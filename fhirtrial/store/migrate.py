"""Programmatic Alembic upgrade of the store schema, https://alembic.sqlalchemy.org/en/latest/api/commands.html.

New revision (no alembic.ini needed): ``python -c "from alembic import command;
from fhirtrial.store.migrate import alembic_config; command.revision(alembic_config(), 'what changes')"``;
keep one history for both databases (branch on ``op.get_bind().dialect.name`` inside the script).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from .engine import WRITE, create_engine, is_postgres
from .failures import translated

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key serialising concurrent migrations (e.g. several workers starting at once).
_LOCK_KEY = 0x0F41_7214


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` in one transaction, serialised against other migrators
    (PostgreSQL: advisory lock; SQLite: BEGIN IMMEDIATE)."""
    _run(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade to ``revision`` (``"base"`` drops everything); for development and tests."""
    _run(url, command.downgrade, revision)


def _run(url: str, action: Callable[[Config, str], None], revision: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        with translated(), engine.connect().execution_options(**{WRITE: True}) as conn:
            with conn.begin():
                if is_postgres(conn):
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                action(cfg, revision)
    finally:
        engine.dispose()
