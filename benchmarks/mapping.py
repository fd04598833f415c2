"""Mapping throughput over the real records of ../shared/data/ctgov and the seed study (studies/s),
https://hl7.org/fhir/R4/bundle.html.

Run: .venv/bin/python benchmarks/mapping.py [seconds-per-measure]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from fhirtrial.mapping import get_tables, map_study

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.shared_data import CTGOV_DIR, MISSING  # noqa: E402


def measure(records: list[dict], seconds: float, serialise: bool) -> tuple[float, int]:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for record in records:
            mapped = map_study(record)
            if serialise:
                orjson.dumps(mapped.bundle())
            done += 1
    return done / (time.perf_counter() - start), done


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    files = sorted(CTGOV_DIR.glob("NCT*.json"))
    if not files:
        raise SystemExit(MISSING)
    records = [orjson.loads(p.read_bytes()) for p in files]
    records.append(orjson.loads((ROOT / "fhirtrial" / "examples" / "NCT01297972.json").read_bytes()))
    start = time.perf_counter()
    get_tables()
    print(f"table load + validation: {(time.perf_counter() - start) * 1000:.1f} ms (once per process)")
    locations = sum(len(r["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])) for r in records)
    print(f"records: {len(records)} ({locations} locations in all)")
    for serialise in (False, True):
        rate, done = measure(records, seconds, serialise)
        label = "map + Bundle JSON" if serialise else "map only"
        print(f"{label:18s}: {rate:8.0f} studies/s ({done} studies)")
    for record in records:
        nct = record["protocolSection"]["identificationModule"]["nctId"]
        rate, _ = measure([record], seconds / 10, True)
        print(f"  {nct}: {rate:8.0f} studies/s")


if __name__ == "__main__":
    main()
