"""The $export job table: exclusive claims, recovery of jobs whose process died, https://hl7.org/fhir/uv/bulkdata/export.html."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from fhirtrial.config import Settings
from fhirtrial.export import jobs
from fhirtrial.rest.app import create_app
from fhirtrial.store.schema import export_job

STALE_S = 60.0


def _new(store: jobs.JobStore) -> jobs.Job:
    return store.create(request_url="http://x/fhir/$export", scope=None, types=None, since=None,
                        output_format="application/fhir+ndjson", requires_token=False)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_each_job_is_claimed_by_exactly_one_worker(repo: Any) -> None:
    store = jobs.JobStore(repo)
    created = {_new(store).id for _ in range(5)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda n: jobs.JobStore(repo).claim(f"w{n}"), range(8)))
    won = [c.id for c in claims if c is not None]
    assert sorted(won) == sorted(created)  # 5 jobs, 8 workers: every job once, no job twice
    assert jobs.JobStore(repo).claim("late") is None
    assert all(store.get(i).status == jobs.RUNNING and store.get(i).attempts == 1 for i in created)


def test_recover_requeues_a_dead_workers_job_then_gives_up(repo: Any) -> None:
    store = jobs.JobStore(repo)
    job = _new(store)
    dead = f"{socket.gethostname()}:{_dead_pid()}:x"
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        assert store.claim(dead).id == job.id
        expected = jobs.QUEUED if attempt < jobs.MAX_ATTEMPTS else jobs.FAILED
        assert store.recover(stale_after_s=STALE_S) == [(job.id, expected)]
    failed = store.get(job.id)
    assert failed.status == jobs.FAILED and "interrupted 3 times" in failed.error


def test_recover_leaves_live_workers_alone_but_not_silent_ones(repo: Any) -> None:
    store = jobs.JobStore(repo)
    live, remote = _new(store), _new(store)
    assert store.claim(f"{socket.gethostname()}:{os.getppid()}:y").id == live.id  # a live process on this host
    assert store.claim("other-host:1:z").id == remote.id  # another host: judged by its heartbeat
    assert store.recover(stale_after_s=STALE_S) == []
    with repo.engine.begin() as conn:
        conn.execute(export_job.update().where(export_job.c.id == remote.id).values(
            heartbeat=datetime.now(timezone.utc) - timedelta(seconds=STALE_S + 5)))
    assert store.recover(stale_after_s=STALE_S) == [(remote.id, jobs.QUEUED)]
    assert store.get(live.id).status == jobs.RUNNING


def test_cancel_and_beat(repo: Any) -> None:
    store = jobs.JobStore(repo)
    job = _new(store)
    assert store.claim("w").id == job.id
    assert store.beat(job.id, "w", 5, 10)
    assert not store.beat(job.id, "someone-else", 5, 10)
    assert store.cancel(job.id).status == jobs.RUNNING
    assert not store.beat(job.id, "w", 6, 10)  # the runner learns it was cancelled
    assert store.cancel(job.id) is None and store.cancel("nope") is None
    with repo.engine.connect() as conn:
        assert conn.execute(sa.select(export_job.c.status)).scalar_one() == jobs.CANCELLED


def test_finished_jobs_expire_with_their_files(repo: Any, tmp_path: Any) -> None:
    store = jobs.JobStore(repo)
    runner = jobs.ExportRunner(repo, Settings(export_dir=tmp_path, export_retention_h=1))
    old, recent, running = _new(store), _new(store), _new(store)
    for job in (old, recent):
        assert store.claim("w").id == job.id
        assert store.finish(job.id, "w", status=jobs.COMPLETE, output=[])
        jobs.job_dir(tmp_path, job.id).mkdir()
    assert store.claim("w").id == running.id
    with repo.engine.begin() as conn:
        conn.execute(export_job.update().where(export_job.c.id.in_([old.id, running.id])).values(
            heartbeat=datetime.now(timezone.utc) - timedelta(hours=2)))
    assert runner.expire() == [old.id]
    assert store.get(old.id) is None and not jobs.job_dir(tmp_path, old.id).exists()
    assert store.get(recent.id).status == jobs.COMPLETE and jobs.job_dir(tmp_path, recent.id).exists()
    assert store.get(running.id).status == jobs.RUNNING  # only finished jobs expire (recover handles the rest)
    finished = store.get(recent.id)
    assert jobs.expires_at(finished, 3600) == finished.heartbeat + timedelta(hours=1)
    assert jobs.ExportRunner(repo, Settings(export_dir=tmp_path, export_retention_h=0)).expire() == []  # 0 keeps all


def test_the_apps_runner_follows_the_apps_settings(database_url: str, repo: Any, tmp_path: Any) -> None:
    """FHIRTRIAL_EXPORT_STALE_S of the app (here 1 s, not the default 60 s) decides when a silent job is taken
    over: the runner re-queues another host's job silent for 5 s, then runs it to the end."""
    store = jobs.JobStore(repo)
    job = _new(store)
    assert store.claim("other-host:1:z").id == job.id
    with repo.engine.begin() as conn:
        conn.execute(export_job.update().where(export_job.c.id == job.id).values(
            heartbeat=datetime.now(timezone.utc) - timedelta(seconds=5)))
    app = create_app(Settings(database_url=database_url, export_dir=tmp_path, export_stale_s=1), repo)
    runner = jobs.ensure_runner(app)
    try:
        assert (runner.stale_after_s, runner.export_dir) == (1, tmp_path)
        deadline = time.monotonic() + 20
        while store.get(job.id).status != jobs.COMPLETE:
            assert time.monotonic() < deadline, store.get(job.id)
            time.sleep(0.05)
        assert store.get(job.id).attempts == 2 and store.get(job.id).worker == runner.worker
    finally:
        jobs.stop_export_runner(app)
