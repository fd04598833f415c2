"""Time the validator per resource on the mapped real studies of ../shared/data/ctgov: ``python benchmarks/validate.py``.

https://hl7.org/fhir/R4/validation.html ; the importer budget is >1000 studies/s of ~8 resources each.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import orjson

from fhirtrial.mapping import map_study
from fhirtrial.validation import check_structure, validate, validate_content
from fhirtrial.validation.fast_structure import check_structure_fast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.shared_data import CTGOV_DIR, MISSING  # noqa: E402


def resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    files = sorted(CTGOV_DIR.glob("NCT*.json"))
    if not files:
        raise SystemExit(MISSING)
    for path in files:
        out.extend(map_study(orjson.loads(path.read_bytes())).resources)
    return out


def per_resource_us(fn: Callable[[dict[str, Any]], Any], batch: list[dict[str, Any]], rounds: int) -> float:
    fn(batch[0])  # warm the caches (compiled invariants, tables)
    start = time.perf_counter()
    for _ in range(rounds):
        for resource in batch:
            fn(resource)
    return (time.perf_counter() - start) / (rounds * len(batch)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    batch = resources()
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in batch:
        by_type[r["resourceType"]].append(r)
    print(f"{len(batch)} resources from {CTGOV_DIR}")
    print(f"{'type':<20}{'n':>5}{'content µs':>14}{'structure µs':>14}{'fast µs':>10}{'ratio':>8}"
          f"{'validate µs':>14}")
    for rtype, items in sorted(by_type.items()) + [("ALL", batch)]:
        content = per_resource_us(validate_content, items, args.rounds)
        structure = per_resource_us(check_structure, items, args.rounds)
        fast = per_resource_us(check_structure_fast, items, args.rounds)
        full = per_resource_us(validate, items, args.rounds)
        print(f"{rtype:<20}{len(items):>5}{content:>14.1f}{structure:>14.1f}{fast:>10.1f}{structure / fast:>7.1f}x"
              f"{full:>14.1f}")
    print("fast = fast_structure.check_structure_fast (importer); ratio = structure / fast")
    print("content = JSON shape + ele-1 + required bindings + references + invariants")


if __name__ == "__main__":
    main()
