"""Criteria left as text that the judge settles by a stated rule (fhirtrial/criteria/statements.py): "male and
female", consent and compliance as stated by the caller, and the lexical screen of a complete record."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhirtrial.criteria.judge import MET, NOT_COMPUTABLE, NOT_MET, UNKNOWN, CriterionVerdict, judge
from fhirtrial.criteria.patient import read_record
from fhirtrial.criteria.statements import LISTS, get_statements, load_statements
from fhirtrial.criteria.table import CriteriaTableError

from .test_judge import DAY, condition, group, patient


def one(text: str, exclude: bool, resources: list[dict[str, Any]] = (), *, complete: bool = False,
        consent: bool = False, who: dict[str, Any] | None = None) -> CriterionVerdict:
    record = read_record(who or patient(), [(r, None) for r in resources], complete=complete, consent=consent)
    [verdict] = judge(group((text, exclude)), record, DAY).criteria
    return verdict


@pytest.mark.parametrize("text", ["Male and female", "Both genders are eligible for study", "- Men and women.",
                                  "4. Either sex"])
def test_a_criterion_that_admits_either_sex_is_met_for_any_patient(text: str) -> None:
    for gender in ("female", "male"):
        v = one(text, False, who=patient(gender=gender))
        assert v.verdict == MET and "either sex" in v.reason, (text, gender, v)


def test_either_sex_said_of_a_narrower_group_is_not_met_by_that_rule() -> None:
    v = one("Men and women with a diagnosis of asthma", False)
    assert "either sex" not in v.reason


@pytest.mark.parametrize("text, exclude", [
    ("Patient must be able to give voluntary written informed consent.", False),
    ("Willingness and ability to comply with the protocol for the duration of the study", False),
    ("4. Able and willing to give consent and able to attend all study visits", False),
    ("Refusal to give written informed consent.", True),
    ("Inability to write inform consent.", True),
    ("Geographical inaccessibility for treatment or follow-up evaluations", True),
])
def test_consent_and_compliance_as_stated_by_the_caller(text: str, exclude: bool) -> None:
    unstated = one(text, exclude, complete=True)
    assert unstated.verdict == NOT_COMPUTABLE and "assumeConsent" in unstated.reason
    stated = one(text, exclude, complete=True, consent=True)
    assert stated.verdict == (NOT_MET if exclude else MET)
    assert "as stated by the caller" in stated.reason


def test_a_catch_all_about_compliance_is_not_settled_by_consent() -> None:
    text = ("Any illness or significant laboratory abnormality, which in the investigator's judgment will "
            "interfere with the patient's ability to comply with the protocol")
    v = one(text, True, complete=True, consent=True)
    assert v.verdict == NOT_COMPUTABLE and "catch-all" in v.reason


def test_the_lexical_screen_rules_out_a_text_only_exclusion_nothing_in_a_complete_record_names() -> None:
    record = [condition("c1", "Peripheral arterial disease")]
    assert one("Prior colon surgery", True, record).verdict == NOT_COMPUTABLE  # not complete: no screen
    v = one("Prior colon surgery", True, record, complete=True)
    assert v.verdict == NOT_MET and "lexical screen" in v.reason and "colon" in v.reason
    assert "lower confidence" in v.reason


def test_the_lexical_screen_leaves_an_exclusion_the_record_names_for_a_person() -> None:
    v = one("Prior colon surgery", True, [condition("c1", "Polyp of the colon")], complete=True)
    assert v.verdict == UNKNOWN and v.evidence == ("Condition/c1",) and "'colon'" in v.reason


def test_the_screen_compares_word_stems() -> None:  # "hypertensive" and "Hypertension" share a stem
    v = one("Severe/malignant/secondary hypertensive patients", True, [condition("c1", "Hypertension")],
            complete=True)
    assert v.verdict == UNKNOWN and v.evidence == ("Condition/c1",)


def test_the_screen_never_applies_to_an_inclusion() -> None:
    assert one("Prior colon surgery", False, complete=True).verdict == NOT_COMPUTABLE


@pytest.mark.parametrize("text, words", [
    ("Contraindications against laparoscopic surgery", "judgement"),
    ("Patients that according to the surgeon estimates will not survive 24 hours.", "judgement"),
    ("Any condition that, in the opinion of the investigator, would preclude safe participation", "catch-all"),
    ("10. Patient has an ASA score of >2", "measurement"),
])
def test_judgements_catch_alls_and_measurements_are_not_screened(text: str, words: str) -> None:
    v = one(text, True, complete=True)
    assert v.verdict == NOT_COMPUTABLE and words in v.reason, v


def test_the_shipped_lists_load() -> None:
    lists = get_statements()
    assert lists.says("consent", "written informed consent") and not lists.says("consent", "colon surgery")
    assert "colon" in lists.content_words("Prior colon surgery") and "prior" not in lists.content_words("Prior")


def _write(tmp_path: Path, **lists: Any) -> Path:
    import yaml

    data = {name: ["a phrase"] for name in LISTS}
    data.update({k.replace("_", "-"): v for k, v in lists.items()})
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "statements.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("lists, words", [
    ({"consent": ["Informed Consent"]}, "lowercase"),
    ({"boilerplate": ["study", "study"]}, "twice"),
    ({"any_sex": []}, "non-empty"),
    ({"judgement": None}, "exactly the lists"),
])
def test_a_malformed_list_is_refused_at_load(tmp_path: Path, lists: dict[str, Any], words: str) -> None:
    with pytest.raises(CriteriaTableError, match=words):
        load_statements(_write(tmp_path, **lists))


@pytest.mark.parametrize("text, word", [("Uncontrolled hypertension", "uncontrolled"),
                                        ("Severe hypertension", "severe"),
                                        ("Poorly controlled hypertension", "poorly controlled")])
def test_a_qualifier_the_record_does_not_confirm_gives_unknown_not_met(text: str, word: str) -> None:
    plain = one(text, True, [condition("c1", "Hypertension")], complete=True)
    assert plain.verdict == UNKNOWN and f"does not say it is {word}" in plain.reason
    assert plain.evidence == ("Condition/c1",)
    said = one(text, True, [condition("c1", f"{word.capitalize()} hypertension")], complete=True)
    assert said.verdict == MET, said
    assert one("Hypertension", True, [condition("c1", "Hypertension")], complete=True).verdict == MET
