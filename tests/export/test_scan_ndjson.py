"""Keyset scans of the store and the NDJSON writer (system and type level), https://hl7.org/fhir/uv/bulkdata/export.html."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from fhirtrial.export.ndjson import export_ndjson
from fhirtrial.export.study import everything
from fhirtrial.store import scan

from .helpers import current, expected_closure, load_studies


def test_scan_batches_cover_every_resource_once(repo: Any) -> None:
    load_studies(repo, 4)
    with repo.unit_of_work() as uow:
        uow.delete("Location", next(rid for rt, rid in current(repo) if rt == "Location"))
    stored = current(repo)
    with scan.snapshot(repo) as conn:
        for rtype in {rt for rt, _ in stored}:
            batches = list(scan.scan(conn, rtype, batch=3))
            ids = [r.id for b in batches for r in b]
            assert sorted(ids) == sorted(rid for rt, rid in stored if rt == rtype)
            assert len(ids) == len(set(ids)) and all(len(b) <= 3 for b in batches)
            assert scan.count(conn, rtype) == len(ids)
            assert all(orjson.loads(r.body)["resourceType"] == rtype for b in batches for r in b)


def test_scan_since_and_fetch(repo: Any) -> None:
    load_studies(repo, 2)
    later = datetime.now(timezone.utc)
    time.sleep(0.005)  # lastUpdated has millisecond precision
    with repo.unit_of_work() as uow:
        uow.update("Organization", "late", {"resourceType": "Organization", "name": "Late"})
        uow.update("Organization", "dropped", {"resourceType": "Organization", "name": "Dropped"})
        uow.delete("Organization", "dropped")
    with scan.snapshot(repo) as conn:
        rows = [r for b in scan.scan(conn, "Organization", since=later) for r in b]
        assert [r.id for r in rows] == ["late"]
        assert scan.count(conn, "Organization", since=later + timedelta(days=1)) == 0
        found = scan.fetch(conn, [("Organization", "late"), ("Organization", "dropped"), ("Location", "none")])
    assert set(found) == {("Organization", "late")}


def _read(directory: Path) -> dict[str, list[dict]]:
    out = {}
    for path in sorted(directory.glob("*.ndjson")):
        lines = path.read_bytes().splitlines()
        out[path.stem] = [orjson.loads(line) for line in lines]
    return out


def test_system_export_writes_every_current_resource(repo: Any, tmp_path: Path) -> None:
    load_studies(repo, 5)
    stored = current(repo)
    result = export_ndjson(repo, tmp_path, batch=7)
    files = _read(tmp_path)
    assert result.counts == Counter(rt for rt, _ in stored)
    assert {(r["resourceType"], r["id"]) for rs in files.values() for r in rs} == set(stored)
    for rtype, resources in files.items():
        assert all(r["resourceType"] == rtype for r in resources)
    assert not list(tmp_path.glob("*.part"))


def test_type_level_export_is_the_union_of_every_studys_closure(repo: Any, tmp_path: Path) -> None:
    ids = load_studies(repo, 5)
    stored = current(repo)
    # a resource no study references is not part of a ResearchStudy-level export
    with repo.unit_of_work() as uow:
        uow.update("Organization", "orphan", {"resourceType": "Organization", "name": "Nobody's"})
    expected = set().union(*(expected_closure(stored, ("ResearchStudy", i)) for i in ids))
    export_ndjson(repo, tmp_path, scope="ResearchStudy", batch=2)
    got = [(r["resourceType"], r["id"]) for rs in _read(tmp_path).values() for r in rs]
    assert len(got) == len(set(got)) and set(got) == expected
    for i in ids[:2]:
        assert {(r.resource_type, r.id) for r in everything(repo, i).rows} == expected_closure(stored, ("ResearchStudy", i))
    # _type selects among them
    sub = tmp_path / "sub"
    export_ndjson(repo, sub, scope="ResearchStudy", types=["Location"], batch=2)
    assert set(_read(sub)) == {"Location"}
    assert {("Location", r["id"]) for r in _read(sub)["Location"]} == {k for k in expected if k[0] == "Location"}


def test_a_failed_export_leaves_no_partial_files(repo: Any, tmp_path: Path) -> None:
    load_studies(repo, 2)

    def tick(done: int, total: int | None) -> None:
        if done:
            raise RuntimeError("disk full")

    out = tmp_path / "out"
    try:
        export_ndjson(repo, out, tick=tick, batch=2)
    except RuntimeError:
        pass
    assert list(out.iterdir()) == []
