"""Bulk Data ``$export`` (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off, status, manifest, files,
cancel, every bad input, and a job surviving a real server process killed mid-run."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import orjson
import pytest
import sqlalchemy as sa

from fhirtrial.config import Settings
from fhirtrial.export import jobs
from fhirtrial.rest.app import create_app
from fhirtrial.store.schema import export_job
from tests.export.helpers import current, expected_closure, load_studies

from ..support.server import ServerProcess
from .conftest import AUTH, BASE, TOKEN, assert_outcome

ASYNC = {**AUTH, "Prefer": "respond-async", "Accept": "application/fhir+json"}


def _make_client(settings: Settings, repo: Any) -> tuple[Any, httpx.AsyncClient]:
    app = create_app(settings, repo)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return app, httpx.AsyncClient(transport=transport, base_url=BASE + "/")


@pytest.fixture
async def bulk(database_url: str, repo: Any, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, api_token=TOKEN, export_dir=tmp_path / "export")
    app, client = _make_client(settings, repo)
    async with client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    jobs.stop_export_runner(app)


async def _wait(client: httpx.AsyncClient, url: str, headers: dict[str, str] = AUTH, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(url, headers=headers)
        if r.status_code != 202:
            return r
        assert r.headers["x-progress"] and r.headers["retry-after"].isdigit()
        assert time.monotonic() < deadline, "export did not finish"
        await asyncio.sleep(0.05)


async def _kickoff(client: httpx.AsyncClient, path: str = "$export", **params: str) -> str:
    r = await client.get(path, params=params, headers=ASYNC)
    assert r.status_code == 202, r.text
    location = r.headers["content-location"]
    assert location.startswith(f"{BASE}/$export-poll/")
    return location


async def _download(client: httpx.AsyncClient, manifest: dict) -> dict[str, list[dict]]:
    files = {}
    for item in manifest["output"]:
        r = await client.get(item["url"], headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [orjson.loads(line) for line in r.content.splitlines()]
        assert len(lines) == item["count"] and all(x["resourceType"] == item["type"] for x in lines)
        files[item["type"]] = lines
    return files


async def test_system_export_end_to_end(bulk: httpx.AsyncClient, repo: Any) -> None:
    load_studies(repo, 4)
    stored = current(repo)
    location = await _kickoff(bulk)
    r = await _wait(bulk, location)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    manifest = r.json()
    assert manifest["request"] == f"{BASE}/$export"
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    # The files are kept export_retention_h (24 h by default) after the job ended: Expires says until when.
    from email.utils import parsedate_to_datetime
    expires = parsedate_to_datetime(r.headers["expires"])
    hours = (expires - datetime.now(timezone.utc)).total_seconds() / 3600
    assert 23.9 < hours <= 24
    assert {o["type"]: o["count"] for o in manifest["output"]} == Counter(rt for rt, _ in stored)
    files = await _download(bulk, manifest)
    assert {(x["resourceType"], x["id"]) for xs in files.values() for x in xs} == set(stored)
    # the files are protected like everything else
    assert_outcome(await bulk.get(manifest["output"][0]["url"]), 401)
    assert_outcome(await bulk.get(location), 401)


async def test_post_kickoff_with_parameters_and_type_filter(bulk: httpx.AsyncClient, repo: Any) -> None:
    load_studies(repo, 2)
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Location,Organization"},
        {"name": "_outputFormat", "valueString": "application/ndjson"}]}
    r = await bulk.post("$export", content=orjson.dumps(params),
                        headers={**ASYNC, "Content-Type": "application/fhir+json"})
    assert r.status_code == 202, r.text
    manifest = (await _wait(bulk, r.headers["content-location"])).json()
    assert {o["type"] for o in manifest["output"]} == {"Location", "Organization"}
    assert {o["type"]: o["count"] for o in manifest["output"]} == {"Location": repo.count("Location"),
                                                                  "Organization": repo.count("Organization")}


async def test_since_in_the_future_gives_no_files(bulk: httpx.AsyncClient, repo: Any) -> None:
    load_studies(repo, 1)
    manifest = (await _wait(bulk, await _kickoff(bulk, _since="2999-01-01T00:00:00Z"))).json()
    assert manifest["output"] == []


async def test_type_level_export(bulk: httpx.AsyncClient, repo: Any) -> None:
    ids = load_studies(repo, 3)
    with repo.unit_of_work() as uow:
        uow.update("Organization", "unrelated", {"resourceType": "Organization", "name": "Unrelated"})
    stored = current(repo)
    expected = set().union(*(expected_closure(stored, ("ResearchStudy", i)) for i in ids))
    manifest = (await _wait(bulk, await _kickoff(bulk, "ResearchStudy/$export"))).json()
    assert manifest["request"] == f"{BASE}/ResearchStudy/$export"
    files = await _download(bulk, manifest)
    assert {(x["resourceType"], x["id"]) for xs in files.values() for x in xs} == expected
    manifest = (await _wait(bulk, await _kickoff(bulk, "ResearchStudy/$export", _type="ResearchStudy"))).json()
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [("ResearchStudy", 3)]


@pytest.mark.parametrize("params, headers, status, mentions", [
    ({}, {**AUTH, "Accept": "application/fhir+json"}, 400, "respond-async"),
    ({"_type": "Patient,Nope"}, ASYNC, 400, "Nope"),
    ({"_since": "yesterday"}, ASYNC, 400, "_since"),
    ({"_since": "2024-01-01"}, ASYNC, 400, "_since"),
    ({"_since": "2024-01-01T10:00:00"}, ASYNC, 400, "_since"),
    ({"_outputFormat": "text/csv"}, ASYNC, 400, "_outputFormat"),
    ({"_typeFilter": "Location?name=x"}, {**ASYNC, "Prefer": "respond-async; handling=strict"}, 400, "_typeFilter"),
    ({}, {"Prefer": "respond-async"}, 401, None),
    ({}, {**ASYNC, "Authorization": "Bearer wrong"}, 401, None),
])
async def test_kickoff_bad_input(bulk: httpx.AsyncClient, params: dict, headers: dict, status: int,
                                 mentions: str | None) -> None:
    assert_outcome(await bulk.get("$export", params=params, headers=headers), status, mentions=mentions)


async def test_more_bad_input(bulk: httpx.AsyncClient) -> None:
    assert_outcome(await bulk.get("Nope/$export", headers=ASYNC), 404)
    assert_outcome(await bulk.post("$export", content=b'{"resourceType": "Patient"}',
                                   headers={**ASYNC, "Content-Type": "application/fhir+json"}), 400, mentions="Parameters")
    assert_outcome(await bulk.get("$export-poll/unknown", headers=AUTH), 404, "not-found")
    assert_outcome(await bulk.delete("$export-poll/unknown", headers=AUTH), 404)
    assert_outcome(await bulk.get("$export-file/unknown/Location.ndjson", headers=AUTH), 404)
    # lenient: an unsupported parameter is ignored with a warning
    r = await bulk.get("$export", params={"_elements": "id"}, headers=ASYNC)
    assert r.status_code == 202 and "_elements" in r.text


async def test_cancel_removes_the_files(bulk: httpx.AsyncClient, repo: Any, tmp_path: Path) -> None:
    load_studies(repo, 2)
    location = await _kickoff(bulk)
    manifest = (await _wait(bulk, location)).json()
    job_id = location.rsplit("/", 1)[1]
    assert (tmp_path / "export" / job_id).is_dir()
    r = await bulk.delete(location, headers=AUTH)
    assert r.status_code == 202, r.text
    assert not (tmp_path / "export" / job_id).exists()
    assert_outcome(await bulk.get(location, headers=AUTH), 404)
    assert_outcome(await bulk.get(manifest["output"][0]["url"], headers=AUTH), 404)
    assert_outcome(await bulk.delete(location, headers=AUTH), 404)


@pytest.fixture
async def slow_bulk(database_url: str, repo: Any, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Jobs read 2 resources at a time and pause 50 ms after each read (FHIRTRIAL_EXPORT_BATCH_SIZE/_DELAY_S)."""
    settings = Settings(database_url=database_url, api_token=TOKEN, export_dir=tmp_path / "export",
                        export_batch_size=2, export_batch_delay_s=0.05)
    app, client = _make_client(settings, repo)
    async with client:
        yield client
    jobs.stop_export_runner(app)


