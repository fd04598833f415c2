"""Mapping throughput over the real records of ../shared/data/ctgov and the seed study (studies/s),
https://hl7.org/fhir/R4/bundle.html.

Also, in the same run, the cost of coding the criteria (issue 13): the same records mapped with the coder replaced
by the text-only characteristic fhirtrial wrote before ("before"), with a cold and a warm criteria cache ("after";
cold: the coded criteria and ConText's tokenised docs of earlier passes are forgotten).

Run: .venv/bin/python benchmarks/mapping.py [seconds-per-measure]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from fhirtrial.criteria import coder
from fhirtrial.criteria.context import get_engine
from fhirtrial.mapping import eligibility, get_tables, map_study

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


def text_only(coded, exclude, extensions):  # type: ignore[no-untyped-def]
    """The characteristic as it was before criteria were coded: the sentence alone."""
    out = {"extension": extensions} if extensions else {}
    out.update({"code": {"text": coded.text}, "valueBoolean": True, "exclude": exclude})
    return out


def _pass(records: list[dict], cold: bool) -> float:
    """One pass over the records (Bundle JSON included): studies per CPU second (the process's own time, which the
    other processes of a shared machine disturb far less than the wall clock)."""
    if cold:  # nothing of an earlier pass is reused: coded criteria nor ConText's tokenised docs
        coder.code_criterion.cache_clear()
        get_engine().clear()
    start = time.process_time()
    for record in records:
        orjson.dumps(map_study(record).bundle())
    return len(records) / (time.process_time() - start)


def coding_cost(records: list[dict], seconds: float) -> None:
    """Same run, same records, modes interleaved and the best pass of each kept (the machine is shared and noisy):
    text-only characteristics (before) against coded ones with a cleared (cold) or a filled (warm) criteria cache.
    Studies per CPU second: a pass is a few milliseconds, and process CPU time keeps the ratios steady on a busy machine."""
    coded_fn, code_fn = eligibility.characteristic, eligibility.code_criterion
    best = {"before": 0.0, "cold": 0.0, "warm": 0.0}
    start = time.perf_counter()
    while time.perf_counter() - start < 3 * seconds:
        eligibility.characteristic = text_only
        eligibility.code_criterion = lambda text: coder.CodedCriterion(text, (), "text-only")  # type: ignore
        best["before"] = max(best["before"], _pass(records, False))
        eligibility.characteristic, eligibility.code_criterion = coded_fn, code_fn
        best["cold"] = max(best["cold"], _pass(records, True))
        best["warm"] = max(best["warm"], _pass(records, False))
    before = best["before"]
    print(f"criteria coding (studies per CPU second): before {before:6.0f} | after, cold cache {best['cold']:6.0f} "
          f"({best['cold'] / before:.2f} of before) | after, warm cache {best['warm']:6.0f} ({best['warm'] / before:.2f})")


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
    start = time.perf_counter()
    coder.code_criterion("ANC >= 1,500/uL")  # the criteria table, the UCUM grammar and unit registry load once
    coder.code_criterion.cache_clear()
    print(f"criteria table + UCUM library load: {(time.perf_counter() - start) * 1000:.1f} ms (once per process)")
    locations = sum(len(r["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])) for r in records)
    print(f"records: {len(records)} ({locations} locations in all)")
    for serialise in (False, True):
        rate, done = measure(records, seconds, serialise)
        label = "map + Bundle JSON" if serialise else "map only"
        print(f"{label:18s}: {rate:8.0f} studies/s ({done} studies)")
    coding_cost(records, seconds)
    for record in records:
        nct = record["protocolSection"]["identificationModule"]["nctId"]
        rate, _ = measure([record], seconds / 10, True)
        print(f"  {nct}: {rate:8.0f} studies/s")


if __name__ == "__main__":
    main()
