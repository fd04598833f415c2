"""Time the validator per resource: ``python benchmarks/validate.py [--synthetic N]``.

https://hl7.org/fhir/R4/validation.html ; the importer budget is >1000 studies/s of ~8 resources each. The
resources are the mapped real studies of ../shared/data/ctgov (when present) or N synthetic studies. Columns:
``structure`` the one pass along the R4 definitions (fast_structure.walk), ``content`` bindings + references +
invariants of the elements it walked, ``validate`` both (what every write runs), ``r4b`` the fhir.resources R4B
models (the test oracle, what REST ran before) and ``r4b / validate``.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhirtrial.ingest.synth import generate  # noqa: E402
from fhirtrial.mapping import map_study  # noqa: E402
from fhirtrial.validation import validate, validate_content  # noqa: E402
from fhirtrial.validation.fast_structure import walk  # noqa: E402
from tests.support.r4b import check_structure as r4b_structure  # noqa: E402
from tests.support.shared_data import CTGOV_DIR  # noqa: E402


def resources(synthetic: int) -> tuple[str, list[dict[str, Any]]]:
    files = sorted(CTGOV_DIR.glob("NCT*.json"))
    if files and not synthetic:
        return str(CTGOV_DIR), [r for p in files for r in map_study(orjson.loads(p.read_bytes())).resources]
    n = synthetic or 200
    return f"{n} synthetic studies", [r for record in generate(n, 20240607) for r in map_study(record).resources]


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
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic studies instead of the examples")
    args = parser.parse_args()
    source, batch = resources(args.synthetic)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in batch:
        by_type[r["resourceType"]].append(r)
    print(f"{len(batch)} resources from {source}")
    print(f"{'type':<20}{'n':>5}{'structure µs':>14}{'content µs':>12}{'validate µs':>13}{'r4b µs':>10}"
          f"{'r4b / validate':>16}")
    for rtype, items in sorted(by_type.items()) + [("ALL", batch)]:
        structure = per_resource_us(walk, items, args.rounds)
        content = per_resource_us(validate_content, items, args.rounds)
        full = per_resource_us(validate, items, args.rounds)
        r4b = per_resource_us(r4b_structure, items, args.rounds)
        print(f"{rtype:<20}{len(items):>5}{structure:>14.1f}{content:>12.1f}{full:>13.1f}{r4b:>10.1f}"
              f"{r4b / full:>15.1f}x")
    print("content includes its own structure pass (fast_structure.walk gives it the elements to check)")


if __name__ == "__main__":
    main()
