"""The read fast path never blocks the event loop on PostgreSQL: a read waiting on the database does not delay
other requests (https://hl7.org/fhir/R4/http.html#read)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ..support.server import ServerProcess

TOKEN = "loop-token"


def test_a_slow_read_does_not_delay_metadata(database_url: str, repo: Any, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's fast path reads on the loop by design: a WAL read never waits for a writer")
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    # Without the read cache, which would answer the repeated read without the database.
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN,
                       env={"FHIRTRIAL_READ_CACHE_MB": "0"}) as server:
        url = f"{server.base}/ResearchStudy/slow"
        body = {"resourceType": "ResearchStudy", "id": "slow", "status": "active"}
        assert httpx.put(url, json=body, headers=headers).status_code == 201
        assert httpx.get(url).status_code == 200
        # The read's SELECT waits behind an exclusive lock held by another connection: a slow query.
        with repo.engine.connect() as locker:
            locker.begin()
            locker.execute(sa.text("LOCK TABLE resource IN ACCESS EXCLUSIVE MODE"))
            answers: dict[str, Any] = {}
            reader = threading.Thread(target=lambda: answers.setdefault("read", httpx.get(url, timeout=60)))
            reader.start()
            try:
                time.sleep(0.5)  # the read is now waiting on the lock inside the server
                started = time.monotonic()
                metadata = httpx.get(f"{server.base}/metadata", timeout=10)
                waited = time.monotonic() - started
                assert metadata.status_code == 200 and reader.is_alive(), "the read did not wait on the lock"
            finally:
                locker.rollback()
            reader.join(30)
        assert waited < 5, f"/metadata waited {waited:.1f} s behind a blocked read"
        read = answers["read"]
        assert read.status_code == 200 and read.json()["id"] == "slow"
