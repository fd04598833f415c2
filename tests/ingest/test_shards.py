"""Imports through worker shards (store/shard.py, SQLite): the rows a worker wrote are moved by the writer inside
SQLite, and the store is the one a single-process import or REST writes give: creates, updates, a study the
database refuses, the last partial batch, and the shard files of a killed import."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fhirtrial.loading import store_study
from fhirtrial.store import shard

from .importing import changed, clear, count, do_import, dump, nct, open_repo, synth, write_ndjson


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if database_url.startswith("postgres"):
        pytest.skip("shards are SQLite's import path (PostgreSQL takes the rows from the workers)")
    return database_url


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers even for a few studies; records how many resources each shard move created."""
    from fhirtrial.ingest import pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 0)
    moved: list[int] = []
    real = shard.ShardMover.move

    def counting(conn: Any, alias: str, pairs: list[tuple[int, int]], order_by: dict[str, str]) -> None:
        moved.append(len(pairs))
        real(conn, alias, pairs, order_by)

    monkeypatch.setattr(shard.ShardMover, "move", staticmethod(counting))
    return moved


def _shard_dirs(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"fhirtrial-shards-{pid}-*"))


def test_partial_last_batch_equals_one_process(sqlite_url: str, tmp_path: Path, moves: list[int]) -> None:
    """23 studies in batches of 9 (shards of 2 studies): the last batch holds 3 studies, written after the
    workers are done."""
    path = write_ndjson(tmp_path / "s.ndjson", synth(23, seed=8))
    do_import(sqlite_url, [path], jobs=1)
    serial = dump(sqlite_url)
    clear(sqlite_url)
    summary, results = do_import(sqlite_url, [path], jobs=2, batch=9)
    assert summary.studies["created"] == 23 and summary.failed == 0
    assert sum(moves) == summary.resources["created"]  # every created resource came through a shard
    assert dump(sqlite_url) == serial
    assert not _shard_dirs(os.getpid())  # the import's shard directory is gone


def test_updates_through_shards_equal_rest_writes(sqlite_url: str, tmp_path: Path, moves: list[int]) -> None:
    """A second version of some studies: what changed is read back from the shard and written as an update,
    the rest is unchanged; the store equals REST writes of the same records in order."""
    records = synth(12, seed=9)
    v2 = [changed(r, f"Second version {n}") for n, r in enumerate(records[:5])]
    do_import(sqlite_url, [write_ndjson(tmp_path / "a.ndjson", records)], jobs=2, batch=4)
    summary, _ = do_import(sqlite_url, [write_ndjson(tmp_path / "b.ndjson", v2 + records[5:])], jobs=2, batch=4)
    assert summary.studies["updated"] == 5 and summary.studies["unchanged"] == 7
    assert summary.resources["created"] == 0
    stored = dump(sqlite_url)
    clear(sqlite_url)
    with open_repo(sqlite_url) as repo:
        for record in records + v2:
            store_study(repo, record, "http://example.org/fhir")
    assert dump(sqlite_url) == stored


def test_study_the_database_refuses_fails_alone(sqlite_url: str, tmp_path: Path, moves: list[int]) -> None:
    """A refusal inside SQLite's INSERT ... SELECT rolls the batch back; each study is then moved under its own
    savepoint, so only the refused one fails and nothing of it is stored."""
    records = synth(10, seed=12)
    bad = nct(records[4])
    path = write_ndjson(tmp_path / "s.ndjson", records)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TRIGGER refuse_one BEFORE INSERT ON resource_version WHEN NEW.resource_id = "
                             f"'{bad}-eligibility' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    try:
        summary, results = do_import(sqlite_url, [path], jobs=2, batch=10)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_one")
        engine.dispose()
    assert summary.studies["created"] == 9 and summary.failed == 1
    (failed,) = [r for r in results if r.error]
    assert failed.study.nct_id == bad and failed.study.stage == "write" and "refused for the test" in failed.error
    assert count(sqlite_url, "resource", f"WHERE id LIKE '{bad}%'") == 0
    assert count(sqlite_url, "idx_token", f"WHERE resource_id LIKE '{bad}%'") == 0
    stored = dump(sqlite_url)
    clear(sqlite_url)
    do_import(sqlite_url, [write_ndjson(tmp_path / "good.ndjson", records[:4] + records[5:])], jobs=1)
    assert dump(sqlite_url) == stored


def test_sweep_removes_only_the_shards_of_dead_imports(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"fhirtrial-shards-{int(done.stdout)}-x"
    alive = tmp_path / f"fhirtrial-shards-{os.getppid()}-y"
    for d in (dead, alive):
        d.mkdir()
        (d / "1.db").write_bytes(b"")
    assert shard.sweep(tmp_path) == [dead]
    assert not dead.exists() and alive.exists()
