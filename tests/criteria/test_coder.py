"""The criterion coder on sentences of the shapes registries write (values checked by hand, not by the code)."""
from __future__ import annotations

import pytest

from fhirtrial.criteria import coder, concepts
from fhirtrial.criteria.coder import code_criterion
from fhirtrial.criteria.concepts import MESH, Coding, Mention, Qualifiers, Window
from fhirtrial.criteria.model import FULL, PARTIAL, TEXT_ONLY


def parts(text: str) -> list[tuple]:
    return [(p.category, p.codings[0].code, p.comparator, p.value, p.low, p.high, p.unit, p.uln)
            for p in code_criterion(text).parts]


@pytest.mark.parametrize("text, expected", [
    ("Absolute neutrophil count ≥ 1,500/µL", ("751-8", ">=", 1500, None, None, "/uL", None)),
    ("ANC ≥1.5 x 10^9/L", ("751-8", ">=", 1.5, None, None, "10*9/L", None)),
    ("Platelets >= 100 K/uL", ("777-3", ">=", 100, None, None, "10*3/uL", None)),
    ("platelet count of at least 100,000/mm3", ("777-3", ">=", 100000, None, None, "/mm3", None)),
    ("thrombocytes < 100.000/µl", ("777-3", "<", 100000, None, None, "/uL", None)),  # European thousands
    ("Hemoglobin > 9.0gm/dl", ("718-7", ">", 9.0, None, None, "g/dL", None)),
    ("Serum creatinine greater than 200 μmol/l", ("2160-0", ">", 200, None, None, "umol/L", None)),
    ("eGFR < 30 mL/min/1.73m^2 using Schwartz formula", ("33914-3", "<", 30, None, None, "mL/min/{1.73_m2}", None)),
    ("HbA1c between 7 % and 10 %", ("4548-4", None, None, 7, 10, "%", None)),
    ("Total bilirubin =< 1.5 x upper limit of normal (ULN) for age", ("1975-2", "<=", None, None, None, None, 1.5)),
    ("ALT ≤ ULN", ("1742-6", "<=", None, None, None, None, 1.0)),
    ("QTc > 470 ms", ("8636-3", ">", 470, None, None, "ms", None)),
    ("HIV viral load> 1000 copies / ml", ("20447-9", ">", 1000, None, None, "{copies}/mL", None)),
    ("Body mass index (BMI) <30.0 kg/m2", ("39156-5", "<", 30, None, None, "kg/m2", None)),
    ("Weight > 300 lbs", ("29463-7", ">", 300, None, None, "[lb_av]", None)),
    ("LVEF ≤ 30 %", ("10230-1", "<=", 30, None, None, "%", None)),
    ("platelets 100,000 or more", ("777-3", ">=", 100000, None, None, "/uL", None)),  # implied unit, as the table says
])
def test_measurement_thresholds(text: str, expected: tuple) -> None:
    found = parts(text)
    assert len(found) == 1 and found[0][0] == "measurement"
    assert found[0][1:] == expected


def test_one_threshold_shared_by_names_and_abbreviations() -> None:
    found = parts("AST (SGOT)/ALT (SGPT) < 3X upper limit of normal")
    assert [(p[1], p[2], p[7]) for p in found] == [("1920-8", "<", 3.0), ("1742-6", "<", 3.0)]
    coded = code_criterion("Systolic blood pressure >160 mmHg or diastolic > 100 mmHg")
    assert [(p.codings[0].code, p.value, p.operator) for p in coded.parts] == [("8480-6", 160, None), ("8462-4", 100, "or")]


def test_no_threshold_no_code_and_wrong_units_refused() -> None:
    assert parts("Adequate liver function (AST, ALT, bilirubin)") == []
    # a drug class without a threshold is a therapy concept from MeSH (D002121 Calcium Channel Blockers), not a measure
    assert [(p.category, [c.code for c in p.codings]) for p in code_criterion("Calcium channel blockers").parts] == [
        ("therapy", ["D002121"])]
    assert parts("Platelets ≥ 100 mg/dL") == []  # a count in mass per volume is not understood: text only
    assert parts("Hemoglobin of 10 g/dL") == []  # no direction: not a threshold


