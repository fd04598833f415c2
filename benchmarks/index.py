"""Index-extraction throughput: resources/s overall and µs per resource per type (https://hl7.org/fhir/R4/search.html).

Usage: .venv/bin/python benchmarks/index.py [--rounds 50] [--slow]
Uses the CT.gov records in ../shared/data/ctgov through fhirtrial.mapping (tests/search/samples.py) plus the
hand-made resources; --slow measures the fhirpathpy-only indexer for comparison.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhirtrial.search.extract import FhirPathIndexer  # noqa: E402
from tests.search.samples import HAND_MADE, ctgov_all, related_for  # noqa: E402
from tests.support.shared_data import CTGOV_DIR, MISSING  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--slow", action="store_true", help="also time fhirpathpy-only evaluation")
    args = ap.parse_args()
    if not list(CTGOV_DIR.glob("NCT*.json")):
        raise SystemExit(MISSING)
    resources = ctgov_all() + HAND_MADE
    related = related_for(resources)
    studies = sum(r["resourceType"] == "ResearchStudy" for r in resources)
    for label, indexer in [("fast", FhirPathIndexer())] + ([("fhirpathpy", FhirPathIndexer(fast=False))]
                                                           if args.slow else []):
        rounds = args.rounds if label == "fast" else max(1, args.rounds // 10)
        for r in resources:  # compile plans and warm caches outside the timing
            indexer.index(r, related)
        per_type: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        started = time.perf_counter()
        for _ in range(rounds):
            for r in resources:
                t0 = time.perf_counter()
                indexer.index(r, related)
                per_type[r["resourceType"]] += time.perf_counter() - t0
                count[r["resourceType"]] += 1
        elapsed = time.perf_counter() - started
        total = len(resources) * rounds
        print(f"[{label}] {total} resources in {elapsed:.3f} s: {total / elapsed:,.0f} resources/s "
              f"({studies} real studies with {len(resources) - len(HAND_MADE)} mapped resources, plus hand-made ones)")
        mean = {t: per_type[t] / count[t] for t in per_type}
        # A typical mapped study: its ResearchStudy, PlanDefinition and Group, 2 Organizations, 1 Practitioner,
        # 2 Locations (shared sites and sponsors are written once, so real averages are lower still).
        typical = (mean["ResearchStudy"] + mean["PlanDefinition"] + mean["Group"] + 2 * mean["Organization"]
                   + mean["Practitioner"] + 2 * mean["Location"])
        print(f"  typical 8-resource study: {typical * 1e6:.0f} µs -> {1 / typical:,.0f} studies/s on one core")
        for rtype in sorted(per_type):
            params = len(indexer.plan(rtype))
            us = per_type[rtype] / count[rtype] * 1e6
            print(f"  {rtype:<18} {us:8.1f} µs/resource  {params:3d} params  {us / params:6.2f} µs/param")


if __name__ == "__main__":
    main()
