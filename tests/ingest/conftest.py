"""Shared fixtures: real API v2 records from ../shared/data/ctgov (https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..support.shared_data import ctgov_files


@pytest.fixture(scope="session")
def real_files() -> list[Path]:
    return ctgov_files()  # skips, saying why, when ../shared/data/ctgov is absent


@pytest.fixture(scope="session")
def real_records(real_files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(f.read_text(encoding="utf-8")) for f in real_files]


def nct(record: dict[str, Any]) -> str:
    return record["protocolSection"]["identificationModule"]["nctId"]
