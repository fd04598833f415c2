"""Keyset scans of the store and the NDJSON writer (system and type level), https://hl7.org/fhir/uv/bulkdata/export.html."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhirtrial.export.ndjson import export_ndjson
from fhirtrial.export.study import everything
from fhirtrial.store import scan

from .helpers import current, expected_closure, load_studies


def _four_studies_one_location_deleted(repo: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Four studies stored, one of their Locations deleted: the current (type, id) pairs."""
    load_studies(repo, 4)
    with repo.unit_of_work() as uow:
        uow.delete("Location", next(rid for rt, rid in current(repo) if rt == "Location"))
    return current(repo)


def test_scan_batches_cover_every_resource_once(repo: Any) -> None:
    stored = _four_studies_one_location_deleted(repo)
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


def test_lines_hold_every_resource_once_in_scan_order(repo: Any) -> None:
    stored = _four_studies_one_location_deleted(repo)
    with scan.snapshot(repo) as conn:
        for rtype in sorted({rt for rt, _ in stored}):
            chunks = list(scan.lines(conn, rtype, batch=3))
            parsed = [orjson.loads(line) for c in chunks for line in c.ndjson.splitlines()]
            assert all(c.ndjson.endswith(b"\n") or not c.ndjson for c in chunks)
            assert [c.count for c in chunks] == [c.ndjson.count(b"\n") for c in chunks]
            assert {(rtype, r["id"]): r for r in parsed} == {k: v for k, v in stored.items() if k[0] == rtype}
            assert [r["id"] for r in parsed] == [r.id for b in scan.scan(conn, rtype, batch=3) for r in b]
            assert sum(c.looked_at for c in chunks) == scan.count(conn, rtype)


def test_lines_on_postgresql_read_the_snapshot_over_several_connections(repo: Any) -> None:
    """The connections that turn batches into text adopt the export's snapshot: a change committed after it
    began, by anyone, is seen by none of them (and a changed resource comes back as it was)."""
    if not repo.postgres:
        pytest.skip("several connections sharing one snapshot is the PostgreSQL path (SQLite reads on one)")
    load_studies(repo, 3)
    before = current(repo)
    names = sorted(rid for rt, rid in before if rt == "Practitioner")
    with scan.snapshot(repo) as conn:
        assert scan.count(conn, "Practitioner") == len(names)  # the snapshot is taken at the first query
        with repo.unit_of_work() as uow:
            uow.update("Practitioner", names[0], {**before[("Practitioner", names[0])], "active": False})
            uow.delete("Practitioner", names[-1])
            uow.create("Practitioner", {"resourceType": "Practitioner", "active": True}, "born-later")
        chunks = list(scan.lines(conn, "Practitioner", batch=1, workers=3))
    got = {r["id"]: r for c in chunks for r in map(orjson.loads, c.ndjson.splitlines())}
    assert got == {rid: before[("Practitioner", rid)] for rid in names}
    assert len(chunks) >= len(names) and sum(c.looked_at for c in chunks) == len(names)


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


def test_an_export_writes_the_state_at_its_transaction_time(repo: Any, tmp_path: Path) -> None:
    """Changes after transactionTime are looked through: updated resources in their earlier version, deleted
    ones still there, new ones absent -- what a run at that moment wrote (and what a resumed run must write)."""
    load_studies(repo, 3)
    before = current(repo)
    time.sleep(0.005)  # lastUpdated has millisecond precision
    at = datetime.now(timezone.utc)
    time.sleep(0.005)
    study = next(rid for rt, rid in before if rt == "ResearchStudy")
    practitioner = next(rid for rt, rid in before if rt == "Practitioner")
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", study, {**before[("ResearchStudy", study)], "title": "Changed later"})
        uow.update("ResearchStudy", study, {**before[("ResearchStudy", study)], "title": "Changed again"})
        uow.delete("Practitioner", practitioner)
        uow.create("Organization", {"resourceType": "Organization", "name": "Born later"}, "born-later")
    result = export_ndjson(repo, tmp_path / "as-of", transaction_time=at, batch=2)
    files = _read(tmp_path / "as-of")
    got = {(r["resourceType"], r["id"]): r for rs in files.values() for r in rs}
    assert got == before and result.transaction_time == at
    now = _read(_export_now(repo, tmp_path / "now"))
    assert ("Organization", "born-later") in {(r["resourceType"], r["id"]) for rs in now.values() for r in rs}


def _export_now(repo: Any, directory: Path) -> Path:
    export_ndjson(repo, directory)
    return directory


def test_a_resumed_export_keeps_the_finished_files(repo: Any, tmp_path: Path) -> None:
    load_studies(repo, 3)
    stored = current(repo)
    out = tmp_path / "out"
    seen: list[tuple[str, int]] = []

    def stop_after_two(rt: str, n: int) -> None:
        seen.append((rt, n))
        if len(seen) == 2:
            raise KeyboardInterrupt  # the process goes away after its second file

    at = datetime.now(timezone.utc)
    try:
        export_ndjson(repo, out, transaction_time=at, finished=stop_after_two, batch=2)
    except KeyboardInterrupt:
        pass
    first_types = sorted({rt for rt, _ in stored})[:2]
    assert [rt for rt, _ in seen] == first_types and not list(out.glob("*.part"))
    kept = {rt: (out / f"{rt}.ndjson").stat() for rt in first_types}
    with repo.unit_of_work() as uow:  # a change after transactionTime, in a type still to be written
        rid = next(rid for rt, rid in stored if rt == "ResearchStudy")
        uow.update("ResearchStudy", rid, {**stored[("ResearchStudy", rid)], "title": "Changed meanwhile"})
    rest: list[str] = []
    result = export_ndjson(repo, out, transaction_time=at, done=dict(seen), batch=2,
                           finished=lambda rt, n: rest.append(rt))
    assert rest == sorted({rt for rt, _ in stored})[2:]
    for rt, stat in kept.items():  # not written again
        again = (out / f"{rt}.ndjson").stat()
        assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert result.counts == Counter(rt for rt, _ in stored)
    got = {(r["resourceType"], r["id"]): r for rs in _read(out).values() for r in rs}
    assert got == stored
