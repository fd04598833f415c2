"""Bulk Data ``$export`` jobs: persisted in the ``export_job`` table, run by a background thread of the server.

https://hl7.org/fhir/uv/bulkdata/export.html -- kick-off creates a ``queued`` row; a runner claims it (PostgreSQL:
``FOR UPDATE SKIP LOCKED``; SQLite: inside a ``BEGIN IMMEDIATE`` write transaction), so exactly one worker runs a
job however many server processes poll the table. A running job beats a heartbeat on every batch; a job whose
process died (same host and its pid gone, or no heartbeat for ``export_stale_s``) is re-queued and run again,
up to ``MAX_ATTEMPTS`` times, then marked failed -- never silently lost. A graceful shutdown re-queues the job it
was running. A system or type-filtered export resumes where it stopped: each finished file is recorded in the
job's row (``output``, with the ``transaction_time`` fixed at the first start) as soon as it is complete, and the
next attempt keeps those files and writes only the remaining types, as of the same time (export/ndjson.py). A
type-level (scoped) export writes all its files together, so it starts again. Finished jobs (complete, failed, cancelled) are removed with their files
``export_retention_h`` hours after they ended; the status of a complete job says when, in ``Expires``. Every
knob comes from the app's Settings (``FHIRTRIAL_EXPORT_*``), read when the runner starts.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from ..config import Settings
from ..search.compartment import patient_compartment
from ..store.engine import WRITE
from ..store.failures import translated
from ..store.liveness import pid_alive
from ..store.schema import UTCDateTime, export_job
from .ndjson import SUFFIX, export_ndjson

log = logging.getLogger("fhirtrial.export")

QUEUED, RUNNING, COMPLETE, FAILED, CANCELLED = "queued", "running", "complete", "failed", "cancelled"
MAX_ATTEMPTS = 3
HEARTBEAT_EVERY_S = 0.5
POLL_EVERY_S = 1.0
RECOVER_EVERY_S = 5.0

_HOST = socket.gethostname()
_ACTIVE_TOKENS: set[str] = set()  # runner tokens alive in this process
_j = export_job.c


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    request_url: str
    scope: str | None
    types: list[str] | None
    since: datetime | None
    output_format: str
    requires_token: bool
    created_at: datetime
    heartbeat: datetime | None
    worker: str | None
    attempts: int
    done: int
    total: int | None
    transaction_time: datetime | None
    output: list[dict[str, Any]] | None  # [{"type", "file", "count"}]
    error: str | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: datetime) -> Any:
    return sa.bindparam(None, value, UTCDateTime())


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(m["id"], m["status"], m["request_url"], m["scope"],
               None if m["types"] is None else orjson.loads(m["types"]), m["since"], m["output_format"],
               bool(m["requires_token"]), m["created_at"], m["heartbeat"], m["worker"], m["attempts"], m["done"],
               m["total"], m["transaction_time"], None if m["output"] is None else orjson.loads(m["output"]),
               m["error"])



def worker_is_dead(worker: str | None) -> bool:
    """True when ``worker`` ("host:pid:token") certainly no longer runs: same host, and its process is gone
    or (our own pid) its runner is no longer active. Workers on other hosts are judged by heartbeat only."""
    if not worker:
        return True
    parts = worker.rsplit(":", 2)
    if len(parts) != 3:
        return True
    host, pid_text, token = parts
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return token not in _ACTIVE_TOKENS
    return not pid_alive(pid)


class JobStore:
    """The job table on the repository's engine."""

    def __init__(self, repo: Any) -> None:
        self.engine: sa.Engine = repo.engine
        self.postgres = self.engine.dialect.name == "postgresql"

    def _write(self) -> Any:
        return self.engine.connect().execution_options(**{WRITE: True})

    def create(self, *, request_url: str, scope: str | None, types: list[str] | None, since: datetime | None,
               output_format: str, requires_token: bool) -> Job:
        job_id = uuid.uuid4().hex
        values = dict(id=job_id, status=QUEUED, request_url=request_url, scope=scope,
                      types=None if types is None else orjson.dumps(types).decode(), since=since,
                      output_format=output_format, requires_token=requires_token, created_at=_now(),
                      heartbeat=None, worker=None, attempts=0, done=0, total=None, transaction_time=None,
                      output=None, error=None)
        with translated(), self._write() as conn, conn.begin():
            conn.execute(export_job.insert().values(**values))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with translated(), self.engine.connect() as conn:
            row = conn.execute(sa.select(export_job).where(_j.id == job_id)).first()
        return None if row is None else _job(row)

    def claim(self, worker: str) -> Job | None:
        """Take the oldest queued job for ``worker``; None when there is none (or another worker won it)."""
        with translated(), self._write() as conn, conn.begin():
            query = sa.select(_j.id).where(_j.status == QUEUED).order_by(_j.created_at).limit(1)
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            job_id = conn.execute(query).scalar()
            if job_id is None:
                return None
            claimed = conn.execute(export_job.update().where(_j.id == job_id, _j.status == QUEUED).values(
                status=RUNNING, worker=worker, heartbeat=_now(), attempts=_j.attempts + 1, done=0, total=None,
                error=None)).rowcount
        return self.get(job_id) if claimed == 1 else None

    def beat(self, job_id: str, worker: str, done: int, total: int | None) -> bool:
        """Record progress; False when the job is no longer this worker's to run (cancelled, re-queued)."""
        with translated(), self._write() as conn, conn.begin():
            return conn.execute(export_job.update().where(
                _j.id == job_id, _j.worker == worker, _j.status == RUNNING).values(
                heartbeat=_now(), done=done, total=total)).rowcount == 1

    def checkpoint(self, job_id: str, worker: str, transaction_time: datetime, output: list[dict[str, Any]]) -> bool:
        """Record the files finished so far; False when the job is no longer this worker's to run."""
        with translated(), self._write() as conn, conn.begin():
            return conn.execute(export_job.update().where(
                _j.id == job_id, _j.worker == worker, _j.status == RUNNING).values(
                heartbeat=_now(), transaction_time=transaction_time,
                output=orjson.dumps(output).decode())).rowcount == 1

    def finish(self, job_id: str, worker: str, **values: Any) -> bool:
        """Move a running job of ``worker`` to its end state; False when it was cancelled meanwhile."""
        if "output" in values and values["output"] is not None:
            values["output"] = orjson.dumps(values["output"]).decode()
        with translated(), self._write() as conn, conn.begin():
            return conn.execute(export_job.update().where(
                _j.id == job_id, _j.worker == worker, _j.status == RUNNING).values(
                heartbeat=_now(), **values)).rowcount == 1

    def cancel(self, job_id: str) -> Job | None:
        """Mark the job cancelled; returns it as it was, or None if it is unknown or already cancelled."""
        with translated(), self._write() as conn, conn.begin():
            row = conn.execute(sa.select(export_job).where(_j.id == job_id)).first()
            if row is None or row._mapping["status"] == CANCELLED:
                return None
            conn.execute(export_job.update().where(_j.id == job_id).values(status=CANCELLED, heartbeat=_now()))
        return _job(row)

    def recover(self, *, stale_after_s: float) -> list[tuple[str, str]]:
        """Re-queue (or fail, after MAX_ATTEMPTS) running jobs whose worker is gone or has been silent for
        ``stale_after_s`` seconds; returns (id, new status)."""
        cutoff = _now() - timedelta(seconds=stale_after_s)
        changed: list[tuple[str, str]] = []
        with translated(), self._write() as conn, conn.begin():
            query = sa.select(_j.id, _j.worker, _j.heartbeat, _j.attempts).where(_j.status == RUNNING)
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            for job_id, worker, heartbeat, attempts in conn.execute(query).all():
                if not (worker_is_dead(worker) or heartbeat is None or heartbeat < cutoff):
                    continue
                if attempts >= MAX_ATTEMPTS:
                    values: dict[str, Any] = dict(status=FAILED, error=(
                        f"The export was interrupted {attempts} times (its server process stopped while running "
                        f"it) and was given up"))
                else:
                    values = dict(status=QUEUED, worker=None)
                conn.execute(export_job.update().where(_j.id == job_id, _j.status == RUNNING).values(**values))
                changed.append((job_id, values["status"]))
        for job_id, status in changed:
            log.warning("export job %s was interrupted; now %s", job_id, status)
        return changed

    def expire(self, retention_s: float) -> list[str]:
        """Remove the jobs that ended more than ``retention_s`` seconds ago; returns their ids (files are the
        caller's). ``retention_s`` <= 0 keeps everything."""
        if retention_s <= 0:
            return []
        cutoff = _now() - timedelta(seconds=retention_s)
        ended = _j.status.in_((COMPLETE, FAILED, CANCELLED))
        with translated(), self._write() as conn, conn.begin():
            ids = list(conn.execute(sa.select(_j.id).where(ended, _j.heartbeat < cutoff)).scalars())
            if ids:
                conn.execute(export_job.delete().where(_j.id.in_(ids), ended))
        return ids


