"""Atomic units of work and database failures surfacing as FhirError (https://hl7.org/fhir/R4/http.html#transaction)."""
from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from fhirtrial.errors import Conflict, FhirError, InvalidRequest, NotFound, ServiceUnavailable
from fhirtrial.store.failures import translate
from fhirtrial.store.schema import resource_version
from fhirtrial.store.sql import SQLRepository

from .conftest import patient


def test_exception_rolls_back_every_write(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Patient", "keep", patient("before"))
    with pytest.raises(ValueError), repo.unit_of_work() as uow:
        uow.update("Patient", "new", patient())
        uow.update("Patient", "keep", patient("after"))
        uow.delete("Patient", "keep")
        raise ValueError("last entry invalid")
    with pytest.raises(NotFound):
        repo.read("Patient", "new")
    kept = repo.read("Patient", "keep")
    assert kept.version_id == 1 and kept.resource()["name"][0]["family"] == "before"
    assert repo.history(None, None).total == 1


def test_fhir_error_inside_rolls_back(repo: SQLRepository) -> None:
    with pytest.raises(InvalidRequest), repo.unit_of_work() as uow:
        uow.update("Patient", "a", patient())
        uow.update("Patient", "bad id!", patient())
    with pytest.raises(NotFound):
        repo.read("Patient", "a")


def test_unit_of_work_is_usable_after_precondition_failure(repo: SQLRepository) -> None:
    """A FhirError raised by a check (not the database) leaves the transaction usable: a batch can go on."""
    with repo.unit_of_work() as uow:
        uow.update("Patient", "a", patient())
        with pytest.raises(FhirError):
            uow.update("Patient", "a", patient("x"), if_match=5)
        uow.update("Patient", "b", patient())
    assert repo.read("Patient", "b").version_id == 1


def test_integrity_error_becomes_conflict(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Patient", "a", patient())
    with pytest.raises(Conflict), repo.unit_of_work() as uow:
        # A second version 1 violates the primary key; the raw error must not leak.
        uow._conn.execute(resource_version.insert().values(  # noqa: SLF001
            resource_type="Patient", resource_id="a", version_id=1, deleted=False, method="PUT",
            last_updated=repo.read("Patient", "a").last_updated, body=None))
    assert repo.read("Patient", "a").version_id == 1


@pytest.mark.parametrize("exc, expected", [
    (sqlite3.IntegrityError("UNIQUE constraint failed"), Conflict),
    (sqlite3.OperationalError("database is locked"), ServiceUnavailable),
    (psycopg.errors.UniqueViolation("duplicate key"), Conflict),
    (psycopg.errors.DeadlockDetected("deadlock"), ServiceUnavailable),
    (psycopg.errors.SerializationFailure("could not serialize"), ServiceUnavailable),
    (psycopg.OperationalError("connection refused"), ServiceUnavailable),
    (psycopg.errors.UntranslatableCharacter("\\u0000"), InvalidRequest),
    (sa_exc.TimeoutError("QueuePool limit"), ServiceUnavailable),
])
def test_translate(exc: BaseException, expected: type[FhirError]) -> None:
    wrapped = sa_exc.DBAPIError("stmt", {}, exc) if not isinstance(exc, sa_exc.SQLAlchemyError) else exc  # type: ignore[arg-type]
    for e in (exc, wrapped):
        err = translate(e)
        assert isinstance(err, expected)
        assert err.status in (409, 503, 400)
    assert ServiceUnavailable("x").status == 503 and ServiceUnavailable("x").code == "transient"


def test_sqlite_lock_timeout_is_service_unavailable(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite write lock")
    holder = SQLRepository(database_url)
    impatient = SQLRepository(database_url, busy_timeout_s=0.2)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.unit_of_work() as uow:
            uow.update("Patient", "a", patient())
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(ServiceUnavailable) as info, impatient.unit_of_work() as uow:
            uow.update("Patient", "b", patient())
        assert info.value.headers.get("Retry-After")
        with pytest.raises(NotFound):  # readers are not blocked by the writer (WAL) and see only commits
            impatient.read("Patient", "a")
    finally:
        release.set()
        t.join()
        holder.close()
        impatient.close()


def test_postgres_nul_character_is_invalid_request(repo: SQLRepository) -> None:
    if repo.dialect != "postgresql":
        pytest.skip("PostgreSQL refuses NUL in jsonb")
    with pytest.raises(InvalidRequest), repo.unit_of_work() as uow:
        uow.update("Patient", "a", patient("nul\x00byte"))


def test_postgres_read_survives_killed_connections(repo: SQLRepository) -> None:
    if repo.dialect != "postgresql":
        pytest.skip("PostgreSQL connections")
    with repo.unit_of_work() as uow:
        uow.update("Patient", "a", patient())
    repo.read("Patient", "a")
    with repo.engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    assert repo.read("Patient", "a").version_id == 1  # the dead idle reader is replaced
    with repo.unit_of_work() as uow:  # the write pool pings and reconnects
        uow.update("Patient", "a", patient("b"))
