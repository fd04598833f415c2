"""The judge (fhirtrial/criteria/judge.py): each rule of README.md "Judging", storage- and HTTP-free."""
from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from fhirtrial.criteria import characteristic, code_criterion
from fhirtrial.criteria.judge import (ELIGIBLE, INELIGIBLE, MET, NOT_COMPUTABLE, NOT_MET, POSSIBLY, UNKNOWN,
                                      CriterionVerdict, judge, score)
from fhirtrial.criteria.patient import COMPLETENESS_SYSTEM, read_record

DAY = date(2026, 1, 1)
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1970-06-01", **extra}


def condition(cid: str, text: str, codings: list[dict[str, str]] = (), status: str = "active",
              verification: str = "confirmed", onset: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Condition", "id": cid, "subject": {"reference": "Patient/p"},
        "code": {"coding": list(codings), "text": text},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": status}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": verification}]}}
    if onset:
        out["onsetDateTime"] = onset
    return out


def observation(oid: str, loinc: str, value: float, unit: str, when: str = "2025-12-01",
                high: float | None = None, ucum: bool = True) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        q.update(system=UCUM, code=unit)
    out: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": "final",
                           "code": {"coding": [{"system": LOINC, "code": loinc}]},
                           "subject": {"reference": "Patient/p"}, "effectiveDateTime": when, "valueQuantity": q}
    if high is not None:
        out["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    return out


def group(*criteria: tuple[str, bool]) -> dict[str, Any]:
    return {"resourceType": "Group", "characteristic": [characteristic(code_criterion(t), exclude, [])
                                                        for t, exclude in criteria]}


def verdicts(g: dict[str, Any], resources: list[dict[str, Any]], *, complete: bool = False,
             who: dict[str, Any] | None = None) -> list[CriterionVerdict]:
    record = read_record(who or patient(), [(r, None) for r in resources], complete=complete)
    return list(judge(g, record, DAY).criteria)


def test_structured_age_sex_and_healthy_volunteers() -> None:
    g = {"characteristic": [
        {"code": {"coding": [{"system": SNOMED, "code": "397669002"}], "text": "Age"},
         "valueRange": {"low": {"value": 18, "system": UCUM, "code": "a"}, "high": {"value": 50, "system": UCUM,
                                                                                    "code": "a"}}, "exclude": False},
        {"code": {"coding": [{"system": SNOMED, "code": "263495000"}], "text": "Sex"},
         "valueCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/administrative-gender",
                                              "code": "male"}]}, "exclude": False},
        {"code": {"coding": [{"system": "https://fhirtrial.org/fhir/CodeSystem/ctgov-eligibility",
                              "code": "healthy-volunteer"}]}, "valueBoolean": True, "exclude": True}]}
    age, sex, healthy = verdicts(g, [])  # 55 years old on 2026-01-01, female, no condition
    assert (age.verdict, sex.verdict, healthy.verdict) == (NOT_MET, NOT_MET, UNKNOWN)
    assert "55" in age.reason
    _, _, healthy = verdicts(g, [], complete=True)
    assert healthy.verdict == MET  # no active condition in a complete record: a healthy volunteer
    _, _, healthy = verdicts(g, [condition("c1", "Asthma")])
    assert healthy.verdict == NOT_MET and healthy.evidence == ("Condition/c1",)
    young = patient(birthDate="2000-01-02")  # 25 on the day judged (birthday not yet reached: 25, not 26)
    age, _, _ = verdicts(g, [], who=young)
    assert age.verdict == MET and "25" in age.reason


def test_condition_by_snomed_display_text_meets_a_mesh_coded_criterion() -> None:
    g = group(("Diagnosis of hypertension", False))
    htn = condition("c1", "Hypertension", [{"system": SNOMED, "code": "38341003", "display": "Hypertensive disorder"}])
    [v] = verdicts(g, [htn])
    assert v.verdict == MET and v.evidence == ("Condition/c1",)


