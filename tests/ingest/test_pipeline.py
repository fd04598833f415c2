"""The import pipeline end to end on the database under test (SQLite, or PostgreSQL from FHIRTRIAL_TEST_DATABASE_URL):
every input shape, idempotence, updates, shared resources, bad input, and equality with REST writes."""
from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhirtrial.ingest.items import SourceError
from fhirtrial.loading import store_study

from ..support.shared_data import ctgov_files
from .importing import (changed, clear, count, do_import, dump, example_records, nct, open_repo, synth,
                        write_ndjson)


@pytest.fixture(scope="module")
def examples() -> list[dict[str, Any]]:
    return example_records()


def _stored_studies(url: str) -> int:
    return count(url, "resource", "WHERE resource_type = 'ResearchStudy'")


def test_every_input_shape(database_url: str, tmp_path: Path, examples: list[dict[str, Any]]) -> None:
    records = synth(12, seed=3)
    single = tmp_path / "one.json"
    single.write_bytes(orjson.dumps(examples[0], option=orjson.OPT_INDENT_2))
    listing = tmp_path / "list.json"
    listing.write_bytes(orjson.dumps({"studies": examples[1:4], "nextPageToken": "x"}))
    nd = write_ndjson(tmp_path / "s.ndjson", records[:4])
    folder = tmp_path / "dir" / "nested"
    folder.mkdir(parents=True)
    for r in records[4:7]:
        (folder / f"{nct(r)}.json").write_bytes(orjson.dumps(r))
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in records[7:12]:
            zf.writestr(f"ctg-studies/{nct(r)}.json", orjson.dumps(r))
    summary, results = do_import(database_url, [single, listing, nd, tmp_path / "dir", archive], batch=4)
    assert summary.studies["created"] == 1 + 3 + 4 + 3 + 5
    assert summary.failed == 0 and summary.total == 16
    assert _stored_studies(database_url) == 16
    # every study is complete: versions and index rows beside each resource
    assert count(database_url, "resource_version") == count(database_url, "resource")
    assert count(database_url, "idx_token") > 16


def test_reimport_creates_no_versions(database_url: str, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "s.ndjson", synth(30))
    first, _ = do_import(database_url, [path], batch=7)
    before = dump(database_url)
    second, _ = do_import(database_url, [path], batch=11)
    assert second.studies == {"created": 0, "updated": 0, "unchanged": 30, "failed": 0, "superseded": 0}
    assert second.resources["created"] == second.resources["updated"] == 0
    assert dump(database_url) == before
    assert first.resources["created"] == count(database_url, "resource")


def test_changed_study_updates_only_what_changed(database_url: str, tmp_path: Path) -> None:
    records = synth(5)
    do_import(database_url, [write_ndjson(tmp_path / "a.ndjson", records)])
    records[2] = changed(records[2], "A brand new title")
    summary, results = do_import(database_url, [write_ndjson(tmp_path / "b.ndjson", records)])
    assert summary.studies["updated"] == 1 and summary.studies["unchanged"] == 4
    updated = [(r.resource_type, r.id, r.version_id) for res in results for r in res.resources
               if r.outcome == "updated"]
    from fhirtrial.mapping import map_study

    before = {(r["resourceType"], r["id"]): r for r in map_study(synth(5)[2]).resources}
    expected = sorted((r["resourceType"], r["id"], 2) for r in map_study(records[2]).resources
                      if before[(r["resourceType"], r["id"])] != r)
    assert sorted(updated) == expected and ("ResearchStudy", nct(records[2]), 2) in expected
    assert len(expected) < len(before)  # its Organizations, Locations, ... stay at version 1
    assert count(database_url, "resource_version", "WHERE version_id = 2") == len(expected)
    with open_repo(database_url) as repo:
        assert repo.read("ResearchStudy", nct(records[2])).resource()["title"] == "A brand new title"


def test_shared_organizations_and_locations_written_once(database_url: str, tmp_path: Path) -> None:
    records = synth(40, seed=11)
    summary, results = do_import(database_url, [write_ndjson(tmp_path / "s.ndjson", records)], batch=15)
    written = [(r.resource_type, r.id) for res in results for r in res.resources if r.outcome == "created"]
    assert len(written) == len(set(written))  # nothing created twice
    shared = [(r.resource_type, r.id) for res in results for r in res.resources
              if r.outcome == "unchanged" and r.resource_type in ("Organization", "Location")]
    assert shared, "synthetic studies share sponsors and sites"
    assert count(database_url, "resource_version", "WHERE version_id > 1") == 0
    assert count(database_url, "resource") == len(written) == summary.resources["created"]


