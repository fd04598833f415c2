"""The database a command works on: the ``--database-url`` given or the server's setting, shown with its password
hidden, and opened (migrated) with one clear line when it cannot be (https://docs.sqlalchemy.org/en/20/core/engines.html)."""
from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.exc import ArgumentError

from ..config import get_settings
from ..errors import FhirError
from ..store.engine import shown_url
from ..store.sql import SQLRepository, open_repository


def database_url(given: str | None) -> str:
    """``--database-url`` when given, else FHIRTRIAL_DATABASE_URL, else the data directory's SQLite file."""
    return given or get_settings().database_url


def shown(url: str) -> str:
    """The URL as printed: password hidden, a SQLite file as its absolute path; a bad URL as the error says it."""
    try:
        return shown_url(url)
    except Exception:  # noqa: BLE001 -- a URL SQLAlchemy cannot parse; open_or_exit reports why
        return "<unparseable database URL>"


def open_or_exit(url: str, indexer: Any = None, **options: Any) -> SQLRepository:
    """The repository at ``url``, migrated; exit code 1 with one line when it cannot be opened."""
    try:
        return open_repository(url, indexer, **options)
    except FhirError as exc:
        reason = exc.diagnostics
    except (ValueError, ArgumentError) as exc:  # a URL that is not one, an unsupported dialect, in-memory SQLite
        reason = str(exc)
    typer.echo(f"error: cannot open the database {shown(url)}: {reason}", err=True)
    raise typer.Exit(1)
