"""Coded criteria as R4 Group characteristics: valid for both npm validators, byte-stable, never crashing."""
from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from fhirtrial.criteria.coder import code_criterion
from fhirtrial.criteria.definitions import definitions
from fhirtrial.criteria.fhir import CODING, DURATION, OFFSET, PART, characteristic
from fhirtrial.criteria.model import TEXT_ONLY, CodedCriterion, Part
from fhirtrial.criteria.concepts import MESH, Coding, Window
from fhirtrial.mapping import map_study
from tests.support.validators import node_available, validate_with_node

SENTENCES = [
    "Absolute neutrophil count ≥ 1,500/µL", "AST (SGOT)/ALT (SGPT) < 3X upper limit of normal",
    "HbA1c between 7 % and 10 %", "ECOG performance status 0-1", "Women aged 18-45 years",
    "Female subjects who are pregnant or breastfeeding.", "Informed consent",
]


def record(criteria: str) -> dict[str, Any]:
    return {"protocolSection": {"identificationModule": {"nctId": "NCT09999999", "briefTitle": "Coded"},
                                "eligibilityModule": {"eligibilityCriteria": criteria, "sex": "ALL"}}}


def part_values(ch: dict[str, Any]) -> list[dict[str, Any]]:
    return [{e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in p["extension"]}
            for p in ch["extension"] if p["url"] == PART]


def test_characteristic_keeps_the_sentence_and_promotes_the_first_part() -> None:
    ch = characteristic(code_criterion("Absolute neutrophil count ≥ 1,500/µL"), False, [])
    assert ch["code"]["text"] == "Absolute neutrophil count ≥ 1,500/µL"
    assert [c["code"] for c in ch["code"]["coding"]] == ["751-8", "26499-4"]
    assert ch["valueQuantity"] == {"value": 1500, "comparator": ">=", "unit": "/uL",
                                   "system": "http://unitsofmeasure.org", "code": "/uL"}
    assert ch["exclude"] is False
    (part,) = part_values(ch)
    assert (part["category"], part["start"], part["end"]) == ("measurement", 0, 25)
    assert part["concept"]["text"] == "Absolute neutrophil count"
    assert [e["valueCode"] for e in ch["extension"] if e["url"] == CODING] == ["full"]


def test_uln_is_a_multiple_with_the_r5_offset_never_an_absolute_value() -> None:
    ch = characteristic(code_criterion("Total bilirubin ≤ 1.5 × ULN"), True, [])
    assert ch["valueQuantity"] == {"value": 1.5, "comparator": "<="}  # no unit: a multiple, not mg/dL
    offset = [e for e in ch["extension"] if e["url"] == OFFSET]
    assert offset[0]["valueCodeableConcept"]["coding"][0]["code"] == "UNL"
    assert part_values(ch)[0]["uln-multiple"] == 1.5


def test_ranges_negation_and_windows() -> None:
    ch = characteristic(code_criterion("HbA1c between 7 % and 10 %"), False, [])
    assert ch["valueRange"]["low"]["value"] == 7 and ch["valueRange"]["high"]["code"] == "%"
    mi = Part("condition", "myocardial infarction", (Coding(MESH, "D009203", "Myocardial Infarction"),), 3, 24,
              negated=True, window=Window(6, "mo"))
    stroke = Part("condition", "stroke", (Coding(MESH, "D020521", "Stroke"),), 28, 34, window=Window(6, "mo"),
                  operator="or")
    coded = CodedCriterion("No myocardial infarction or stroke within 6 months", (mi, stroke), "full")
    ch = characteristic(coded, True, [])
    # the negated part is not promoted into code.coding (R4 cannot say "absent" there); the stroke part is
    assert ch["code"]["coding"][0]["code"] == "D020521" and ch["valueBoolean"] is True
    assert [e["valueDuration"] for e in ch["extension"] if e["url"] == DURATION] == [
        {"value": 6, "unit": "months", "system": "http://unitsofmeasure.org", "code": "mo"}]
    first, second = part_values(ch)
    assert first["negated"] is True and "operator" not in first and second["operator"] == "or"


