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

from tests.support.shared_data import ctgov_params  # noqa: E402

EXAMPLES = ROOT / "fhirtrial" / "examples"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(params=ctgov_params())
def real_record(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each real record of ../shared/data/ctgov (one skipped case saying why when absent)."""
    return load(request.param)

