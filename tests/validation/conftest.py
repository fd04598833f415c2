"""Resources for the validation tests: the mapped example studies, https://hl7.org/fhir/R4/validation.html."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from fhirtrial.mapping import map_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ctgov"


def mapped_examples() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        out.extend(map_study(orjson.loads(path.read_bytes())).resources)
    return out


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return mapped_examples()


def errors(issues: list[Any]) -> list[Any]:
    return [i for i in issues if i.severity in ("error", "fatal")]