def test_a_child_icd_code_satisfies_its_parent_concept() -> None:
    g = group(("Type 2 diabetes mellitus", False))
    child = condition("c1", "", [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.65"}])
    [v] = verdicts(g, [child])
    assert v.verdict == MET


def test_missing_data_is_unknown_and_absent_only_in_a_complete_record() -> None:
    g = group(("History of myocardial infarction", True))
    [v] = verdicts(g, [])
    assert v.verdict == UNKNOWN
    [v] = verdicts(g, [], complete=True)
    assert v.verdict == NOT_MET
    tagged = patient(meta={"tag": [{"system": COMPLETENESS_SYSTEM, "code": "complete"}]})
    [v] = verdicts(g, [], who=tagged)
    assert v.verdict == NOT_MET


def test_a_refuted_condition_says_absent_even_in_an_incomplete_record() -> None:
    g = group(("Diabetes mellitus", True))
    [v] = verdicts(g, [condition("c1", "Diabetes mellitus (denied)", verification="refuted")])
    assert v.verdict == NOT_MET and v.evidence == ("Condition/c1",)


def test_an_exclusion_list_excludes_on_any_item() -> None:
    g = group(("Positive serologic tests for HIV, HCV, HBV, HTLV-1 and 2, Syphilis or Chagas disease", True))
    [v] = verdicts(g, [condition("c1", "Chronic hepatitis B")])
    assert v.verdict == MET


def test_observation_converted_through_ucum() -> None:
    g = group(("Platelets ≥ 100,000/mm3", False))
    [v] = verdicts(g, [observation("o1", "777-3", 150, "10*9/L")])
    assert v.verdict == MET and v.evidence == ("Observation/o1",)
    [v] = verdicts(g, [observation("o1", "777-3", 80, "10*9/L")])
    assert v.verdict == NOT_MET


def test_the_most_recent_observation_decides() -> None:
    g = group(("Platelets ≥ 100,000/mm3", False))
    old = observation("old", "777-3", 50, "10*9/L", when="2025-01-01")
    new = observation("new", "777-3", 150, "10*9/L", when="2025-12-20")
    [v] = verdicts(g, [new, old])
    assert v.verdict == MET and v.evidence == ("Observation/new",)


def test_a_unit_ucum_cannot_convert_is_unknown_with_the_reason() -> None:
    g = group(("Platelets ≥ 100,000/mm3", False))
    [v] = verdicts(g, [observation("o1", "777-3", 150, "mg/dL")])
    assert v.verdict == UNKNOWN and "convert" in v.reason


def test_times_uln_against_the_reference_range() -> None:
    g = group(("AST ≤ 2.5 × ULN", False))
    [v] = verdicts(g, [observation("o1", "1920-8", 90, "U/L", high=40)])
    assert v.verdict == MET  # 90 <= 100
    [v] = verdicts(g, [observation("o1", "1920-8", 120, "U/L", high=40)])
    assert v.verdict == NOT_MET
    [v] = verdicts(g, [observation("o1", "1920-8", 90, "U/L")])
    assert v.verdict == UNKNOWN and "referenceRange" in v.reason


def test_text_only_criteria_are_not_computable() -> None:
    g = group(("Able to give written informed consent", False))
    [v] = verdicts(g, [], complete=True)
    assert v.verdict == NOT_COMPUTABLE


def test_pregnancy_is_false_for_a_male_patient() -> None:
    g = group(("Pregnant or breastfeeding women", True))
    [v] = verdicts(g, [], who=patient(gender="male"))
    assert v.verdict == NOT_MET
    [v] = verdicts(g, [])
    assert v.verdict == UNKNOWN


def _random_items(rng: random.Random) -> list[CriterionVerdict]:
    out = []
    for i in range(rng.randint(0, 12)):
        exclude = rng.random() < 0.5
        verdict = rng.choice([MET, NOT_MET, UNKNOWN, NOT_COMPUTABLE])
        out.append(CriterionVerdict(i, "exclusion" if exclude else "inclusion", "", exclude, verdict, ""))
    return out


def _favourable(item: CriterionVerdict) -> CriterionVerdict:
    return CriterionVerdict(item.index, item.kind, "", item.exclude, NOT_MET if item.exclude else MET, "")


def test_score_is_monotone_and_ineligible_ranks_last() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        items = _random_items(rng)
        verdict, value = score(items)
        assert 0 <= value <= 1
        assert (verdict == INELIGIBLE) == any(i.against for i in items)
        if verdict == INELIGIBLE:
            assert value < 0.5
        else:
            assert value >= 0.5
            assert (verdict == ELIGIBLE) == (not any(i.verdict == UNKNOWN for i in items)
                                             and any(i.favourable for i in items))
        # the study's condition found never lowers it either
        topical = items + [CriterionVerdict(-1, "condition", "", False, MET, "")]
        assert score(topical)[1] >= value and score(topical)[0] == verdict
        # another inclusion met never lowers the score
        more = items + [CriterionVerdict(99, "inclusion", "", False, MET, "")]
        assert score(more)[1] >= value
        # an unknown turned favourable never lowers it
        unknown = [k for k, i in enumerate(items) if i.verdict == UNKNOWN]
        if unknown:
            k = rng.choice(unknown)
            better = items[:k] + [_favourable(items[k])] + items[k + 1:]
            assert score(better)[1] >= value
        assert verdict != POSSIBLY or any(i.verdict == UNKNOWN for i in items) or not any(i.favourable
                                                                                           for i in items)


@pytest.mark.parametrize("text, ops", [
    ("Positive serologic tests for HIV, HCV, HBV, HTLV-1 and 2, Syphilis or Chagas disease", ["or", "or", "or"]),
    ("History of diabetes, hypertension and stroke", ["and", "and"]),
    ("diabetes or hypertension", ["or"]),
])
def test_list_operators(text: str, ops: list[str]) -> None:
    assert [p.operator for p in code_criterion(text).parts][1:] == ops


@pytest.mark.parametrize("text, category, status", [
    ("Not eligible to allogeneic bone marrow transplantation", "procedure", "hypothetical"),
    ("Previous drug reaction for antithymocyte globulin, cyclosporin or corticosteroids", "allergy", "historical"),
    ("History of kidney transplantation", "procedure", "historical"),
])
def test_prospects_and_drug_reactions(text: str, category: str, status: str | None) -> None:
    first = code_criterion(text).parts[0]
    assert (first.category, first.status) == (category, status)


def test_an_allergy_criterion_is_met_by_an_allergy_not_by_taking_the_drug() -> None:
    g = group(("Previous drug reaction for cyclosporin or corticosteroids", True))
    taking = {"resourceType": "MedicationStatement", "id": "m1", "status": "active",
              "subject": {"reference": "Patient/p"},
              "medicationCodeableConcept": {"text": "Cyclosporine"}}
    [v] = verdicts(g, [taking], complete=True)
    assert v.verdict == NOT_MET
    allergy = {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p"},
               "code": {"text": "Cyclosporine"}}
    [v] = verdicts(g, [allergy])
    assert v.verdict == MET and v.evidence == ("AllergyIntolerance/a1",)


def test_an_inclusion_concept_absent_stays_unknown_even_in_a_complete_record() -> None:
    g = group(("Diagnosis of hypertension", False), ("No history of myocardial infarction", False))
    diagnosis, no_mi = verdicts(g, [], complete=True)
    assert diagnosis.verdict == UNKNOWN  # the complete record's silence does not rule an inclusion out
    assert no_mi.verdict == MET  # ... but rules out the concept an inclusion negates


def test_a_number_that_is_not_an_age_is_not_read_as_one() -> None:
    text = ("all patients presenting to the ED with shortness of breath that are over 40 years old and present with "
            "an emergency department triage category of 3 or higher")
    [age] = [p for p in code_criterion(text).parts if p.category == "age"]
    assert (age.low, age.comparator) == (40, ">")


def test_postmenopausal_women_is_partly_coded_and_never_met_on_sex_alone() -> None:
    assert code_criterion("Postmenopausal women").level == "partial"
    [v] = verdicts(group(("Postmenopausal women", True)), [])
    assert v.verdict == UNKNOWN and "partly coded" in v.reason


def test_alternatives_bind_before_and() -> None:
    g = group(("Daily requirement for albuterol due to asthma symptoms (cough, wheeze, chest tightness)", True))
    wheeze = condition("c1", "Wheezing")
    [v] = verdicts(g, [wheeze], complete=True)
    assert v.verdict == NOT_MET  # wheezing alone, without albuterol, is not the excluded state


def test_a_differential_diagnosis_is_not_a_diagnosis() -> None:
    g = group(("Uterine fibroids", False))
    [v] = verdicts(g, [condition("c1", "Enlarged uterus, vesicular mole vs fibroid")])
    assert v.verdict == UNKNOWN


def test_a_worded_observation_value_is_a_finding() -> None:
    smoking = {"resourceType": "Observation", "id": "s1", "status": "final",
               "code": {"coding": [{"system": LOINC, "code": "72166-2"}], "text": "Tobacco smoking status"},
               "subject": {"reference": "Patient/p"}, "valueCodeableConcept": {"text": "Smoker (1 pack per day)"}}
    [v] = verdicts(group(("Current smoker", False)), [smoking])
    assert v.verdict == MET and v.evidence == ("Observation/s1",)


def test_contraception_in_an_exclusion_does_not_apply_to_a_man() -> None:
    g = group(("Pregnant or lactating women, or women of childbearing age not using an acceptable method of "
               "contraception", True))
    [v] = verdicts(g, [], who=patient(gender="male"))
    assert v.verdict == NOT_MET
    [v] = verdicts(group(("Must agree to use contraception", False)), [], who=patient(gender="male"))
    assert v.verdict == NOT_COMPUTABLE


def test_relevance_ranks_the_study_about_the_record_first_and_never_changes_verdicts() -> None:
    from fhirtrial.criteria.judge import rescored
    from fhirtrial.criteria.relevance import record_words, relevance, study_words

    record = read_record(patient(), [(condition("c1", "Chronic obstructive pulmonary disease"), None)])
    about = study_words({"title": "Inhaled therapy in chronic obstructive pulmonary disease"})
    other = study_words({"title": "Knee replacement rehabilitation"})
    first, second = relevance(record_words(record), [about, other])
    assert first == 1.0 and second == 0.0
    match = judge(group(("Diagnosis of hypertension", False)), record, DAY)
    lifted = rescored(match, first)
    assert lifted.criteria == match.criteria and lifted.verdict == match.verdict and lifted.score > match.score


def test_a_shared_head_noun_is_read_for_each_modifier() -> None:
    names = [p.name for p in code_criterion("History of heart or lung disease").parts]
    assert names == ["heart disease", "lung disease"]

