"""Alembic migrations of the store schema (one history for SQLite and PostgreSQL), https://alembic.sqlalchemy.org/."""
