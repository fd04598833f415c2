"""Real FHIR clients against a real ``fhirtrial serve`` process (uvicorn) on the database under test (issue 7)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

TOKEN = "client-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[2]
N_BULK = 57  # Organizations for the paging scenarios (several pages at _count=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_url: str, repo: Any) -> Iterator[str]:
    """``fhirtrial serve`` with the example studies and N_BULK Organizations loaded."""
    from fhirtrial.loading import load_examples

    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    load_examples(repo, ROOT / "examples", base)
    with repo.unit_of_work() as uow:
        for i in range(N_BULK):
            uow.update("Organization", f"bulk-{i:03d}", {"resourceType": "Organization", "id": f"bulk-{i:03d}",
                                                          "name": f"Bulk org {i:03d}", "alias": ["bulk"]})
    env = {**os.environ, "FHIRTRIAL_DATABASE_URL": database_url, "FHIRTRIAL_API_TOKEN": TOKEN}
    env.pop("FHIRTRIAL_BASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "fhirtrial.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/metadata", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
