"""A digest of the coded criteria and mapped Bundles of the real records in ../shared/data (ctgov, ctgov-extra,
ctgov-covid): speed work on fhirtrial/criteria/ must leave it unchanged, https://hl7.org/fhir/R4/group.html.

Each criterion is coded twice, in record order with a cold cache and alone with a cleared cache, and both runs
must agree (the coded output may not depend on what was coded before). Compare the printed digests before and after
a change.

Run: .venv/bin/python benchmarks/coding_digest.py [--show]
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import orjson

from fhirtrial.criteria import coder
from fhirtrial.criteria.fhir import characteristic
from fhirtrial.criteria.split import parse_criteria
from fhirtrial.mapping import map_study

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
CORPORA = ("ctgov", "ctgov-extra", "ctgov-covid")


def _criteria(record: dict) -> list[str]:
    text = ((record.get("protocolSection") or {}).get("eligibilityModule") or {}).get("eligibilityCriteria")
    return [c.text for c in parse_criteria(text)] if isinstance(text, str) else []


def _coded(text: str) -> bytes:
    return orjson.dumps([repr(coder.code_criterion(text)), characteristic(coder.code_criterion(text), False, [])],
                        option=orjson.OPT_SORT_KEYS)


def main() -> None:
    files = [p for corpus in CORPORA for p in sorted((DATA / corpus).glob("NCT*.json"))]
    if not files:
        raise SystemExit(f"no records in {DATA}")
    records = [orjson.loads(p.read_bytes()) for p in files]
    texts = [t for r in records for t in _criteria(r)]
    coder.code_criterion.cache_clear()
    in_order = [_coded(t) for t in texts]
    alone = []
    for t in texts:
        coder.code_criterion.cache_clear()
        alone.append(_coded(t))
    if alone != in_order:
        bad = next(i for i, (a, b) in enumerate(zip(alone, in_order)) if a != b)
        raise SystemExit(f"criterion {bad} codes differently alone and in order: {texts[bad][:80]!r}")
    criteria = hashlib.sha256(b"\n".join(in_order)).hexdigest()
    coder.code_criterion.cache_clear()
    bundles = hashlib.sha256(b"\n".join(orjson.dumps(map_study(r).bundle(), option=orjson.OPT_SORT_KEYS)
                                        for r in records)).hexdigest()
    print(f"records: {len(records)}, criteria: {len(texts)}")
    print(f"coded criteria digest: {criteria}")
    print(f"mapped bundles digest: {bundles}")
    if "--show" in sys.argv:
        for t, c in zip(texts, in_order):
            print(c.decode())


if __name__ == "__main__":
    main()
