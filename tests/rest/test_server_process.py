"""A real uvicorn process over HTTP: concurrent writers never lose an update (https://hl7.org/fhir/R4/http.html#concurrency)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from ..support.server import ServerProcess

TOKEN = "process-token"


@pytest.fixture
def server(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    """``fhirtrial serve`` in a subprocess on the database under test (2 workers on PostgreSQL)."""
    workers = 2 if database_url.startswith("postgresql") else 1
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN, workers=workers) as proc:
        yield proc.base


def _append_identifier(base: str, n: int, start: threading.Barrier, refused: list[int]) -> int:
    """Optimistic read-modify-write with If-Match, retrying on 412 as a well-behaved client does; every writer
    reads version 1 before any of them writes (the barrier), so all but one of the first writes must lose.
    Returns the number of retries."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    with httpx.Client(timeout=30) as c:
        for attempt in range(200):
            current = c.get(f"{base}/ResearchStudy/race")
            body = current.json()
            if attempt == 0:
                assert current.headers["etag"] == 'W/"1"'
                start.wait(timeout=30)
            body["identifier"] = body.get("identifier", []) + [{"system": "urn:race", "value": str(n)}]
            r = c.put(f"{base}/ResearchStudy/race", json=body, headers={**headers, "If-Match": current.headers["etag"]})
            if r.status_code == 200:
                return attempt
            assert r.status_code in (409, 412), r.text
            refused.append(r.status_code)
    raise AssertionError("never got through")


def test_concurrent_updates_lose_nothing(server: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    r = httpx.put(f"{server}/ResearchStudy/race", json={"resourceType": "ResearchStudy", "id": "race",
                                                         "status": "active"}, headers=headers)
    assert r.status_code == 201, r.text
    writers = 12
    start = threading.Barrier(writers)
    refused: list[int] = []
    with ThreadPoolExecutor(max_workers=writers) as pool:
        retries = list(pool.map(lambda n: _append_identifier(server, n, start, refused), range(writers)))
    final = httpx.get(f"{server}/ResearchStudy/race").json()
    values = sorted(int(i["value"]) for i in final["identifier"])
    assert values == list(range(writers))
    assert final["meta"]["versionId"] == str(writers + 1)
    history = httpx.get(f"{server}/ResearchStudy/race/_history", params={"_count": 100}).json()
    assert history["total"] == writers + 1
    # Contention really happened: 12 writes of version 1, one wins; each loser was refused, re-read and retried.
    assert retries.count(0) == 1
    assert sum(retries) == len(refused) >= writers - 1


def test_blind_concurrent_updates_each_make_a_version(server: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}

    def put(n: int) -> int:
        body = {"resourceType": "ResearchStudy", "id": "blind", "status": "active", "title": f"writer {n}"}
        return httpx.put(f"{server}/ResearchStudy/blind", json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(put, range(16)))
    assert all(c in (200, 201) for c in codes), codes
    assert codes.count(201) == 1
    history = httpx.get(f"{server}/ResearchStudy/blind/_history", params={"_count": 100}).json()
    assert history["total"] == 16
    assert sorted(int(e["response"]["etag"][3:-1]) for e in history["entry"]) == list(range(1, 17))


def test_errors_over_http_are_outcomes(server: str) -> None:
    r = httpx.post(f"{server}/ResearchStudy", content=b"{oops",
                   headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    r = httpx.get(f"{server}/Nothing/1")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
