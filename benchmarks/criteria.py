"""Criteria coding against the hand-made labels (tests/criteria/labels.jsonl): precision and recall per category.

Codes: an emitted LOINC / MeSH / ICD-10-CM coding is right when the label of that criterion lists it; concepts of
categories whose labels carry no codes (pregnancy, breastfeeding, contraception, age, sex, and codes of fhirtrial's
own CodeSystem) are right when the label has a concept of that category. Thresholds (value, unit, comparator; ranges;
multiples of the normal limits) are compared with the labelled concept they code, units through UCUM. Also prints how
many criteria of the 154 real records get at least one code, how many labelled criteria get at least one correct
code (an emitted coding the label lists, or a concept of an uncoded category the label has), the estimate of that
share for the 154 records (share coded x share of the coded registry-folder labels with a correct code), and the
false positives for review.

Unjudged, not counted either way: a MeSH code emitted for a concept whose MeSH coding the labeller left out because
the descriptor could not be verified (the label's note says "MeSH coding left out … for: …", and that concept
carries no MeSH coding; see tests/criteria/LABELS.md). They are listed for review.

Run: .venv/bin/python benchmarks/criteria.py [--labels FILE] [--show N] [--half registry|trials]
"""
from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from fhirtrial.criteria.coder import code_criterion
from fhirtrial.criteria.model import CONCEPT_SYSTEM, Part
from fhirtrial.criteria.split import parse_criteria
from fhirtrial.criteria.tally import Tally
from fhirtrial.criteria.units import convert

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
LABELS = ROOT / "tests" / "criteria" / "labels.jsonl"
UNCODED = {"pregnancy", "breastfeeding", "contraception", "age", "sex"}
# Two halves of the labels drawn independently, to check that a rule tuned on one generalises to the other.
HALVES = {"registry": ("ctgov", "ctgov-extra", "ctgov-covid"), "trials": ("match/trials",)}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _segments(label: dict[str, Any], cache: dict[tuple[str, str], list[Any]]) -> list[tuple[str, int, int]] | None:
    """The text the label's anchor names, as (criterion text, start, end) segments to judge: the sub-item ("- ...")
    holding the anchor when the label is about one sub-item of a list; None when the anchor names no criterion."""
    key = (label["corpus"], label["nct"])
    if key not in cache:
        path = DATA / label["corpus"] / f"{label['nct']}.json"
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        text = ((record.get("protocolSection") or {}).get("eligibilityModule") or {}).get("eligibilityCriteria") or ""
        cache[key] = parse_criteria(text)
    criteria = cache[key]
    anchor = _norm(label["anchor"]).lstrip("-*• ")
    found = [c.text for c in criteria if anchor in _norm(c.text)]
    if len(found) == 1:
        text = found[0]
        start = 0
        for line in text.split("\n"):
            if start and anchor in _norm(line):
                return [(text, start, start + len(line))]
            start += len(line) + 1
        return [(text, 0, len(text))]
    if found:
        return None
    # An anchor on a sub-heading or lead-in line ("Symptoms:", "Suspected COVID-19 with one of:") labels that line,
    # which the splitter keeps as the group of the criteria below it, not as a criterion: the items under it are
    # other criteria, unlabelled, so nothing is judged against this label (counted as not found).
    return None


def _codes(part: Part) -> set[str]:
    return {f"{c.system}|{c.code}" for c in part.codings if c.system != CONCEPT_SYSTEM}


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-6 * max(1, abs(b)))


def _value_in(value: float | None, unit: str | None, target: str | None) -> float | None:
    if value is None or unit == target or unit is None or target is None:
        return value
    return convert(value, unit, target)


def threshold_right(part: Part, concept: dict[str, Any]) -> bool:
    """Whether the part's value says what the labelled concept says (comparator, number, unit)."""
    unit = concept.get("unit")
    if "uln" in concept or "lln" in concept:
        return _same(part.uln, concept.get("uln")) and _same(part.lln, concept.get("lln")) and \
            (part.comparator or "=") == concept.get("comparator", "=")
    if part.category in ("age", "performance") or "low" in concept or "high" in concept:
        low, high = concept.get("low"), concept.get("high")
        if "value" in concept and "comparator" in concept:  # a one-sided threshold written as a value
            low, high = (concept["value"], None) if concept["comparator"].startswith(">") else (None, concept["value"])
        return _same(_value_in(part.low, part.unit, unit), low) and _same(_value_in(part.high, part.unit, unit), high)
    if part.value is None:
        return False
    return _same(_value_in(part.value, part.unit, unit), concept.get("value")) and \
        (part.comparator or "=") == concept.get("comparator", "=")