def expires_at(job: Job, retention_s: float) -> datetime | None:
    """When a finished job and its files will be removed (None: kept)."""
    if retention_s <= 0 or job.heartbeat is None:
        return None
    return job.heartbeat + timedelta(seconds=retention_s)


def job_dir(export_dir: Path, job_id: str) -> Path:
    return Path(export_dir) / job_id


def remove_files(export_dir: Path, job_id: str) -> None:
    shutil.rmtree(job_dir(export_dir, job_id), ignore_errors=True)


class _Stop(Exception):
    """The job must stop: cancelled (``requeue`` False) or the runner is shutting down (``requeue`` True)."""

    def __init__(self, requeue: bool) -> None:
        super().__init__("stop")
        self.requeue = requeue


def public_resource(resource_type: str, body: bytes) -> bool:
    """What a public export may write: no resource of the Patient compartment (search/compartment.py)."""
    return not patient_compartment().holds_json(resource_type, body)


class ExportRunner:
    """One background thread per server process that claims and runs queued jobs, one at a time, with the
    export settings of the app that owns it.

    A job kicked off without a token (``requires_token`` false: the server had none) is public and leaves patient
    data out, unless ``anonymous_patient_data`` (the local-testing open mode, where anyone may read it)."""

    def __init__(self, repo: Any, settings: Settings, anonymous_patient_data: bool = False) -> None:
        self.repo = repo
        self.anonymous_patient_data = anonymous_patient_data
        self.jobs = JobStore(repo)
        assert settings.export_dir is not None  # Settings fills it in
        self.export_dir = Path(settings.export_dir)
        self.retention_s = settings.export_retention_s
        self.batch_size = settings.export_batch_size
        # Seconds to sleep after each batch: a throttle for tests and demos (a job slow enough to kill mid-run).
        self.batch_delay_s = settings.export_batch_delay_s
        self.stale_after_s = settings.export_stale_s
        self.token = uuid.uuid4().hex[:12]
        self.worker = f"{_HOST}:{os.getpid()}:{self.token}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        _ACTIVE_TOKENS.add(self.token)
        self._thread = threading.Thread(target=self._loop, name="fhirtrial-export", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        _ACTIVE_TOKENS.discard(self.token)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        last_recover = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_recover >= RECOVER_EVERY_S:
                    last_recover = time.monotonic()
                    self.jobs.recover(stale_after_s=self.stale_after_s)
                    self.expire()
                job = self.jobs.claim(self.worker)
                if job is not None:
                    self.run(job)
                    continue
            except Exception:  # noqa: BLE001 -- the runner must outlive a database hiccup
                log.exception("export runner: unexpected error")
            self._wake.wait(POLL_EVERY_S)
            self._wake.clear()

    def expire(self) -> list[str]:
        """Remove finished jobs past their retention, files first gone with them."""
        ids = self.jobs.expire(self.retention_s)
        for job_id in ids:
            remove_files(self.export_dir, job_id)
        return ids

    def run(self, job: Job) -> None:
        """Run one claimed job to its end state, resuming after the files an earlier attempt finished."""
        directory = job_dir(self.export_dir, job.id)
        kept = self._resumable(job)
        if kept is None:
            remove_files(self.export_dir, job.id)  # leftovers of an interrupted attempt
            at, output = _now(), []
        else:
            assert job.transaction_time is not None and job.output is not None
            at, output = job.transaction_time, list(job.output)
            for path in directory.iterdir():  # half-written files, and finished ones not recorded in time
                if path.name not in kept:
                    path.unlink()
        if not self.jobs.checkpoint(job.id, self.worker, at, output):
            return
        last_beat = [0.0]

        def tick(done: int, total: int | None) -> None:
            if self._stop.is_set():
                raise _Stop(requeue=True)
            now = time.monotonic()
            if now - last_beat[0] >= HEARTBEAT_EVERY_S or done == total:
                last_beat[0] = now
                if not self.jobs.beat(job.id, self.worker, done, total):
                    raise _Stop(requeue=False)
            if self.batch_delay_s:
                time.sleep(self.batch_delay_s)

        def finished(resource_type: str, count: int) -> None:
            if count:
                output.append({"type": resource_type, "file": f"{resource_type}{SUFFIX}", "count": count})
            if not self.jobs.checkpoint(job.id, self.worker, at, output):
                raise _Stop(requeue=False)

        try:
            visible = None if job.requires_token or self.anonymous_patient_data else public_resource
            result = export_ndjson(self.repo, directory, types=job.types, since=job.since, scope=job.scope,
                                   batch=self.batch_size, tick=tick, visible=visible, transaction_time=at,
                                   done={o["type"]: o["count"] for o in output}, finished=finished)
        except _Stop as stop:
            if stop.requeue:  # finished files stay for the next attempt
                self.jobs.finish(job.id, self.worker, status=QUEUED, worker=None)
            else:
                remove_files(self.export_dir, job.id)
            return
        except Exception as exc:  # noqa: BLE001 -- reported to the client through the status endpoint
            log.exception("export job %s failed", job.id)
            remove_files(self.export_dir, job.id)
            self.jobs.finish(job.id, self.worker, status=FAILED, error=f"The export failed: {exc}"[:4000])
            return
        output = [{"type": rt, "file": f"{rt}{SUFFIX}", "count": n} for rt, n in result.counts.items()]
        if not self.jobs.finish(job.id, self.worker, status=COMPLETE, done=result.total, total=result.total,
                                transaction_time=result.transaction_time, output=output):
            remove_files(self.export_dir, job.id)  # cancelled while it ran

    def _resumable(self, job: Job) -> set[str] | None:
        """The file names an earlier attempt of ``job`` finished and recorded, if it can go on from them."""
        if job.scope is not None or job.transaction_time is None or job.output is None:
            return None
        directory = job_dir(self.export_dir, job.id)
        names = {o["file"] for o in job.output}
        if not directory.is_dir() or not all((directory / name).is_file() for name in names):
            return None
        return names


_RUNNER_LOCK = threading.Lock()


def ensure_runner(app: Any) -> ExportRunner:
    """The app's runner, started on first use (kick-off, status poll) if the lifespan did not start it."""
    runner = getattr(app.state, "export_runner", None)
    if runner is not None and runner.alive:
        return runner
    with _RUNNER_LOCK:
        runner = getattr(app.state, "export_runner", None)
        if runner is None or not runner.alive:
            runner = ExportRunner(app.state.repo, app.state.settings,
                                  anonymous_patient_data=app.state.settings.open_mode)
            runner.start()
            app.state.export_runner = runner
    return runner


def start_export_runner(app: Any) -> ExportRunner:
    """Call from the app's lifespan after the repository is open: jobs interrupted by a restart resume at boot."""
    return ensure_runner(app)


def stop_export_runner(app: Any) -> None:
    """Call from the app's lifespan before the repository closes: the running job is re-queued."""
    runner = getattr(app.state, "export_runner", None)
    if runner is not None:
        runner.stop()
        app.state.export_runner = None