def test_text_only_criterion_is_as_before_plus_its_level() -> None:
    ch = characteristic(CodedCriterion("Informed consent", (), TEXT_ONLY), False, [])
    assert ch == {"extension": [{"url": CODING, "valueCode": "text-only"}], "code": {"text": "Informed consent"},
                  "valueBoolean": True, "exclude": False}


@pytest.mark.parametrize("criteria", [
    "", "   ", "Inclusion Criteria:\n\n* " + "ANC ≥ 1500/µL " * 12000, "Inclusion Criteria:\n* " + "≥" * 5000 + " 5 mg/dL",
    "Critères d'inclusion :\n\n- Patients âgés de ≥ 18 ans\n- Hémoglobine ≥ 9 g/dL",
    "Inclusion Criteria: age ≥ 18 years; ANC ≥ 1500/µL; Exclusion Criteria: pregnancy",
    "Inclusion Criteria:\n\n➤ Adults\n★ Platelets ≥ 100,000/mm3\n\\* ECOG 0-1\n1] consent\n\u200b\n\x0c",
    "Inclusion Criteria:\n\n* ANC ≥ 1.5 × 10^999/L\n* Platelets ≥ 9" + "9" * 400 + "/µL\n* ECOG ≤ 99",
])
def test_odd_criteria_never_crash_and_stay_valid(criteria: str) -> None:
    mapped = map_study(record(criteria))
    group = next((r for r in mapped.resources if r["resourceType"] == "Group"), None)
    if group is not None:
        for ch in group.get("characteristic", []):
            assert "code" in ch and ch["exclude"] in (True, False)


def test_mapping_is_byte_identical() -> None:
    text = "Inclusion Criteria:\n\n" + "\n".join(f"* {s}" for s in SENTENCES) + "\n\nExclusion Criteria:\n\n* Pregnancy"
    first = orjson.dumps(map_study(record(text)).bundle())
    code_criterion.cache_clear()
    assert orjson.dumps(map_study(copy.deepcopy(record(text))).bundle()) == first


@pytest.mark.skipif(not node_available(), reason="run `npm ci` to install the Node validators")
def test_coded_groups_and_definitions_pass_both_node_validators() -> None:
    text = "Inclusion Criteria:\n\n" + "\n".join(f"* {s}" for s in SENTENCES) + \
        "\n* Total bilirubin ≤ 1.5 × ULN\n\nExclusion Criteria:\n\n* Pregnancy\n* NYHA class III or IV"
    resources = [r for r in map_study(record(text)).resources if r["resourceType"] == "Group"]
    mi = Part("condition", "mi", (Coding(MESH, "D009203", "Myocardial Infarction"),), 0, 5, negated=True,
              window=Window(6, "mo"), status="historical")
    resources[0]["characteristic"].append(characteristic(CodedCriterion("No MI within 6 months", (mi,), "full"), True, []))
    resources += definitions()
    verdicts = validate_with_node(resources)
    assert [(r["resourceType"], r["id"], v.medplum, v.fhir) for r, v in zip(resources, verdicts) if not v.ok] == []
    assert {r["resourceType"] for r in resources} == {"Group", "StructureDefinition", "CodeSystem", }


def test_byte_identical_across_processes_and_hash_seeds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    text = "Inclusion Criteria:\n\n" + "\n".join(f"* {s}" for s in SENTENCES) + "\n\nExclusion Criteria:\n\n* Pregnancy"
    path = tmp_path / "record.json"
    path.write_bytes(orjson.dumps(record(text)))
    outputs = []
    for seed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", "map", str(path)], capture_output=True,
                              timeout=120, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] and b"criterion-part" in outputs[0]