@pytest.mark.parametrize("text, low, high", [
    ("ECOG performance status 0-1", 0, 1), ("Eastern Cooperative Oncology Group (ECOG) performance status of 0 or 1.", 0, 1),
    ("ECOG ≤ 2", 0, 2), ("ECOG < 2", 0, 1), ("ECOG PS of 0, 1 or 2", 0, 2), ("Karnofsky ≥ 70%", 70, 100),
    ("KPS > 60", 70, 100), ("NYHA class III or IV", 3, 4), ("New York Heart Association (NYHA) Class III-IV", 3, 4),
    ("Lansky score ≥ 50", 50, 100),
])
def test_performance_status(text: str, low: float, high: float) -> None:
    found = code_criterion(text).parts
    assert [(p.category, p.low, p.high) for p in found] == [("performance", low, high)]
    code = found[0].codings[0]
    assert (code.system, code.code) in {("http://loinc.org", "89247-1"), ("http://loinc.org", "89243-0"),
                                        ("http://loinc.org", "88020-3"),
                                        ("https://fhirtrial.org/fhir/CodeSystem/criteria-concept",
                                         "lansky-performance-status")}


@pytest.mark.parametrize("text, low, high", [
    ("Age ≥ 18 years", 18, None), ("18 years of age or older", 18, None), ("Persons <18 years old;", None, 18),
    ("Aged between 18 and 60 years, male or female.", 18, 60), ("Women aged 18-45 years", 18, 45),
])
def test_age_stated_in_text(text: str, low: float | None, high: float | None) -> None:
    age = [p for p in code_criterion(text).parts if p.category == "age"]
    assert [(p.low, p.high, p.unit) for p in age] == [(low, high, "a")]
    assert parts("Diagnosis > 5 years ago") == []  # a duration, not an age


def test_sex_pregnancy_breastfeeding_contraception() -> None:
    assert [(p.category, p.sex) for p in code_criterion("Women aged 18-45 years").parts] == [("sex", "female"), ("age", None)]
    assert [p.category for p in code_criterion("Male or female, 18 years or older").parts] == ["age"]
    assert [p.category for p in code_criterion("Female subjects who are pregnant or breastfeeding.").parts] == \
        ["pregnancy", "breastfeeding"]
    assert [p.category for p in code_criterion("Agree to use a highly effective birth control method").parts] == \
        ["contraception"]


def test_levels() -> None:
    assert code_criterion("Absolute neutrophil count ≥ 1,500/µL").level == FULL
    assert code_criterion("AST ≤ 2.5 × ULN (≤ 5 × ULN if liver metastases)").level == PARTIAL
    assert code_criterion("Informed consent signed").level == TEXT_ONLY


@pytest.fixture
def vocabulary(monkeypatch: pytest.MonkeyPatch):
    """A stand-in vocabulary with a ConText-like qualifier, to test how the coder uses the concepts contract."""
    mi = Coding(MESH, "D009203", "Myocardial Infarction")
    creatinine = Coding(MESH, "D003404", "Creatinine")
    preg = Coding(MESH, "D011247", "Pregnancy")

    def find(text: str) -> list[Mention]:
        out = []
        for word, coding, category in (("myocardial infarction", mi, "condition"), ("creatinine", creatinine, "substance"),
                                       ("pregnancy", preg, "condition")):
            at = text.lower().find(word)
            if at >= 0:
                q = Qualifiers(negated=text.lower().startswith("no "), window=Window(6, "mo") if "6 months" in text else None)
                out.append(Mention(at, at + len(word), text[at:at + len(word)], category, (coding,), q))
        return out

    monkeypatch.setattr(concepts, "find_mentions", find)
    monkeypatch.setattr(concepts, "qualifiers", lambda text, s, e: Qualifiers(negated=text.lower().startswith("no ")))
    coder.code_criterion.cache_clear()
    yield
    coder.code_criterion.cache_clear()


def test_vocabulary_mentions_with_qualifiers(vocabulary: None) -> None:
    coded = code_criterion("No myocardial infarction within 6 months")
    (part,) = coded.parts
    assert (part.category, part.codings[0].code, part.negated, part.window) == ("condition", "D009203", True,
                                                                                Window(6, "mo"))
    assert coded.text[part.start:part.end] == "myocardial infarction"
    # the table's reading of a measurement wins over a vocabulary substance on the same words
    assert [p.codings[0].code for p in code_criterion("Creatinine < 2.0 mg/dl").parts] == ["2160-0"]
    # pregnancy found by both: one part, our code and the vocabulary's
    (preg,) = code_criterion("Pregnancy").parts
    assert [c.code for c in preg.codings] == ["pregnancy", "D011247"]
