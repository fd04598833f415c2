"""The hand-labelled criteria evaluation set (tests/criteria/labels.jsonl, issue 13) is well formed and its codes exist.

Checks the labels against the label schema (see tests/criteria/LABELS.md), against the registry records in
../shared/data (read at test time, never copied) and against the code systems: ICD-10-CM through the
simple-icd-10-cm package, LOINC through its mod-10 check digit, MeSH through the records' own derivedSection.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import simple_icd_10_cm as icd

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels.jsonl"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

MSH = "http://terminology.hl7.org/CodeSystem/MSH"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SYSTEMS = {MSH, ICD, LOINC}
CORPORA = {"ctgov", "ctgov-extra", "ctgov-covid", "match/trials"}
CATEGORIES = {"condition", "measurement", "performance", "pregnancy", "breastfeeding", "contraception",
              "age", "sex", "therapy", "procedure"}
COMPARATORS = {"<", "<=", ">", ">=", "="}
WINDOW_UNITS = {"d", "wk", "mo", "a", "h", "min"}
# UCUM units the labels use; a new one is added here on purpose, after checking its UCUM spelling.
UNITS = {"/uL", "10*3/uL", "10*9/L", "10*6/L", "10*12/L", "g/dL", "g/L", "mg/dL", "mg/L", "ug/L", "ng/mL", "ng/dL",
         "pg/mL", "umol/L", "mmol/L", "mmol/mol", "%", "mL/min", "mL/min/{1.73_m2}", "kg/m2", "kg", "g", "mm[Hg]",
         "ms", "U/L", "[IU]/L", "[IU]/mL", "m[IU]/mL", "{copies}/mL", "/min", "Cel", "{score}", "{ratio}", "a",
         "mo", "wk", "d", "h", "L", "mL", "mL/s", "cm", "mm", "{cells}/uL", "{INR}", "s", "[lb_av]", "{pack-years}",
         "{drinks}/wk", "/d", "{beats}/min", "10*3/mm3", "/mm3", "mEq/L", "mg/kg", "mg", "mg/d", "{times}/d",
         "{episodes}"}
KEYS = {"nct", "corpus", "index", "exclude", "anchor", "concepts"}
CONCEPT_KEYS = {"category", "name", "codings", "comparator", "value", "low", "high", "unit", "uln", "lln",
                "negated", "window"}
ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|=^])")  # the registry's markdown escapes, e.g. "\\>= 18"
BULLET = re.compile(r"^\s*(?:[*\-•·●○▪■◦]|\d{1,2}[.)]|[a-zA-Z][.)]|\(\w{1,3}\)|[ivxIVX]{1,4}[.)])\s+")


def _labels() -> list[dict[str, Any]]:
    with LABELS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ALL = _labels()


def _id(label: dict[str, Any]) -> str:
    return f"{label['nct']}:{label['anchor'][:24]}"


def _norm(text: str) -> str:
    return " ".join(text.split())


@cache
def _record(corpus: str, nct: str) -> dict[str, Any] | None:
    path = DATA / corpus / f"{nct}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _needs(corpus: str, nct: str) -> dict[str, Any]:
    record = _record(corpus, nct)
    if record is None:
        pytest.skip(f"../shared/data/{corpus}/{nct}.json is absent (shared data not laid beside the checkout)")
    return record


def _lines(record: dict[str, Any]) -> list[str]:
    """The criterion-ish lines of a record: each non-empty line, bullet marker and markdown escapes dropped,
    whitespace normalised."""
    text = record["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    return [n for n in (_norm(ESCAPE.sub(r"\1", BULLET.sub("", raw))) for raw in text.split("\n")) if n]


def luhn_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the Luhn scheme: every other digit from the right doubled)."""
    m = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not m:
        return False
    total = 0
    for i, ch in enumerate(reversed(m.group(1))):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10 == int(m.group(2))


def canonical_mesh(ui: str) -> str:
    """D000003550 (the registry's padded form) and D003550 are one descriptor; UIs from 2016 on keep 9 digits."""
    m = re.fullmatch(r"([DC])0*(\d+)", ui)
    if not m:
        return ui
    n = int(m.group(2))
    return f"{m.group(1)}{n:06d}" if n < 67000 else f"{m.group(1)}{n:09d}"


