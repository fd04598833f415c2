"""Real ClinicalTrials.gov API v2 records from other public repositories, read from ``../shared/data/ctgov`` beside
the checkout (never copied into the project); tests that need them skip with the reason when they are absent
(https://clinicaltrials.gov/data-api/api)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()
CTGOV_DIR = SHARED_DATA / "ctgov"
MISSING = (f"the real ClinicalTrials.gov records are absent: no NCT*.json in {CTGOV_DIR} "
           f"(../shared/data/ctgov beside the checkout)")


def ctgov_files() -> list[Path]:
    """The real records' files, sorted; skips the calling test when there are none."""
    files = sorted(CTGOV_DIR.glob("NCT*.json"))
    if not files:
        pytest.skip(MISSING)
    return files


def ctgov_records() -> list[dict[str, Any]]:
    """The real records, parsed, in file order; skips the calling test when there are none."""
    return [orjson.loads(f.read_bytes()) for f in ctgov_files()]


def ctgov_params() -> list[Any]:
    """For ``parametrize``: one param per real record file, or a single skipped one saying why there are none."""
    files = sorted(CTGOV_DIR.glob("NCT*.json"))
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-shared-data")]
    return [pytest.param(f, id=f.stem) for f in files]


def load_seed_and_real_studies(repo: Any, base: str) -> int:
    """Store the seed study and every real record through the transaction interaction (skips when the real
    records are absent); returns how many studies were stored."""
    from fhirtrial.loading import SEED_STUDY, store_study

    records = [orjson.loads(SEED_STUDY.read_bytes()), *ctgov_records()]
    for record in records:
        store_study(repo, record, base)
    return len(records)
