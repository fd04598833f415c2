"""Search on coded criteria over HTTP (real uvicorn): characteristic, the composites, studies by a coded concept."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fhirtrial.mapping import map_study
from tests.support.server import ServerProcess

TOKEN = "criteria-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
OWN = "https://fhirtrial.org/fhir/CodeSystem/criteria-concept"
MESH = "http://terminology.hl7.org/CodeSystem/MSH"
PART = "https://fhirtrial.org/fhir/StructureDefinition/criterion-part"
CRITERIA = {
    "NCT09000001": "Inclusion Criteria:\n\n* ANC ≥ 1,500/µL\n* HbA1c between 7 % and 10 %\n\n"
                   "Exclusion Criteria:\n\n* Pregnancy\n* Total bilirubin > 1.5 × ULN",
    "NCT09000002": "Inclusion Criteria:\n\n* Absolute neutrophil count ≥ 1000/uL and platelets ≥ 100,000/mm3\n\n"
                   "Exclusion Criteria:\n\n* NYHA class III or IV",
    "NCT09000003": "Inclusion Criteria:\n\n* Pregnant women\n\nExclusion Criteria:\n\n* Informed consent not given",
}


def record(nct: str, criteria: str) -> dict[str, Any]:
    return {"protocolSection": {"identificationModule": {"nctId": nct, "briefTitle": f"Study {nct}"},
                                "statusModule": {"overallStatus": "RECRUITING"},
                                "eligibilityModule": {"eligibilityCriteria": criteria, "sex": "ALL"}}}


def mesh_group() -> list[dict[str, Any]]:
    """A study whose exclusion criterion a vocabulary coded in MeSH (as the concepts contract will)."""
    part = {"url": PART, "extension": [
        {"url": "category", "valueCode": "condition"},
        {"url": "concept", "valueCodeableConcept": {"coding": [{"system": MESH, "code": "D009203"}],
                                                    "text": "myocardial infarction"}},
        {"url": "start", "valueInteger": 11}, {"url": "end", "valueInteger": 32}]}
    group = {"resourceType": "Group", "id": "NCT09000004-eligibility", "type": "person", "actual": False,
             "characteristic": [{"extension": [part], "code": {"text": "History of myocardial infarction",
                                 "coding": [{"system": MESH, "code": "D009203"}]}, "valueBoolean": True,
                                 "exclude": True}]}
    study = {"resourceType": "ResearchStudy", "id": "NCT09000004", "status": "active",
             "enrollment": [{"reference": "Group/NCT09000004-eligibility"}]}
    return [group, study]




@pytest.fixture
def base(database_url: str, tmp_path: Path) -> Iterator[str]:
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        for nct, text in CRITERIA.items():
            bundle = map_study(record(nct, text)).bundle()
            r = httpx.post(proc.base, json=bundle, headers=HEADERS, timeout=30)
            assert r.status_code == 200, r.text
        for res in mesh_group():
            r = httpx.put(f"{proc.base}/{res['resourceType']}/{res['id']}", json=res, headers=HEADERS, timeout=30)
            assert r.status_code in (200, 201), r.text
        yield proc.base


def ids(base: str, path: str, **params: str) -> set[str]:
    r = httpx.get(f"{base}/{path}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e.get("search", {}).get("mode") == "match"}


def test_group_characteristic_token(base: str) -> None:
    assert ids(base, "Group", characteristic=f"{LOINC}|751-8") == {"NCT09000001-eligibility", "NCT09000002-eligibility"}
    assert ids(base, "Group", characteristic=f"{LOINC}|777-3") == set()  # platelets is a second part: not promoted
    assert ids(base, "Group", **{"criterion-concept": f"{LOINC}|777-3"}) == {"NCT09000002-eligibility"}


def test_r4_characteristic_value_composite(base: str) -> None:
    # R4 Group-value is a token over CodeableConcept | boolean: quantity-valued characteristics give no match
    assert ids(base, "Group", **{"characteristic-value": f"{LOINC}|751-8$1500"}) == set()
    assert ids(base, "Group", **{"characteristic-value": f"{OWN}|pregnancy$true"}) == \
        {"NCT09000001-eligibility", "NCT09000003-eligibility"}
    assert ids(base, "Group", **{"characteristic-value": f"{OWN}|pregnancy$false"}) == set()


QUANTITY_CASES = [
    (f"{LOINC}|751-8$lt1200", {"2"}),  # [1000, inf) reaches below 1200; [1500, inf) does not
    (f"{LOINC}|751-8$gt2000", {"1", "2"}),
    (f"{LOINC}|751-8$eq1500", set()),  # 1500 +- 0.5 cannot contain the open interval [1500, inf)
    (f"{LOINC}|751-8$lt1200|{UCUM}|/uL", {"2"}),
    (f"{LOINC}|751-8$gt2000|{UCUM}|mg/dL", set()),  # unit does not match
    (f"{LOINC}|4548-4$ge9", {"1"}),  # the range [7, 10] %
    (f"{LOINC}|4548-4$lt8|{UCUM}|%", {"1"}),
    (f"{LOINC}|4548-4$gt11", set()),
    (f"{LOINC}|4548-4$lt6", set()),
    (f"{LOINC}|1975-2$gt1", {"1"}),  # a multiple of the ULN: (1.5, inf), unitless
]


def test_characteristic_value_quantity(base: str) -> None:
    """Quantity and Range values, stored comparators as intervals, units (one server for all the cases)."""
    found = {value: ids(base, "Group", **{"characteristic-value-quantity": value}) for value, _ in QUANTITY_CASES}
    assert found == {value: {f"NCT0900000{n}-eligibility" for n in expected} for value, expected in QUANTITY_CASES}


def test_studies_by_coded_inclusion_or_exclusion_concept(base: str) -> None:
    assert ids(base, "ResearchStudy", **{"eligibility-exclusion": f"{OWN}|pregnancy"}) == {"NCT09000001"}
    assert ids(base, "ResearchStudy", **{"eligibility-inclusion": f"{OWN}|pregnancy"}) == {"NCT09000003"}
    assert ids(base, "ResearchStudy", **{"eligibility-exclusion": f"{LOINC}|88020-3"}) == {"NCT09000002"}
    assert ids(base, "ResearchStudy", **{"eligibility-exclusion": f"{MESH}|D009203"}) == {"NCT09000004"}
    assert ids(base, "ResearchStudy", **{"eligibility-inclusion": f"{MESH}|D009203"}) == set()
    assert ids(base, "ResearchStudy", **{"eligibility-inclusion": f"{LOINC}|751-8,{LOINC}|777-3"}) == \
        {"NCT09000001", "NCT09000002"}


def test_bad_composite_is_a_400_outcome(base: str) -> None:
    r = httpx.get(f"{base}/Group", params={"characteristic-value-quantity": "no-dollar"},
                  headers={"Prefer": "handling=strict"}, timeout=30)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_capability_statement_lists_the_new_parameters(base: str) -> None:
    rest = httpx.get(f"{base}/metadata", timeout=30).json()["rest"][0]
    by_type = {r["type"]: {p["name"]: p for p in r.get("searchParam", [])} for r in rest["resource"]}
    for rtype, name in (("ResearchStudy", "eligibility-inclusion"), ("ResearchStudy", "eligibility-exclusion"),
                        ("Group", "criterion-concept"), ("Group", "characteristic-value-quantity"),
                        ("Group", "value-quantity")):
        assert name in by_type[rtype], (rtype, name)
        assert by_type[rtype][name]["definition"].startswith("https://fhirtrial.org/fhir/SearchParameter/")


def test_criteria_definitions_are_served(base: str) -> None:
    part = httpx.get(f"{base}/StructureDefinition/criterion-part", timeout=30)
    assert part.status_code == 200 and part.json()["url"] == PART
    slices = {e.get("sliceName") for e in part.json()["differential"]["element"]}
    assert {"category", "concept", "value", "uln-multiple", "negated", "window", "start", "end"} <= slices
    concepts = httpx.get(f"{base}/CodeSystem/criteria-concept", timeout=30).json()
    assert {c["code"] for c in concepts["concept"]} >= {"pregnancy", "breastfeeding", "contraception",
                                                        "lansky-performance-status"}
