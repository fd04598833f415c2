"""Create, read, vread, update, delete and their version rules (https://hl7.org/fhir/R4/http.html)."""
from __future__ import annotations

import re
import uuid

import orjson
import pytest
import sqlalchemy as sa

from fhirtrial.errors import Conflict, FhirError, Gone, InvalidRequest, NotFound, PreconditionFailed
from fhirtrial.store.repository import StoredResource
from fhirtrial.store.schema import resource
from fhirtrial.store.sql import SQLRepository

from .conftest import patient

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def create(repo: SQLRepository, body: dict | None = None, resource_id: str | None = None) -> StoredResource:
    with repo.unit_of_work() as uow:
        return uow.create("Patient", body or patient(), resource_id).stored


def update(repo: SQLRepository, rid: str, body: dict, **kw: object):  # type: ignore[no-untyped-def]
    with repo.unit_of_work() as uow:
        return uow.update("Patient", rid, body, **kw)  # type: ignore[arg-type]


def delete(repo: SQLRepository, rid: str, **kw: object):  # type: ignore[no-untyped-def]
    with repo.unit_of_work() as uow:
        return uow.delete("Patient", rid, **kw)  # type: ignore[arg-type]


def test_create_assigns_uuid_version_and_meta(repo: SQLRepository) -> None:
    stored = create(repo, patient(id="ignored", meta={"versionId": "9", "profile": ["http://x/p"]}))
    assert str(uuid.UUID(stored.id)) == stored.id and stored.version_id == 1 and stored.method == "POST"
    body = stored.resource()
    assert body["id"] == stored.id and body["resourceType"] == "Patient"
    assert body["meta"]["versionId"] == "1" and body["meta"]["profile"] == ["http://x/p"]
    assert INSTANT.match(body["meta"]["lastUpdated"])
    assert stored.last_updated.tzinfo is not None and stored.last_updated.microsecond % 1000 == 0
    assert body["meta"]["lastUpdated"] == stored.last_updated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_read_returns_stored_bytes(repo: SQLRepository) -> None:
    stored = create(repo)
    got = repo.read("Patient", stored.id)
    assert isinstance(got.body, bytes) and orjson.loads(got.body) == orjson.loads(stored.body or b"")
    assert (got.version_id, got.last_updated, got.deleted, got.etag) == (1, stored.last_updated, False, 'W/"1"')


def test_read_unknown_is_not_found(repo: SQLRepository) -> None:
    with pytest.raises(NotFound):
        repo.read("Patient", "nope")
    with pytest.raises(NotFound):
        repo.vread("Patient", "nope", 1)


def test_update_makes_versions_and_vread_sees_each(repo: SQLRepository) -> None:
    stored = create(repo)
    result = update(repo, stored.id, patient("Roe"))
    assert result.outcome == "updated" and result.stored.version_id == 2
    assert result.stored.last_updated >= stored.last_updated
    assert repo.read("Patient", stored.id).resource()["name"][0]["family"] == "Roe"
    assert repo.vread("Patient", stored.id, 1).resource()["name"][0]["family"] == "Doe"
    assert repo.vread("Patient", stored.id, 2).resource()["meta"]["versionId"] == "2"
    with pytest.raises(NotFound):
        repo.vread("Patient", stored.id, 3)


def test_update_with_same_content_is_unchanged(repo: SQLRepository) -> None:
    stored = create(repo, patient(meta={"tag": [{"code": "a"}]}))
    again = patient(meta={"tag": [{"code": "a"}], "versionId": "77", "lastUpdated": "2001-01-01T00:00:00Z"},
                    id=stored.id)
    result = update(repo, stored.id, again)
    assert result.outcome == "unchanged" and result.stored.version_id == 1
    assert result.stored.last_updated == stored.last_updated
    assert repo.read("Patient", stored.id).version_id == 1
    # A change of client meta is a change.
    assert update(repo, stored.id, patient(meta={"tag": [{"code": "b"}]})).stored.version_id == 2
    # true vs 1 is a change too.
    assert update(repo, stored.id, patient(active=True)).outcome == "updated"
    assert update(repo, stored.id, patient(active=1)).outcome == "updated"


def test_create_on_update_with_client_id(repo: SQLRepository) -> None:
    result = update(repo, "pat-1.a", patient())
    assert result.outcome == "created" and result.stored.version_id == 1 and result.stored.method == "PUT"
    assert repo.read("Patient", "pat-1.a").resource()["id"] == "pat-1.a"


