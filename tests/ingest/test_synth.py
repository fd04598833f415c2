"""``fhirtrial synth``: deterministic, plausible, and readable back by iter_records."""
from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fhirtrial.cli.main import app
from fhirtrial.ingest import iter_records
from fhirtrial.ingest.synth import generate
from fhirtrial.ingest.synth_files import write_records

runner = CliRunner()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", [".ndjson", ".zip"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, suffix: str) -> None:
    paths = [tmp_path / f"{name}{suffix}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (5, 5, 6)):
        result = runner.invoke(app, ["synth", "--studies", "300", "--seed", str(seed), "-o", str(path)])
        assert result.exit_code == 0, result.output
    assert _digest(paths[0]) == _digest(paths[1]) != _digest(paths[2])


def test_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    assert list(generate(50, 3)) == list(generate(120, 3))[:50]


def test_bad_output_suffix_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "--studies", "3", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return list(generate(5000, 11))


def _p(r: dict[str, Any]) -> dict[str, Any]:
    return r["protocolSection"]


def test_ids_unique_in_the_synthetic_range(sample: list[dict[str, Any]]) -> None:
    ids = [_p(r)["identificationModule"]["nctId"] for r in sample]
    assert len(set(ids)) == len(ids) and all(i.startswith("NCT9") and len(i) == 11 for i in ids)


def test_distributions_are_plausible(sample: list[dict[str, Any]]) -> None:
    full = [r for r in sample if "designModule" in _p(r)]
    partial = len(sample) - len(full)
    assert 0.005 < partial / len(sample) < 0.05
    types = Counter(_p(r)["designModule"]["studyType"] for r in full)
    assert 0.70 < types["INTERVENTIONAL"] / len(full) < 0.84 and 0.17 < types["OBSERVATIONAL"] / len(full) < 0.28
    statuses = Counter(_p(r)["statusModule"]["overallStatus"] for r in full)
    assert statuses.most_common(1)[0][0] == "COMPLETED" and len(statuses) >= 8
    phases = Counter(p for r in full for p in _p(r)["designModule"].get("phases", []))
    assert {"NA", "PHASE1", "PHASE2", "PHASE3", "PHASE4"} <= set(phases)

    sites = [len(_p(r).get("contactsLocationsModule", {}).get("locations", [])) for r in full]
    with_sites = [s for s in sites if s]
    assert max(with_sites) <= 500 and min(with_sites) >= 1
    assert sum(s <= 5 for s in with_sites) / len(with_sites) > 0.8  # most studies: a handful of sites
    assert max(with_sites) >= 50  # ...and a heavy tail
    conditions = [len(_p(r)["conditionsModule"]["conditions"]) for r in full]
    assert 1 <= min(conditions) and max(conditions) <= 5 and statistics.median(conditions) == 1

    criteria = [_p(r)["eligibilityModule"]["eligibilityCriteria"] for r in full]
    bullets = [c.count("\n* ") + c.count("\n1. ") for c in criteria]
    assert 5 <= statistics.median([c.count("\n") for c in criteria]) <= 40
    assert 500 < statistics.median(len(c) for c in criteria) < 4000
    assert sum(b > 0 for b in bullets) / len(criteria) > 0.9
    assert any("\n  * " in c or "\n   1. " in c for c in criteria)  # nested items
    assert any(c.startswith("## ") for c in criteria)  # markdown headings
    assert any(any(ord(ch) > 127 for ch in c) for c in criteria)  # accents and symbols


def test_sponsor_and_facility_pools_repeat(sample: list[dict[str, Any]]) -> None:
    full = [r for r in sample if "sponsorCollaboratorsModule" in _p(r)]
    sponsors = Counter(_p(r)["sponsorCollaboratorsModule"]["leadSponsor"]["name"] for r in full)
    assert sponsors.most_common(1)[0][1] > 100 and len(sponsors) > 20
    sites = Counter((loc.get("facility"), loc.get("city")) for r in full
                    for loc in _p(r).get("contactsLocationsModule", {}).get("locations", []))
    assert sum(n for n in sites.values() if n > 1) > len(sites)  # most site mentions are repeats


def test_zip_shape_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "bulk.zip"
    records = list(generate(200, 2))
    write_records(records, path)
    items = list(iter_records([path]))
    assert all(i.ok for i in items) and [i.record for i in items] == records
    assert all(i.origin.member == f"{i.nct_id}.json" for i in items)


_PEAK_SCRIPT = """
import sys, tracemalloc
from pathlib import Path
from fhirtrial.ingest import iter_records
limit = int(sys.argv[2])
tracemalloc.start()
count = 0
for item in iter_records([Path(sys.argv[1])]):
    count += item.ok
    if count >= limit:
        break
print(count, tracemalloc.get_traced_memory()[1])
"""


def test_streaming_a_big_zip_holds_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "bulk.zip"
    write_records(generate(20000, 4), path)

    def peak_for(limit: int) -> tuple[int, int]:
        # A fresh interpreter: threads other tests leave behind would otherwise show in tracemalloc's peak.
        out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path), str(limit)], capture_output=True,
                             text=True, check=True).stdout.split()
        return int(out[0]), int(out[1])

    small_count, small_peak = peak_for(1000)
    count, peak = peak_for(20000)
    assert count == 20000 and small_count == 1000
    # Flat memory: twenty times the studies, about the same peak (a single big study dominates it).
    assert peak < 8 * 1024 * 1024 and peak < small_peak * 2 + 1024 * 1024