MESH_SYSTEM = "http://terminology.hl7.org/CodeSystem/MSH"
_WORD = re.compile(r"[a-z0-9]{3,}")


def _unverified(code: str, part: Part, said: str, label: dict[str, Any]) -> bool:
    """A MeSH code for a concept whose MeSH coding the labeller left out (descriptor not verified)."""
    if not code.startswith(MESH_SYSTEM + "|") or "MeSH coding left out" not in label.get("note", ""):
        return False
    words = set(_WORD.findall(said.lower()))
    return any(c["category"] == part.category and not any(x.startswith(MESH_SYSTEM) for x in c.get("codings") or ())
               and words & set(_WORD.findall(c["name"].lower())) for c in label.get("concepts") or [])


def _matches(part: Part, concept: dict[str, Any]) -> bool:
    listed = set(concept.get("codings") or ())
    if listed and _codes(part):
        return bool(_codes(part) & listed)
    return part.category == concept["category"]


def evaluate(labels: list[dict[str, Any]], show: int, records_coded: float | None = None) -> None:
    """Precision and recall per category; ``records_coded``: the share of the 154 records' criteria with a code,
    for the estimate of the share with a correct one."""
    cache: dict[tuple[str, str], list[Any]] = {}
    code_tp: Counter[str] = Counter()
    code_fp: Counter[str] = Counter()
    recall_hit: Counter[str] = Counter()
    recall_all: Counter[str] = Counter()
    thr = Counter()
    false_positives: dict[str, list[str]] = defaultdict(list)
    unjudged: list[str] = []
    wrong_thresholds: list[str] = []
    missing = 0
    judged = coded = right = 0  # labelled criteria judged; with a part; with at least one correct code
    registry = Counter()  # the same for the labels of the registry folders (the 154 records' corpus)
    for label in labels:
        segments = _segments(label, cache)
        if segments is None:
            missing += 1
            continue
        pairs = [(text, p) for text, lo, hi in segments for p in code_criterion(text).parts if lo <= p.start < hi]
        parts = [p for _, p in pairs]
        concepts = label.get("concepts") or []
        listed = {c for concept in concepts for c in concept.get("codings") or ()}
        judged += 1
        coded += bool(pairs)
        tp_before = sum(code_tp.values())
        for text, part in pairs:
            codes = _codes(part)
            if codes and part.category not in UNCODED:
                for code in sorted(codes):
                    if code in listed:
                        code_tp[part.category] += 1
                    elif _unverified(code, part, text[part.start:part.end], label):
                        unjudged.append(f"{label['nct']} {code} '{text[part.start:part.end]}'")
                    else:
                        code_fp[part.category] += 1
                        false_positives[part.category].append(f"{label['nct']} {code} '{text[part.start:part.end]}'")
            else:
                if any(c["category"] == part.category for c in concepts):
                    code_tp[part.category] += 1
                else:
                    code_fp[part.category] += 1
                    false_positives[part.category].append(f"{label['nct']} {part.category} '{text[part.start:part.end]}'")
            if part.has_value:
                thr["emitted"] += 1
                if any(_matches(part, c) and threshold_right(part, c) for c in concepts):
                    thr["right"] += 1
                else:
                    said = [{k: v for k, v in c.items() if k in ("name", "comparator", "value", "low", "high", "unit",
                                                                  "uln", "lln")} for c in concepts if _matches(part, c)]
                    wrong_thresholds.append(f"{label['nct']} '{text[part.start:part.end]}': {part.comparator} "
                                            f"{part.value} [{part.low}, {part.high}] {part.unit} uln={part.uln} "
                                            f"lln={part.lln}; label: {said}")
        correct = sum(code_tp.values()) > tp_before
        right += correct
        if label["corpus"] in HALVES["registry"]:
            registry["judged"] += 1
            registry["coded"] += bool(pairs)
            registry["right"] += correct
        for concept in concepts:
            recall_all[concept["category"]] += 1
            if any(_matches(p, concept) for p in parts):
                recall_hit[concept["category"]] += 1
            if any(k in concept for k in ("value", "low", "high", "uln", "lln")):
                thr["labelled"] += 1
                if any(_matches(p, concept) and p.has_value and threshold_right(p, concept) for p in parts):
                    thr["found"] += 1
    print(f"labels: {len(labels)} ({missing} not judged: the anchor names a sub-heading or lead-in line, or no criterion, "
          f"after splitting)")
    print(f"{'category':15s} {'emitted':>8s} {'precision':>10s} {'labelled':>9s} {'recall':>8s}")
    total_tp = total_fp = 0
    for category in sorted(set(code_tp) | set(code_fp) | set(recall_all)):
        tp, fp = code_tp[category], code_fp[category]
        total_tp, total_fp = total_tp + tp, total_fp + fp
        precision = f"{100 * tp / (tp + fp):9.1f}%" if tp + fp else "         -"
        recall = f"{100 * recall_hit[category] / recall_all[category]:7.1f}%" if recall_all[category] else "       -"
        print(f"{category:15s} {tp + fp:8d} {precision} {recall_all[category]:9d} {recall}")
    if total_tp + total_fp:
        print(f"codes: precision {100 * total_tp / (total_tp + total_fp):.1f} % of {total_tp + total_fp} (goal >= 90 %); "
              f"{len(unjudged)} unjudged (MeSH codes of concepts the labeller could not verify)")
    if judged:
        share = right / coded if coded else 0.0
        print(f"criteria with >= 1 correct code: {100 * right / judged:.1f} % of {judged} labelled criteria; "
              f"{coded} coded, {100 * share:.1f} % of them with >= 1 correct code")
        if records_coded is not None and registry["coded"]:
            # the 154 records are the registry folders: their labels say how often a coded criterion is right there
            share = registry["right"] / registry["coded"]
            print(f"estimate for the 154 real records: {100 * records_coded:.1f} % coded x {100 * share:.1f} % (coded "
                  f"registry-folder labels with >= 1 correct code, {registry['right']} of {registry['coded']}) = "
                  f"{100 * records_coded * share:.1f} % of criteria with >= 1 correct code (goal >= 60 %)")
    if thr["emitted"]:
        print(f"thresholds: precision {100 * thr['right'] / thr['emitted']:.1f} % of {thr['emitted']} (goal >= 95 %), "
              f"recall {100 * thr['found'] / max(1, thr['labelled']):.1f} % of {thr['labelled']}")
    print(f"thresholds not as labelled ({len(wrong_thresholds)}):")
    for item in wrong_thresholds[:show]:
        print(f"  {item}")
    print(f"unjudged ({len(unjudged)}):")
    for item in unjudged[:show]:
        print(f"  {item}")
    for category, items in sorted(false_positives.items()):
        print(f"false positives, {category} ({len(items)}):")
        for item in items[:show]:
            print(f"  {item}")