def test_jobs_give_the_same_store(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fhirtrial.ingest import pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 0)  # workers even for 40 studies
    path = write_ndjson(tmp_path / "s.ndjson", synth(40, seed=5))
    do_import(database_url, [path], jobs=1)
    serial = dump(database_url)
    clear(database_url)
    summary, _ = do_import(database_url, [path], jobs=2, batch=9)
    assert summary.studies["created"] == 40
    assert dump(database_url) == serial


def _assert_same_as_rest_writes(url: str, records: list[dict[str, Any]]) -> None:
    """The store the imports left equals the one REST writes of the same records, in order, give."""
    bulk = dump(url)
    clear(url)
    with open_repo(url) as repo:
        for record in records:
            store_study(repo, record, "http://example.org/fhir")
    assert dump(url) == bulk


def test_bulk_writes_equal_rest_writes(database_url: str, tmp_path: Path, examples: list[dict[str, Any]]) -> None:
    """Same bodies, versions, methods, index rows and full text as fhirtrial.loading.store_study (REST core)."""
    records = examples + synth(6, seed=2)
    v2 = [changed(records[0], "Second version"), changed(records[-1], "Second version too")]
    do_import(database_url, [write_ndjson(tmp_path / "a.ndjson", records)], batch=5)
    do_import(database_url, [write_ndjson(tmp_path / "b.ndjson", v2)])
    _assert_same_as_rest_writes(database_url, records + v2)


