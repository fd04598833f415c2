"""Search index rows are written, replaced and removed in the resource's own transaction
(https://hl7.org/fhir/R4/search.html#ptypes), and find_ids answers _id and token criteria."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from fhirtrial.errors import InvalidRequest
from fhirtrial.store.schema import FTS_TABLE, INDEX_TABLES, idx_reference, idx_string, idx_token
from fhirtrial.store.sql import SQLRepository

from .conftest import patient

FULL = patient("Smith", identifier=[{"system": "urn:s", "value": "1"}, {"value": "2"}], gender="female",
               birthDate="1970-05-06", managingOrganization={"reference": "Organization/o1"},
               multipleBirthInteger=2, meta={"tag": [{"system": "urn:t", "code": "x"}]})


def rows(repo: SQLRepository, rid: str) -> dict[str, int]:
    out = {}
    with repo.engine.connect() as conn:
        for name, (table, _bit) in INDEX_TABLES.items():
            out[name] = conn.execute(sa.select(sa.func.count()).select_from(table)
                                     .where(table.c.resource_id == rid)).scalar_one()
        out["fts"] = conn.execute(sa.text(f"SELECT count(*) FROM {FTS_TABLE}")).scalar_one()
    return out


def fts_match(repo: SQLRepository, word: str) -> int:
    sql = (f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q" if repo.dialect == "sqlite" else
           f"SELECT count(*) FROM {FTS_TABLE} WHERE text @@ plainto_tsquery('english', :q)")
    with repo.engine.connect() as conn:
        return conn.execute(sa.text(sql), {"q": word}).scalar_one()


def test_every_index_table_is_written(indexed_repo: SQLRepository) -> None:
    with indexed_repo.unit_of_work() as uow:
        rid = uow.create("Patient", FULL).stored.id
    assert rows(indexed_repo, rid) == {"tokens": 4, "strings": 1, "dates": 1, "numbers": 1, "quantities": 1,
                                       "references": 1, "uris": 1, "positions": 0, "sites": 0, "fts": 1}
    with indexed_repo.engine.connect() as conn:
        ref = conn.execute(sa.select(idx_reference.c.target_type, idx_reference.c.target_id)).one()
        assert tuple(ref) == ("Organization", "o1")
        assert conn.execute(sa.select(idx_string.c.normalized)).scalar_one() == "smith"
    assert fts_match(indexed_repo, "smith") == 1


def test_update_replaces_and_delete_removes(indexed_repo: SQLRepository) -> None:
    with indexed_repo.unit_of_work() as uow:
        rid = uow.create("Patient", FULL).stored.id
    with indexed_repo.unit_of_work() as uow:
        uow.update("Patient", rid, patient("Jones", identifier=[{"system": "urn:s", "value": "9"}]))
    assert rows(indexed_repo, rid) == {"tokens": 1, "strings": 1, "dates": 0, "numbers": 0, "quantities": 0,
                                       "references": 0, "uris": 0, "positions": 0, "sites": 0, "fts": 1}
    assert fts_match(indexed_repo, "smith") == 0 and fts_match(indexed_repo, "jones") == 1
    with indexed_repo.engine.connect() as conn:
        assert conn.execute(sa.select(idx_token.c.code)).scalar_one() == "9"
    with indexed_repo.unit_of_work() as uow:
        uow.delete("Patient", rid)
    assert set(rows(indexed_repo, rid).values()) == {0}
    with indexed_repo.unit_of_work() as uow:  # resurrection indexes again
        uow.update("Patient", rid, FULL | {"id": rid})
    assert rows(indexed_repo, rid)["tokens"] == 4


def test_porter_stemming(indexed_repo: SQLRepository) -> None:
    with indexed_repo.unit_of_work() as uow:
        uow.create("Patient", patient("running"))
    assert fts_match(indexed_repo, "runs") == 1


def test_rollback_leaves_no_rows(indexed_repo: SQLRepository) -> None:
    with pytest.raises(RuntimeError), indexed_repo.unit_of_work() as uow:
        uow.update("Patient", "p1", FULL)
        raise RuntimeError("boom")
    assert set(rows(indexed_repo, "p1").values()) == {0}


def test_find_ids_by_id_and_tokens(indexed_repo: SQLRepository) -> None:
    with indexed_repo.unit_of_work() as uow:
        uow.update("Patient", "a", FULL)
        uow.update("Patient", "b", patient(identifier=[{"system": "urn:s", "value": "2"}], gender="male"))
        uow.update("Patient", "c", patient(identifier=[{"system": "urn:other", "value": "1,x"}]))
        uow.update("Patient", "d", FULL)
        uow.delete("Patient", "d")
        uow.update("Group", "a", {"resourceType": "Group", "type": "person", "actual": True})
    with indexed_repo.unit_of_work() as uow:
        find = uow.find_ids
        assert find("Patient", {"_id": ["a"]}) == ["a"]
        assert find("Patient", {"_id": ["a,b,zz"]}) == ["a", "b"]
        assert find("Patient", {"_id": ["d"]}) == []  # deleted
        assert find("Patient", {"identifier": ["urn:s|1"]}) == ["a"]
        assert find("Patient", {"identifier": ["1"]}) == ["a"]
        assert find("Patient", {"identifier": ["2"]}) == ["a", "b"]
        assert find("Patient", {"identifier": ["|2"]}) == ["a"]
        assert find("Patient", {"identifier": ["urn:s|"]}) == ["a", "b"]
        assert find("Patient", {"identifier": ["urn:other|1\\,x"]}) == ["c"]
        assert find("Patient", {"identifier": ["urn:s|1,urn:s|2"]}) == ["a", "b"]
        assert find("Patient", {"identifier": ["urn:s|"], "gender": ["male"]}) == ["b"]
        assert find("Patient", {"identifier": ["urn:s|1"], "_tag": ["urn:t|x"]}) == ["a"]
        assert find("Patient", {"identifier": ["2", "urn:s|1"]}) == ["a"]  # repeated = AND
        assert find("Patient", {"identifier": ["nothing"]}) == []
        assert find("Patient", {"_id": ["a"], "_format": ["json"]}) == ["a"]
        assert find("Group", {"_id": ["a"]}) == ["a"]


@pytest.mark.parametrize("criteria", [{"nonsense": ["x"]}, {"identifier:exact": ["x"]}, {"identifier": [""]},
                                      {"identifier": ["|"]}, {"birthdate": ["20x0"]}])
def test_find_ids_rejects_what_it_cannot_answer(indexed_repo: SQLRepository, criteria: dict) -> None:
    with pytest.raises(InvalidRequest) as info, indexed_repo.unit_of_work() as uow:
        uow.find_ids("Patient", criteria)
    assert next(iter(criteria)).split(":")[0] in info.value.diagnostics


def test_find_ids_uses_the_search_engine(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Patient", "a", FULL)
        uow.update("Patient", "b", patient("Jones", birthDate="1990"))
        assert uow.find_ids("Patient", {"identifier": ["urn:s|1"]}) == ["a"]
        assert uow.find_ids("Patient", {"gender": ["female"]}) == ["a"]
        assert uow.find_ids("Patient", {"birthdate": ["lt1980"], "name": ["smi"]}) == ["a"]
        assert uow.find_ids("Patient", {"gender:missing": ["true"]}) == ["b"]
    assert repo.find_ids("Patient", {"family": ["jones"]}) == ["b"]
