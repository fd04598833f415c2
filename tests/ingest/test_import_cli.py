"""``fhirtrial import`` as a user runs it: exit codes, summary, error report, and kill -9 then resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pytest

from fhirtrial.store import deferred

from .importing import clear, count, dump, synth, write_ndjson

ROOT = Path(__file__).resolve().parents[2]


def _index_count(url: str) -> int:
    if url.startswith("postgres"):
        return count(url, "pg_indexes", "WHERE schemaname = current_schema()")
    return count(url, "sqlite_master", "WHERE type = 'index'")


def _run(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", "import", *args, "--database-url", url],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_exit_0_summary_and_no_report(database_url: str, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "s.ndjson", synth(5))
    done = _run(database_url, str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "studies:   5 created, 0 updated, 0 unchanged, 0 failed" in done.stderr
    assert "resources:" in done.stderr and "studies/s" in done.stderr
    assert not list(tmp_path.glob("import-errors-*.jsonl"))
    again = _run(database_url, str(path), "--jobs", "2", cwd=tmp_path)
    assert again.returncode == 0 and "0 created, 0 updated, 5 unchanged" in again.stderr


def test_exit_1_and_error_report(database_url: str, tmp_path: Path) -> None:
    records = synth(3)
    lines = [orjson.dumps(r) for r in records]
    lines.insert(1, b'{"protocolSection": {"identificationModule": {"nctId": "NCT0000')  # cut mid-study
    lines.append(b'{"hello": "world"}')
    path = tmp_path / "s.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n" + orjson.dumps(records[0]) + b"\n")
    report = tmp_path / "errors.jsonl"
    done = _run(database_url, str(path), "--errors", str(report), "--batch", "2", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"error report: {report}" in done.stderr
    rows = [orjson.loads(x) for x in report.read_bytes().splitlines()]
    by_stage = {r["stage"]: r for r in rows}
    assert set(by_stage) == {"read", "duplicate"} and len(rows) == 3
    assert all(r["origin"].startswith(str(path)) and r["error"] for r in rows)
    dup = by_stage["duplicate"]
    assert dup["nctId"] == records[0]["protocolSection"]["identificationModule"]["nctId"]
    assert dup["supersededBy"] == f"{path}:6"
    assert "3 created" in done.stderr and "2 failed" in done.stderr


@pytest.mark.parametrize("what", ["missing", "empty"])
def test_exit_2_when_nothing_can_be_read(database_url: str, tmp_path: Path, what: str) -> None:
    path = tmp_path / "nothing.ndjson"
    if what == "empty":
        path.write_bytes(b"\n")
    done = _run(database_url, str(path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "error:" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("mode", ["--no-bulk", "--bulk"])
def test_kill_9_then_resume_equals_one_clean_run(database_url: str, tmp_path: Path, mode: str) -> None:
    """With --bulk the search indexes are set aside while loading (store/deferred.py): a kill leaves them
    recorded, and the resumed run builds them."""
    path = write_ndjson(tmp_path / "s.ndjson", synth(800, seed=21))
    clean = _run(database_url, str(path), "--batch", "50", cwd=tmp_path)
    # 1: PostgreSQL refuses a few synthetic studies (btree row size of very long strings), the same each run
    assert clean.returncode in (0, 1), clean.stderr
    expected = dump(database_url)
    clear(database_url)
    indexes = _index_count(database_url)
    proc = subprocess.Popen([sys.executable, "-m", "fhirtrial.cli.main", "import", str(path), "--batch", "50",
                             "--jobs", "2", mode, "--database-url", database_url], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while count(database_url, "resource", "WHERE resource_type = 'ResearchStudy'") < 150:
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count(database_url, "resource", "WHERE resource_type = 'ResearchStudy'")
    assert 0 < partial < 800
    postgres = database_url.startswith("postgres")
    set_aside = deferred.deferrable(postgres) if mode == "--bulk" else []
    assert count(database_url, "deferred_index") == len(set_aside)
    assert _index_count(database_url) == indexes - len([n for n in set_aside if n.startswith("ix_")])
    # SQLite: the workers' shard files (store/shard.py) of the killed import are left behind...
    shards = list(Path(tempfile.gettempdir()).glob(f"fhirtrial-shards-{proc.pid}-*"))
    assert bool(shards) == (not postgres)
    resumed = _run(database_url, str(path), "--batch", "50", cwd=tmp_path)  # small input: builds what is set aside
    assert resumed.returncode == clean.returncode, resumed.stderr
    assert not any(s.exists() for s in shards)  # ...and the next import removes them
    assert dump(database_url) == expected
    assert count(database_url, "deferred_index") == 0
    assert _index_count(database_url) == indexes