def _eligibility_changed(record: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    module = out["protocolSection"].setdefault("eligibilityModule", {})
    module["minimumAge"] = "7 Years"
    module["maximumAge"] = "77 Years"
    module["sex"] = "FEMALE" if module.get("sex") != "FEMALE" else "MALE"
    module["healthyVolunteers"] = not module.get("healthyVolunteers", False)
    return out


def test_changed_group_reindexes_its_study_like_rest(database_url: str, tmp_path: Path) -> None:
    """A new version of only the eligibility Group rewrites the (unchanged) study's resolved index rows,
    as the unit of work's dependents reindex does; batch and per-study savepoint paths alike."""
    records = synth(6, seed=4)
    v2 = [_eligibility_changed(r) for r in records[:4]]
    from fhirtrial.mapping import map_study

    before = {(r["resourceType"], r["id"]): r for r in map_study(records[0]).resources}
    after = {(r["resourceType"], r["id"]): r for r in map_study(v2[0]).resources}
    changed_keys = {k for k in after if before.get(k) != after[k]}
    assert ("Group", f"{nct(records[0])}-eligibility") in changed_keys
    do_import(database_url, [write_ndjson(tmp_path / "a.ndjson", records)], batch=4)
    summary, _ = do_import(database_url, [write_ndjson(tmp_path / "b.ndjson", v2)], batch=3)
    assert summary.studies["updated"] == 4
    _assert_same_as_rest_writes(database_url, records + v2)


def test_list_with_one_broken_study_lands_the_good_ones(database_url: str, tmp_path: Path) -> None:
    records = synth(4)
    broken = {"protocolSection": {"identificationModule": {"nctId": "NCT12345678"}}, "hasResults": "maybe"}
    path = tmp_path / "list.json"
    path.write_bytes(orjson.dumps({"studies": [records[0], broken, "not a study", records[1], records[2]]}))
    summary, results = do_import(database_url, [path])
    assert summary.studies["created"] == 3
    assert summary.failed == 2
    failed = {r.study.origin: r for r in results if r.error}
    assert any("not a study" in r.error for r in failed.values())
    assert _stored_studies(database_url) == 3


def test_study_failing_validation_is_a_failed_study(database_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import fhirtrial.mapping as mapping

    records = synth(3)
    bad_id = nct(records[1])
    real = mapping.map_study

    def map_badly(record: dict[str, Any]) -> Any:
        mapped = real(record)
        if nct(record) == bad_id:
            mapped.resources[0]["status"] = 42  # ResearchStudy.status must be a code
            mapped.resources[0]["unknownElement"] = True
        return mapped

    monkeypatch.setattr(mapping, "map_study", map_badly)
    summary, results = do_import(database_url, [write_ndjson(tmp_path / "s.ndjson", records)])
    assert summary.studies["created"] == 2 and summary.failed == 1
    (bad,) = [r for r in results if r.error]
    assert bad.study.nct_id == bad_id and bad.study.stage == "validate"
    assert f"ResearchStudy/{bad_id}" in bad.error
    assert count(database_url, "resource", f"WHERE id = '{bad_id}'") == 0  # nothing of it stored


def test_duplicates_last_wins_and_reported(database_url: str, tmp_path: Path) -> None:
    records = synth(3)
    later = changed(records[0], "The later copy")
    summary, results = do_import(database_url, [write_ndjson(tmp_path / "s.ndjson", [records[0], *records[1:], later])])
    assert summary.studies["created"] == 3 and summary.studies["superseded"] == 1 and summary.failed == 0
    (dup,) = [r for r in results if r.error]
    assert dup.study.stage == "duplicate" and dup.study.superseded_by.endswith(":4")
    assert dup.study.report()["nctId"] == nct(records[0])
    with open_repo(database_url) as repo:
        assert repo.read("ResearchStudy", nct(records[0])).resource()["title"] == "The later copy"
        assert repo.read("ResearchStudy", nct(records[0])).version_id == 1


def test_truncated_stream_keeps_what_came_before(database_url: str, tmp_path: Path) -> None:
    records = synth(4)
    text = b"".join(orjson.dumps(r) + b"\n" for r in records)
    cut = len(text) - len(orjson.dumps(records[-1])) // 2
    path = tmp_path / "cut.ndjson"
    path.write_bytes(text[:cut])
    summary, results = do_import(database_url, [path])
    assert summary.studies["created"] == 3 and summary.failed == 1
    (bad,) = [r for r in results if r.error]
    assert "invalid JSON" in bad.error and bad.study.nct_id == nct(records[-1])


def test_corrupt_zip_beside_good_input(database_url: str, tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", synth(2))
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)
    summary, results = do_import(database_url, [good, bad])
    assert summary.studies["created"] == 2 and summary.failed >= 1
    assert any("zip" in (r.error or "") for r in results)


@pytest.mark.parametrize("kind", ["empty", "missing", "corrupt-zip-only"])
def test_nothing_readable_is_a_source_error(database_url: str, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "input.ndjson"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt-zip-only":
        path = tmp_path / "x.zip"
        path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SourceError) as info:
        do_import(database_url, [path])
    assert info.value.exit_code == 2
    assert count(database_url, "resource") == 0


def test_example_directory(database_url: str) -> None:
    files = ctgov_files()
    summary, _ = do_import(database_url, [files[0].parent], batch=4)
    assert summary.studies["created"] == len(files)
    assert summary.failed == 0


def test_shared_resource_changed_by_another_writer_between_batches(database_url: str, tmp_path: Path,
                                                                   examples: list[dict[str, Any]]) -> None:
    """The writer remembers content keys across batches (BulkWriter._remember) only for the stored version: a
    sponsor changed by someone else in between is compared with what is stored now."""
    from fhirtrial.ingest.pipeline import run_import
    from fhirtrial.store.bulk import BulkWriter

    base = examples[0]
    records = []
    for n in (1, 2, 3):
        record = copy.deepcopy(base)
        record["protocolSection"]["identificationModule"]["nctId"] = f"NCT9900000{n}"
        records.append(record)
    path = write_ndjson(tmp_path / "s.ndjson", records)
    outcomes: list[dict[tuple[str, str], tuple[str, int]]] = []
    sponsor: list[str] = []

    def on_batch(_summary: Any, results: list[Any]) -> None:
        outcomes.append({(r.resource_type, r.id): (r.outcome, r.version_id) for res in results for r in res.resources})
        if len(outcomes) == 1:  # another writer renames the sponsor
            sponsor.append(next(i for (t, i) in outcomes[0] if t == "Organization"))
            with open_repo(database_url) as other, other.unit_of_work() as uow:
                body = orjson.loads(other.read("Organization", sponsor[0]).body)
                uow.update("Organization", sponsor[0], {**body, "name": "Renamed elsewhere"})

    with open_repo(database_url) as repo:
        run_import([path], BulkWriter(repo), batch=1, on_batch=on_batch)
    key = ("Organization", sponsor[0])
    assert outcomes[0][key] == ("created", 1)
    assert outcomes[1][key] == ("updated", 3)  # version 2 was the rename: the import puts its content back
    assert outcomes[2][key] == ("unchanged", 3)
