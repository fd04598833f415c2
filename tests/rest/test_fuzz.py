"""schemathesis over every operation of /openapi.json against a live ``fhirtrial serve``: no 5xx, and every
response conforms to the schema (status code, content type, body), https://schemathesis.readthedocs.io.

A bounded run (about 30 s); ``benchmarks/fuzz.sh`` runs a long one. Writes are exercised with the API token.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from .test_server_process import _free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fuzz-token"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def live(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    import time

    import httpx

    port = _free_port()
    env = {**os.environ, "FHIRTRIAL_DATABASE_URL": database_url, "FHIRTRIAL_API_TOKEN": TOKEN}
    env.pop("FHIRTRIAL_BASE_URL", None)
    # The log goes to a file: a pipe nobody reads would fill with logged errors and stall the server.
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "fhirtrial.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{origin}/fhir/metadata", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(tmp_path / 'server.log').read_text()[-3000:]}")
            time.sleep(0.1)
        yield origin
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def schemathesis_command(origin: str, *, max_examples: int, seed: int | None = None) -> list[str]:
    command = [str(ST) if ST.exists() else shutil.which("st") or "st", "run", f"{origin}/openapi.json",
               "--url", origin, "--checks", CHECKS, "--header", f"Authorization: Bearer {TOKEN}",
               "--max-examples", str(max_examples), "--workers", "1", "--no-color",
               "--phases", "examples,coverage,fuzzing", "--request-timeout", "30"]
    if seed is not None:
        command += ["--seed", str(seed)]
    return command


def test_schemathesis_finds_nothing(live: str) -> None:
    proc = subprocess.run(schemathesis_command(live, max_examples=8, seed=7), capture_output=True, cwd=ROOT,
                          timeout=300, check=False)
    out = proc.stdout.decode(errors="replace")
    assert "operations" in out.lower() or "Selected" in out, out[-3000:] + proc.stderr.decode()[-2000:]
    assert proc.returncode == 0, out[-12000:]