def split_speed() -> None:
    """The splitter is linear in the text: a 20,000-line criteria text against one 10 times smaller."""
    times = []
    for lines in (2_000, 20_000):
        text = "Inclusion Criteria:\n" + "* criterion number x with words\n" * lines + "Exclusion Criteria:\n* e\n"
        start = time.perf_counter()
        parse_criteria(text)
        times.append(time.perf_counter() - start)
    print(f"split: 2,000 lines {times[0] * 1000:.0f} ms, 20,000 lines {times[1] * 1000:.0f} ms "
          f"(ratio {times[1] / times[0]:.1f}; 10 is linear)")


def coverage() -> float:
    """Prints how far the 154 real records' criteria were coded; returns the share with at least one code."""
    tally = Tally()
    for folder in ("ctgov", "ctgov-extra", "ctgov-covid"):
        for path in sorted((DATA / folder).glob("NCT*.json")):
            tally.add_record(json.loads(path.read_text(encoding="utf-8")))
    print("154 real records:", tally.summary())
    return tally.coded / tally.criteria if tally.criteria else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show", type=int, default=15, help="false positives listed per category")
    parser.add_argument("--half", choices=sorted(HALVES), help="only the labels of one half (registry folders or "
                        "match/trials)")
    args = parser.parse_args()
    if not (DATA / "ctgov").is_dir():
        print(f"skipped: {DATA} (the real registry records) is absent")
        return
    split_speed()
    records_coded = coverage()
    if not args.labels.is_file():
        print(f"no labels at {args.labels}: precision and recall not measured")
        return
    labels = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.half:
        labels = [label for label in labels if label["corpus"] in HALVES[args.half]]
    evaluate(labels, args.show, records_coded)


if __name__ == "__main__":
    main()