async def test_cancel_while_running(slow_bulk: httpx.AsyncClient, repo: Any, tmp_path: Path) -> None:
    bulk = slow_bulk
    load_studies(repo, 3)
    location = await _kickoff(bulk)
    job_id = location.rsplit("/", 1)[1]
    for _ in range(200):
        r = await bulk.get(location, headers=AUTH)
        if "%" in r.headers.get("x-progress", ""):
            break
        await asyncio.sleep(0.02)
    assert r.status_code == 202 and "%" in r.headers["x-progress"], r.headers
    assert (await bulk.delete(location, headers=AUTH)).status_code == 202
    for _ in range(100):  # the runner notices within a batch and removes what it wrote
        if not (tmp_path / "export" / job_id).exists():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert not (tmp_path / "export" / job_id).exists()
    assert_outcome(await bulk.get(location, headers=AUTH), 404)


async def test_a_failed_job_is_reported(bulk: httpx.AsyncClient, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(jobs, "export_ndjson", broken)
    r = await _wait(bulk, await _kickoff(bulk))
    assert_outcome(r, 500, "exception", mentions="No space left")


async def test_without_a_token_configured_no_token_is_required(database_url: str, repo: Any, tmp_path: Path) -> None:
    load_studies(repo, 1)
    settings = Settings(database_url=database_url, api_token=None, export_dir=tmp_path / "export")
    app, client = _make_client(settings, repo)
    try:
        async with client:
            r = await client.get("$export", headers={"Prefer": "respond-async"})
            assert r.status_code == 202, r.text
            manifest = (await _wait(client, r.headers["content-location"], headers={})).json()
            assert manifest["requiresAccessToken"] is False
            assert (await client.get(manifest["output"][0]["url"])).status_code == 200
    finally:
        jobs.stop_export_runner(app)


# -- a real server process, killed in the middle of a job and started again ------------------------------------

def _server(database_url: str, export_dir: Path, **env: str) -> ServerProcess:
    workers = 2 if database_url.startswith("postgresql") else 1
    log = export_dir.parent / f"server-{time.monotonic_ns()}.log"
    return ServerProcess(database_url, log, token=TOKEN, workers=workers,
                         env={"FHIRTRIAL_EXPORT_DIR": str(export_dir), **env})


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def test_a_job_survives_a_killed_server(database_url: str, repo: Any, tmp_path: Path, servers: list[ServerProcess]) -> None:
    """Killed after its first file was finished: the next server keeps that file, writes the others, and
    writes them as of the job's transactionTime (a change made meanwhile is left for the next export)."""
    load_studies(repo, 5)
    export_dir = tmp_path / "export"
    slow = _server(database_url, export_dir, FHIRTRIAL_EXPORT_BATCH_SIZE="3", FHIRTRIAL_EXPORT_BATCH_DELAY_S="0.2")
    servers.append(slow)
    r = httpx.get(f"{slow.base}/$export", headers=ASYNC)
    assert r.status_code == 202, r.text
    location = r.headers["content-location"].replace(slow.base, "{base}")
    job_id = location.rsplit("/", 1)[1]
    deadline = time.monotonic() + 30
    while True:  # until the first file is finished and recorded
        r = httpx.get(location.format(base=slow.base), headers=AUTH)
        assert r.status_code == 202, r.text
        with repo.engine.connect() as conn:
            output = conn.execute(sa.select(export_job.c.output).where(export_job.c.id == job_id)).scalar_one()
        if output and orjson.loads(output):
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    slow.kill()
    with repo.engine.connect() as conn:
        assert conn.execute(sa.select(export_job.c.status).where(export_job.c.id == job_id)).scalar_one() == "running"
    finished = {o["file"]: (export_dir / job_id / o["file"]).stat() for o in orjson.loads(output)}
    assert finished and all(name.endswith(".ndjson") for name in finished)
    stored = current(repo)  # the state the export must write (the server may store resources of its own)
    study_id = next(rid for rt, rid in stored if rt == "ResearchStudy")  # the last type: not written yet
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", study_id, {**stored[("ResearchStudy", study_id)], "title": "Changed later"})

    fresh = _server(database_url, export_dir)
    servers.append(fresh)
    deadline = time.monotonic() + 30
    while True:
        r = httpx.get(location.format(base=fresh.base), headers=AUTH)
        if r.status_code != 202:
            break
        assert time.monotonic() < deadline, r.headers
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    manifest = r.json()
    assert {o["type"]: o["count"] for o in manifest["output"]} == Counter(rt for rt, _ in stored)
    got = {}
    for item in manifest["output"]:
        f = httpx.get(item["url"], headers=AUTH)
        assert f.status_code == 200
        lines = [orjson.loads(line) for line in f.content.splitlines()]
        assert len(lines) == item["count"]
        got |= {(x["resourceType"], x["id"]): x for x in lines}
    assert got == stored  # the study as it was at transactionTime
    for name, stat in finished.items():  # kept, not written again
        again = (export_dir / job_id / name).stat()
        assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert not list((export_dir / job_id).glob("*.part"))
    with repo.engine.connect() as conn:
        assert conn.execute(sa.select(export_job.c.attempts).where(export_job.c.id == job_id)).scalar_one() == 2