def _codings(label: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    out = []
    for concept in label["concepts"]:
        for coding in concept.get("codings", []):
            system, _, code = coding.rpartition("|")
            out.append((concept, system, code))
    return out


# --- the checks that need nothing but the file ---------------------------------------------------------------

def test_known_bad_values_are_refused() -> None:
    """The validators below are not vacuous: they reject a wrong check digit, a made-up ICD code, a padded UI."""
    assert luhn_ok("751-8") and luhn_ok("26499-4") and luhn_ok("89247-1")
    assert not luhn_ok("751-7") and not luhn_ok("26499-5") and not luhn_ok("7518")
    assert icd.is_valid_item("C50") and not icd.is_valid_item("C50.99999") and not icd.is_valid_item("Z99.99")
    assert canonical_mesh("D000003550") == "D003550" and canonical_mesh("D000086382") == "D000086382"


def test_size_and_spread() -> None:
    corpora = Counter(label["corpus"] for label in ALL)
    assert len(ALL) >= 330
    assert len({label["nct"] for label in ALL}) >= 40
    assert corpora["match/trials"] * 3 <= len(ALL), corpora
    assert sum(1 for label in ALL if not label["concepts"]) >= 30  # false-positive material is in the set


def test_no_duplicate_anchor() -> None:
    keys = Counter((label["nct"], label["anchor"]) for label in ALL)
    assert [k for k, n in keys.items() if n > 1] == []


@pytest.mark.parametrize("label", ALL, ids=_id)
def test_schema(label: dict[str, Any]) -> None:
    assert KEYS <= set(label) <= KEYS | {"note"}
    assert re.fullmatch(r"NCT\d{8}", label["nct"])
    assert label["corpus"] in CORPORA
    assert isinstance(label["index"], int) and label["index"] >= 0
    assert isinstance(label["exclude"], bool)
    anchor = label["anchor"]
    assert 20 <= len(anchor) <= 60 and anchor == _norm(anchor) and "\\" not in anchor
    assert isinstance(label.get("note", ""), str)
    for c in label["concepts"]:
        assert set(c) <= CONCEPT_KEYS, set(c) - CONCEPT_KEYS
        assert c["category"] in CATEGORIES
        assert isinstance(c["name"], str) and c["name"] and c["name"] == c["name"].lower()
        for coding in c.get("codings", []):
            system, sep, code = coding.rpartition("|")
            assert sep and system in SYSTEMS and code, coding
        if "comparator" in c:
            assert c["comparator"] in COMPARATORS
            assert sum(k in c for k in ("value", "uln", "lln")) == 1, c
        for k in ("value", "low", "high", "uln", "lln"):
            if k in c and not (k == "value" and c["category"] == "sex"):
                assert isinstance(c[k], (int, float)) and not isinstance(c[k], bool), c
        if "low" in c and "high" in c:
            assert c["low"] <= c["high"], c
        if "unit" in c:
            assert c["unit"] in UNITS, c["unit"]
        if "negated" in c:
            assert c["negated"] is True
        if "window" in c:
            assert set(c["window"]) == {"value", "unit"} and c["window"]["unit"] in WINDOW_UNITS
            assert isinstance(c["window"]["value"], (int, float)) and c["window"]["value"] > 0
        if c["category"] == "measurement":
            assert "comparator" in c or "low" in c or "high" in c, c
            assert all(s == LOINC for _, s, _ in _codings({"concepts": [c]}))
            if "value" in c or "low" in c or "high" in c:
                assert "unit" in c, c
            if "uln" in c or "lln" in c:
                assert "value" not in c and "unit" not in c
        if c["category"] == "performance":
            assert "low" in c or "high" in c, c
            assert all(s == LOINC for _, s, _ in _codings({"concepts": [c]}))
        if c["category"] == "age":
            assert c.get("unit") == "a" and ("low" in c or "high" in c), c
        if c["category"] == "sex":
            assert c.get("value") in {"female", "male"}, c
        if c["category"] in {"condition", "therapy", "procedure"}:
            assert all(s in {MSH, ICD} for _, s, _ in _codings({"concepts": [c]}))


@pytest.mark.parametrize("label", ALL, ids=_id)
def test_codes_exist(label: dict[str, Any]) -> None:
    for concept, system, code in _codings(label):
        if system == LOINC:
            assert luhn_ok(code), f"LOINC {code} fails its check digit ({concept['name']})"
        elif system == ICD:
            assert icd.is_valid_item(code), f"ICD-10-CM {code} does not exist ({concept['name']})"
        elif system == MSH:
            assert re.fullmatch(r"D\d{6}|D0{3}\d{6}", code) and canonical_mesh(code) == code, \
                f"MeSH {code} is not a descriptor UI in its published form ({concept['name']})"


# --- the checks against the records in ../shared/data --------------------------------------------------------

@pytest.mark.parametrize("label", ALL, ids=_id)
def test_anchor_in_exactly_one_criterion(label: dict[str, Any]) -> None:
    record = _needs(label["corpus"], label["nct"])
    hits = [line for line in _lines(record) if label["anchor"] in line]
    assert len(hits) == 1, f"anchor found in {len(hits)} lines"


# Words that name the same thing in a label's plain name and in a MeSH heading (compared by 5-letter stems).
SAME = {"cancer": "neoplasms", "cancers": "neoplasms", "tumor": "neoplasms", "tumors": "neoplasms",
        "tumour": "neoplasms", "malignancy": "neoplasms", "malignancies": "neoplasms", "malignant": "neoplasms",
        "chemotherapy": "antineoplastic", "chemotherapies": "antineoplastic", "attack": "infarction",
        "covid": "covid-19", "sars-cov-2": "covid-19", "steroids": "glucocorticoids", "corticosteroids":
        "glucocorticoids", "kidney": "renal", "heart": "cardiac", "allergy": "hypersensitivity",
        "allergies": "hypersensitivity", "psychiatric": "mental", "coinfection": "infections", "sars": "covid",
        "coronavirus": "covid", "drug": "substance"}
STOP = {"of", "the", "and", "or", "in", "with", "a", "an", "to", "by", "not", "other", "elsewhere", "classified",
        "type", "acute", "chronic", "history", "active", "known", "disease", "disorder", "disorders", "diseases",
        "based", "therapy", "agents", "drugs", "prior", "current", "severe"}


def _words(text: str) -> set[str]:
    words = [SAME.get(w, w) for w in re.split(r"[^a-z0-9]+", text.lower()) if w and w not in STOP]
    return {w[:5] for w in words}


def _terms_of(record: dict[str, Any], terms: dict[str, set[str]]) -> dict[str, set[str]]:
    for module in ("conditionBrowseModule", "interventionBrowseModule"):
        part = record.get("derivedSection", {}).get(module, {})
        for key in ("meshes", "ancestors", "browseLeaves"):
            for item in part.get(key, []):
                term = item.get("term") or item.get("name")
                if item.get("id") and term:
                    terms.setdefault(canonical_mesh(item["id"]), set()).add(term)
    return terms


@cache
def _derived_terms(corpus: str, nct: str) -> dict[str, set[str]]:
    return _terms_of(_record(corpus, nct) or {}, {})


@cache
def _all_derived_terms() -> dict[str, set[str]]:
    """Every descriptor any record in ../shared/data codes in its derivedSection, with its heading."""
    terms: dict[str, set[str]] = {}
    for corpus in sorted(CORPORA):
        for path in sorted((DATA / corpus).glob("NCT*.json")):
            _terms_of(json.loads(path.read_text(encoding="utf-8")), terms)
    return terms


@pytest.mark.parametrize("label", [x for x in ALL if any(s == MSH for _, s, _ in _codings(x))], ids=_id)
def test_mesh_agrees_with_the_records_derived_section(label: dict[str, Any]) -> None:
    """A MeSH UI the record (else any record of ../shared/data) codes itself names what the label names."""
    _needs(label["corpus"], label["nct"])
    own, anywhere = _derived_terms(label["corpus"], label["nct"]), _all_derived_terms()
    for concept, system, code in _codings(label):
        terms = own.get(code) or anywhere.get(code)
        if system != MSH or not terms:
            continue
        shared = [t for t in terms if _words(t) & _words(concept["name"])]
        assert shared, f"{code} is {sorted(terms)} in ../shared/data, the label names it {concept['name']!r}"
