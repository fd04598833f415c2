"""Shared fixtures for the CT.gov -> FHIR mapping tests."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # lets the tests import tests.support
    sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "examples"
REAL = sorted((EXAMPLES / "ctgov").glob("NCT*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(params=REAL, ids=[p.stem for p in REAL])
def real_record(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)
