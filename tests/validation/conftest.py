"""Resources for the validation tests: the mapped real studies of ../shared/data/ctgov,
https://hl7.org/fhir/R4/validation.html."""
from __future__ import annotations

from typing import Any

import pytest

from fhirtrial.mapping import map_study

from ..support.shared_data import ctgov_records


def mapped_examples() -> list[dict[str, Any]]:
    """Every resource of every real record (skips, saying why, when ../shared/data/ctgov is absent)."""
    return [r for record in ctgov_records() for r in map_study(record).resources]


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return mapped_examples()


def errors(issues: list[Any]) -> list[Any]:
    return [i for i in issues if i.severity in ("error", "fatal")]
