"""Several server processes on one database: a read through one never answers older than a write acknowledged by
another (https://hl7.org/fhir/R4/http.html#read, #update), with each process's read cache on."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ..support.server import ServerProcess

TOKEN = "fresh-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
WRITERS = 3
ROUNDS = 100  # writes per writer: 300 write-then-read checks across the servers


def _study(rid: str, n: int) -> dict[str, Any]:
    return {"resourceType": "ResearchStudy", "id": rid, "status": "active", "title": f"round {n}"}


def test_no_stale_read_across_processes(database_url: str, tmp_path: Path) -> None:
    """Writers put through one server and read back at once through the other (its cache warm with the old
    version); readers keep both servers' caches busy meanwhile. Server B runs two worker processes."""
    with ServerProcess(database_url, tmp_path / "a.log", token=TOKEN) as a, \
            ServerProcess(database_url, tmp_path / "b.log", token=TOKEN, workers=2) as b:
        failures: list[str] = []
        stop = threading.Event()

        def writer(w: int) -> None:
            rid = f"fresh-{w}"
            with httpx.Client(headers=HEADERS, timeout=30) as client:
                for n in range(ROUNDS):
                    write, read = (a, b) if (n + w) % 2 else (b, a)
                    assert client.get(f"{read.base}/ResearchStudy/{rid}").status_code in (200, 404)  # warm
                    put = client.put(f"{write.base}/ResearchStudy/{rid}", json=_study(rid, n))
                    if put.status_code not in (200, 201):
                        failures.append(f"PUT {put.status_code} {put.text[:200]}")
                        return
                    version = put.headers["etag"]
                    got = client.get(f"{read.base}/ResearchStudy/{rid}")
                    if got.status_code != 200 or got.headers["etag"] != version \
                            or got.json()["title"] != f"round {n}":
                        failures.append(f"{rid}: wrote {version} 'round {n}', read {got.status_code} "
                                        f"{got.headers.get('etag')} {got.text[:120]}")
                        return

        def reader() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    for server in (a, b):
                        for w in range(WRITERS):
                            client.get(f"{server.base}/ResearchStudy/fresh-{w}")

        readers = [threading.Thread(target=reader) for _ in range(2)]
        writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join(300)
        stop.set()
        for t in readers:
            t.join(30)
        assert not failures, failures[:5]
        for w in range(WRITERS):  # every write landed: the last version of each is the ROUNDS-th
            assert httpx.get(f"{a.base}/ResearchStudy/fresh-{w}").headers["etag"] == f'W/"{ROUNDS}"'


def test_postgres_reads_are_served_from_the_cache(database_url: str, repo: Any, tmp_path: Path) -> None:
    """While nothing is committed, a repeated read is answered without touching the resource table (it is
    locked here); once something is, the next read goes back to the database."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's cache is proved by tests/store/test_read_cache.py")
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as server:
        url = f"{server.base}/ResearchStudy/cached"
        assert httpx.put(url, json=_study("cached", 1), headers=HEADERS).status_code == 201
        assert httpx.get(url).status_code == 200  # now cached
        with repo.engine.connect() as locker:
            locker.begin()
            locker.execute(sa.text("LOCK TABLE resource IN ACCESS EXCLUSIVE MODE"))
            try:
                hit = httpx.get(url, timeout=5)  # a SELECT would wait for the lock: a timeout
            finally:
                locker.rollback()
        assert hit.status_code == 200 and hit.json()["title"] == "round 1"
        assert httpx.put(url, json=_study("cached", 2), headers=HEADERS).status_code == 200
        with repo.engine.connect() as locker:
            locker.begin()
            locker.execute(sa.text("LOCK TABLE resource IN ACCESS EXCLUSIVE MODE"))
            try:
                with pytest.raises(httpx.ReadTimeout):  # the commit emptied the cache: this read waits
                    httpx.get(url, timeout=1)
            finally:
                locker.rollback()
        assert httpx.get(url).json()["title"] == "round 2"
