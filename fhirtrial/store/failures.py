"""Translation of database exceptions into the FhirError family, https://hl7.org/fhir/R4/operationoutcome.html.

Nothing raw leaves the store: constraint violations are conflicts (409), lock timeouts, deadlocks and lost
connections are transient (503), values the database refuses are invalid requests (400).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy.exc as sa_exc

from ..errors import Conflict, FhirError, InvalidRequest, ServiceUnavailable

log = logging.getLogger(__name__)

RETRY = {"Retry-After": "1"}


def translate(exc: BaseException) -> FhirError:
    """The FhirError for a DB-API or SQLAlchemy exception."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    detail = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    if isinstance(orig, (sqlite3.IntegrityError, psycopg.errors.IntegrityError)):
        return Conflict(f"The write conflicts with a concurrent or existing one: {detail}")
    if isinstance(orig, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                         psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
        return ServiceUnavailable(f"The database aborted the transaction, retry: {detail}", headers=RETRY)
    if isinstance(orig, psycopg.errors.DataError):
        return InvalidRequest(f"The database cannot store a value of the request: {detail}")
    if isinstance(orig, sqlite3.OperationalError) and ("locked" in detail or "busy" in detail):
        return ServiceUnavailable(f"The database is busy, retry: {detail}", headers=RETRY)
    log.warning("database failure: %s", detail, exc_info=exc)
    return ServiceUnavailable(f"The database is unavailable: {detail}", headers=RETRY)


DB_ERRORS: tuple[type[BaseException], ...] = (sa_exc.DBAPIError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
                                              sqlite3.Error, psycopg.Error)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, re-raising database exceptions as FhirError."""
    try:
        yield
    except DB_ERRORS as exc:
        raise translate(exc) from exc
