"""schemathesis over every operation of /openapi.json against a live ``fhirtrial serve``: no 5xx, and every
response conforms to the schema (status code, content type, body), https://schemathesis.readthedocs.io.

A bounded run (about 30 s); ``benchmarks/fuzz.sh`` runs a long one. Writes are exercised with the API token.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fuzz-token"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def live(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        yield proc.origin


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