@pytest.mark.parametrize("bad", ["", "a" * 65, "has space", "slash/y", "under_score", "ünï"])
def test_bad_client_ids_are_invalid(repo: SQLRepository, bad: str) -> None:
    with pytest.raises(InvalidRequest):
        update(repo, bad, patient())
    with pytest.raises(InvalidRequest):
        create(repo, patient(), resource_id=bad)


def test_body_must_match_type_and_id(repo: SQLRepository) -> None:
    with pytest.raises(InvalidRequest, match="resourceType"):
        update(repo, "x", {"resourceType": "Group"})
    with pytest.raises(InvalidRequest, match="does not match"):
        update(repo, "x", patient(id="y"))
    with pytest.raises(InvalidRequest):
        update(repo, "x", [])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        update(repo, "x", patient(meta="oops"))
    with pytest.raises(InvalidRequest):
        update(repo, "x", patient(bad={1, 2}))  # not JSON-serialisable
    with pytest.raises(NotFound):
        repo.read("Patient", "x")


def test_create_with_existing_client_id_conflicts(repo: SQLRepository) -> None:
    create(repo, resource_id="dup")
    with pytest.raises(Conflict):
        create(repo, resource_id="dup")


def test_delete_then_read_is_gone_and_vread_of_delete_is_gone(repo: SQLRepository) -> None:
    stored = create(repo)
    result = delete(repo, stored.id)
    assert result.outcome == "deleted" and result.stored.version_id == 2 and result.stored.deleted
    assert result.stored.body is None and result.stored.method == "DELETE"
    with pytest.raises(Gone) as info:
        repo.read("Patient", stored.id)
    assert info.value.status == 410
    with pytest.raises(Gone):
        repo.vread("Patient", stored.id, 2)
    assert repo.vread("Patient", stored.id, 1).version_id == 1


def test_delete_missing_or_deleted_is_gone_without_new_version(repo: SQLRepository) -> None:
    assert delete(repo, "never").outcome == "gone"
    stored = create(repo)
    delete(repo, stored.id)
    again = delete(repo, stored.id)
    assert again.outcome == "gone" and again.stored.version_id == 2
    assert repo.history("Patient", stored.id).total == 2


def test_update_after_delete_resurrects(repo: SQLRepository) -> None:
    stored = create(repo)
    delete(repo, stored.id)
    result = update(repo, stored.id, patient("Back"))
    assert result.outcome == "created" and result.stored.version_id == 3
    assert repo.read("Patient", stored.id).resource()["name"][0]["family"] == "Back"
    # create with a client id over a deleted resource resurrects it too
    delete(repo, stored.id)
    assert create(repo, patient("Again"), resource_id=stored.id).version_id == 5


def test_if_match(repo: SQLRepository) -> None:
    stored = create(repo)
    with pytest.raises(PreconditionFailed) as info:
        update(repo, stored.id, patient("X"), if_match=2)
    assert info.value.status == 412
    assert update(repo, stored.id, patient("X"), if_match=1).stored.version_id == 2
    with pytest.raises(PreconditionFailed):
        delete(repo, stored.id, if_match=1)
    with pytest.raises(PreconditionFailed):
        update(repo, "missing", patient(), if_match=1)
    assert delete(repo, stored.id, if_match=2).outcome == "deleted"


def test_current_inside_unit_of_work(repo: SQLRepository) -> None:
    stored = create(repo)
    with repo.unit_of_work() as uow:
        cur = uow.current("Patient", stored.id)
        assert cur is not None and cur.version_id == 1 and cur.body is not None
        assert uow.current("Patient", "nope") is None
        uow.delete("Patient", stored.id)
        marker = uow.current("Patient", stored.id)
        assert marker is not None and marker.deleted and marker.body is None


def test_stored_last_updated_equals_meta(repo: SQLRepository) -> None:
    stored = create(repo)
    with repo.engine.connect() as conn:
        row = conn.execute(sa.select(resource.c.last_updated).where(resource.c.id == stored.id)).one()
    assert row.last_updated == stored.last_updated


def test_errors_are_fhir_errors(repo: SQLRepository) -> None:
    for call in (lambda: repo.read("Patient", "nope"), lambda: create(repo, {"resourceType": "X"})):
        with pytest.raises(FhirError):
            call()
