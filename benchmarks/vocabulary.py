"""Cost of the concepts contract per criterion over every criterion of the real records in ../shared/data.

https://github.com/medspacy/medspacy (ConText). Prints the one-time loads (vocabulary, matcher, ConText pipeline,
ICD-10-CM hierarchy) and µs per criterion for find_mentions (dictionary matching, then ConText only on criteria
with a mention) and for qualifiers() of one span, warm.

Run: .venv/bin/python benchmarks/vocabulary.py [passes]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
CORPORA = ("ctgov", "ctgov-extra", "ctgov-covid", "match/trials")


def criteria() -> list[str]:
    out = []
    for corpus in CORPORA:
        for path in sorted((SHARED / corpus).glob("NCT*.json")):
            record = orjson.loads(path.read_bytes())
            text = record.get("protocolSection", {}).get("eligibilityModule", {}).get("eligibilityCriteria") or ""
            out += [line.strip(" *-\t") for line in text.splitlines() if line.strip(" *-\t")]
    return out


def timed(label: str, fn) -> object:
    start = time.perf_counter()
    result = fn()
    print(f"{label}: {(time.perf_counter() - start) * 1000:.0f} ms (once per process)")
    return result


def main() -> None:
    if not (SHARED / "ctgov").is_dir():
        sys.exit("../shared/data is absent: nothing to measure")
    passes = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    texts = criteria()
    from fhirtrial.criteria import concepts
    from fhirtrial.criteria.context import get_engine
    from fhirtrial.criteria.hierarchy import get_hierarchy
    from fhirtrial.criteria.matcher import get_matcher
    from fhirtrial.criteria.vocabulary import get_vocabulary

    vocabulary = timed("vocabulary load + validation", get_vocabulary)
    timed("matcher (token trie)", get_matcher)
    timed("ConText pipeline (spaCy blank English + medspaCy)", get_engine)
    timed("hierarchy", get_hierarchy)
    timed("ICD-10-CM classification (simple-icd-10-cm, on the first ICD subsumption)",
          lambda: concepts.subsumes(concepts.Coding(concepts.MESH, "D003920", ""),
                                    concepts.Coding(concepts.ICD10CM, "E11.9", "")))
    print(f"vocabulary: {len(vocabulary.concepts)} concepts, {sum(c.match for c in vocabulary.concepts)} matched")
    with_mentions = sum(bool(get_matcher().find(t)) for t in texts)
    print(f"criteria: {len(texts)} lines of {len(CORPORA)} corpora, {with_mentions} with a mention "
          f"({100 * with_mentions / len(texts):.0f} %)")

    def per_criterion(fn) -> list[float]:
        runs = []
        for _ in range(passes):
            get_engine()._docs.clear()  # each pass pays the spaCy tokenisation again, as mapping a new record would
            start = time.perf_counter()
            for text in texts:
                fn(text)
            runs.append((time.perf_counter() - start) / len(texts) * 1e6)
        return runs

    match_only = per_criterion(get_matcher().find)
    mentions = per_criterion(concepts.find_mentions)
    spans = per_criterion(lambda t: concepts.qualifiers(t, 0, min(len(t), 12)))
    for label, runs in (("matching only", match_only), ("find_mentions (matching + ConText)", mentions),
                        ("qualifiers() of one span", spans)):
        print(f"{label}: {min(runs):.0f} µs/criterion best, {statistics.median(runs):.0f} median of {passes} passes")


if __name__ == "__main__":
    main()
