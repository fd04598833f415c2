"""Alembic environment: runs on the connection ``migrate()`` passes, or on ``sqlalchemy.url`` / the settings.

https://alembic.sqlalchemy.org/en/latest/api/runtime.html
"""
from __future__ import annotations

from alembic import context

from fhirtrial.store.schema import metadata


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")  # type: ignore[attr-defined]
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        raise SystemExit("fhirtrial migrations run online only (they check the dialect)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from fhirtrial.config import get_settings
    from fhirtrial.store.engine import WRITE, create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or get_settings().database_url)
    try:
        with engine.connect().execution_options(**{WRITE: True}) as conn:
            _run(conn)
    finally:
        engine.dispose()


run()
