"""Shared fixtures: real API v2 records from ../shared/data/ctgov (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ctgov"
if not REAL_DIR.is_dir():
    REAL_DIR = Path("/work/shared/data/ctgov")


@pytest.fixture(scope="session")
def real_files() -> list[Path]:
    files = sorted(REAL_DIR.glob("*.json"))
    if not files:
        pytest.skip("real ClinicalTrials.gov records not available")
    return files


@pytest.fixture(scope="session")
def real_records(real_files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(f.read_text(encoding="utf-8")) for f in real_files]


def nct(record: dict[str, Any]) -> str:
    return record["protocolSection"]["identificationModule"]["nctId"]
