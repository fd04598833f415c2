"""The concepts contract on real criteria and patient data: mentions, display texts, subsumption, synonyms."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from fhirtrial.criteria import Coding, concepts_for_display, find_mentions, subsumes, synonyms
from fhirtrial.criteria.concepts import ICD10CM, MESH, OWN

from .vocab_data import SHARED, criterion_lines, need_shared, real_sentence

ORDER = {MESH: 0, ICD10CM: 1, OWN: 2}


def first_codes(text: str) -> list[tuple[str, str]]:
    return [(m.text, m.codings[0].code) for m in find_mentions(text)]


def test_mentions_on_real_criteria() -> None:
    text = real_sentence("NCT04668404", "HIV positive/ AIDS patients")
    assert first_codes(text) == [("HIV positive", "D015658"), ("AIDS", "D000163")]

    text = real_sentence("NCT04267848", "No known hepatitis C virus")
    found = {m.codings[0].code: m for m in find_mentions(text)}
    assert found["D006526"].qualifiers.negated and "D006509" in found

    text = real_sentence("NCT05348876", "within 6 months before first dose")
    assert {"D020521", "D009203"} <= {code for _, code in first_codes(text)}  # stroke, myocardial infarction

    text = real_sentence("NCT03067181", "CNS irradiation of brain metastases")
    found = {m.text: m for m in find_mentions(text)}
    assert found["radiation therapy"].codings[0].code == "D011878" and found["radiation therapy"].qualifiers.negated
    brain = found["brain metastases"].codings
    assert [c.code for c in brain] == ["D009362", "D001932", "C79.31", "brain-metastases"]


def test_a_variant_of_a_disease_name_codes_the_disease_not_its_broad_class() -> None:
    # "disseminated intravascular coagulopathy" is DIC, not any coagulopathy (Blood Coagulation Disorders)
    text = real_sentence("NCT05595538", "disseminated intravascular coagulopathy")
    codes = {c.code for m in find_mentions(text) for c in m.codings}
    assert "D004211" in codes and "D65" in codes
    assert "D001778" not in codes


def test_involvement_of_an_organ_is_no_metastasis() -> None:
    # a lymphoma's "central nervous system (CNS) involvement" is not CNS metastases; the synonym was dropped
    text = real_sentence("NCT05147467", "(CNS) involvement")
    codes = {c.code for m in find_mentions(text) for c in m.codings}
    assert not codes & {"D009362", "D016543", "C79.3", "cns-metastases"}
    assert "C79.3" in {c.code for m in find_mentions("Known CNS metastases") for c in m.codings}


def test_mentions_are_well_formed_on_every_real_criterion() -> None:
    need_shared()
    lines = criterion_lines()
    coded = 0
    for _, line in lines:
        mentions = find_mentions(line)
        coded += bool(mentions)
        last = -1
        for m in mentions:
            assert m.text == line[m.start:m.end] and m.start >= last
            last = m.end
            assert m.codings and m.category in {"condition", "therapy", "procedure", "substance", "finding"}
            ranks = [ORDER[c.system] for c in m.codings]
            assert ranks == sorted(ranks)
    assert len(lines) > 3000 and coded > len(lines) // 3


def test_deterministic_output() -> None:
    need_shared()
    lines = [line for _, line in criterion_lines()][:400]
    first = json.dumps([[asdict(m) for m in find_mentions(line)] for line in lines], sort_keys=True)
    again = json.dumps([[asdict(m) for m in find_mentions(line)] for line in reversed(lines)][::-1], sort_keys=True)
    assert first == again


def patient_condition_texts() -> set[str]:
    need_shared()
    texts = set()
    for path in (SHARED / "match" / "patients").glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for entry in doc.get("entry", []) if isinstance(doc, dict) else []:
            if entry["resource"]["resourceType"] == "Condition":
                texts.add(entry["resource"]["code"].get("text", ""))
    return texts


@pytest.mark.parametrize("text, code", [
    ("Hashimoto's thyroiditis", "D050031"),
    ("Hashimoto disease", "D050031"),
    ("Hypertension (worsening)", "D006973"),
    ("Old myocardial infarction (uncomplicated, 2 years earlier)", "D009203"),
    ("Wegener's granulomatosis (granulomatosis with polyangiitis), diagnosed 4 months ago", "D014890"),
    ("Tinea pedis (KOH wet mount: segmented fungal hyphae), right foot between third and fourth toe", "D014008"),
    ("Allergic rhinitis", "D065631"),
    ("Peptic ulcer disease", "D010437"),
    ("Shortness of breath", "D004417"),
    ("Tachypnea", "D059246"),
])
def test_patient_display_texts(text: str, code: str) -> None:
    assert text in patient_condition_texts()  # the bundle really says so
    assert concepts_for_display(text)[0] == Coding(MESH, code, concepts_for_display(text)[0].display)


@pytest.mark.parametrize("text", ["Diabetes mellitus (denied)", "Diabetes mellitus (no history)", "Fever (denied)",
                                  "Hypercholesterolemia (denied)"])
def test_denied_display_texts_code_nothing(text: str) -> None:
    assert text in patient_condition_texts()
    assert concepts_for_display(text) == []


def test_display_text_edge_cases() -> None:
    assert concepts_for_display("") == [] and concepts_for_display("zzz") == []
    assert [c.code for c in concepts_for_display("T2DM")][:2] == ["D003924", "E11"]
    assert concepts_for_display("Family history of breast cancer") == []


def c(system: str, code: str) -> Coding:
    return Coding(system, code, "")


@pytest.mark.parametrize("ancestor, descendant", [
    (c(MESH, "D009369"), c(MESH, "D001943")),  # neoplasms > breast neoplasms (tree)
    (c(MESH, "D009369"), c(MESH, "D000001943")),  # the registry's padded UI
    (c(MESH, "D018352"), c(MESH, "D000086382")),  # coronavirus infections > COVID-19
    (c(MESH, "D000082082"), c(MESH, "D000077594")),  # immune checkpoint inhibitors > nivolumab (action)
    (c(MESH, "D000970"), c(MESH, "D000077594")),  # antineoplastic agents > nivolumab (action's tree)
    (c(MESH, "D000082082"), c(OWN, "anti-pd-1-therapy")),
    (c(OWN, "cns-metastases"), c(OWN, "brain-metastases")),
    (c(MESH, "D009362"), c(OWN, "liver-metastases")),
    (c(MESH, "D009203"), c(ICD10CM, "I25.2")),  # MI > old MI
    (c(MESH, "D002318"), c(ICD10CM, "I10")),  # cardiovascular diseases > essential hypertension (via Hypertension)
    (c(MESH, "D003920"), c(ICD10CM, "E119")),  # undotted
    (c(MESH, "D000740"), c(ICD10CM, "D50.9")),  # anemia > iron deficiency anemia, unspecified (via a descendant)
    (c(ICD10CM, "E11"), c(MESH, "D003924")),  # E11 > type 2 diabetes (all its codes lie below)
    (c(ICD10CM, "E08-E13"), c(MESH, "D003920")),  # the block of diabetes codes
    (c(ICD10CM, "C79"), c(OWN, "brain-metastases")),
    (c(ICD10CM, "E11"), c(ICD10CM, "E11.65")),
])
def test_subsumes(ancestor: Coding, descendant: Coding) -> None:
    assert subsumes(ancestor, descendant)


@pytest.mark.parametrize("ancestor, descendant", [
    (c(MESH, "D001943"), c(MESH, "D009369")),  # not upwards
    (c(MESH, "D006973"), c(ICD10CM, "E11")),
    (c(ICD10CM, "E10"), c(MESH, "D003920")),  # diabetes mellitus is not all type 1
    (c(MESH, "D000082082"), c(MESH, "D008727")),  # methotrexate is no checkpoint inhibitor
    (c(MESH, "D999999"), c(MESH, "D001943")),
    (c(ICD10CM, "Z99.99"), c(ICD10CM, "Z99.9")),
    (c("http://snomed.info/sct", "38341003"), c(MESH, "D006973")),
])
def test_does_not_subsume(ancestor: Coding, descendant: Coding) -> None:
    assert not subsumes(ancestor, descendant)


def folded(term: str, **kw) -> set[str]:
    return {s.casefold() for s in synonyms(term, **kw)}


def test_synonyms() -> None:
    corona = synonyms("coronavirus")
    assert "COVID-19" in corona and "coronavirus disease 2019" in corona
    assert {"covid-19", "coronavirus disease 2019", "2019-ncov infection"} <= folded("SARS-CoV-2")
    assert "myocardial infarction" in folded("MI") and "heart attack" in folded("heart attacks")
    assert "COVID-19" not in synonyms("coronavirus", narrower=False)
    assert synonyms("") == [] and synonyms("no such illness") == []
    assert synonyms("mi") == []  # acronyms are case-sensitive


def test_icd10cm_coding_only_when_the_cross_map_names_one_code() -> None:
    """One CodeableConcept holds translations of one concept: COVID-19 is U07.1, but Pneumonia spreads over J12-J18,
    so its mention keeps MeSH alone, and matching still reaches those codes through the hierarchy."""
    by_text = {m.text.lower(): m for m in find_mentions("COVID-19 pneumonia")}
    assert [(c.system, c.code) for c in by_text["covid-19"].codings] == [(MESH, "D000086382"), (ICD10CM, "U07.1")]
    pneumonia = by_text["pneumonia"].codings
    assert [(c.system, c.code) for c in pneumonia] == [(MESH, "D011014")]
    assert subsumes(pneumonia[0], Coding(ICD10CM, "J18.9", "")) and subsumes(pneumonia[0], Coding(ICD10CM, "J15.0", ""))
