"""Mentions a criterion names only in passing stay text (fhirtrial/criteria/roles.py), on real and constructed
sentences; each test also checks that what the criterion is about is still coded."""
from __future__ import annotations

from fhirtrial.criteria import code_criterion
from fhirtrial.criteria.roles import regions

from .vocab_data import real_sentence

MESH = "http://terminology.hl7.org/CodeSystem/MSH"
LOINC = "http://loinc.org"


def _codes(text: str) -> set[str]:
    return {c.code for p in code_criterion(text).parts for c in p.codings}


def _categories(text: str) -> list[str]:
    return [p.category for p in code_criterion(text).parts]


def test_the_disease_a_therapy_is_for_is_not_coded() -> None:
    text = real_sentence("NCT01126879", "radiation therapy for prostate cancer")
    codes = _codes(text)
    assert "D011878" in codes  # Radiotherapy: what the criterion is about
    assert "D011471" not in codes and "C61" not in codes  # Prostatic Neoplasms: what the therapy was for


def test_symptoms_of_a_disease_do_not_code_the_disease_but_a_symptom_stays() -> None:
    assert not ({"D000086382", "U07.1"} & _codes(real_sentence("NCT04926779", "experiencing symptoms of COVID-19")))
    assert "D003371" in _codes("Nighttime symptoms of cough at baseline")  # Cough is the symptom itself


def test_an_exception_is_not_coded() -> None:
    text = real_sentence("NCT03983954", "unless diagnosed with Gilbert")
    codes = _codes(text)
    assert "D005878" not in codes and "E80.4" not in codes
    assert {"1975-2"} & codes or any(p.category == "measurement" and "bilirubin" in p.name.lower()
                                     for p in code_criterion(text).parts)


def test_what_is_allowed_is_not_coded() -> None:
    text = real_sentence("NCT04267848", "Replacement therapy (e.g., thyroxine")
    assert not ({"D013974", "D007328"} & _codes(text))  # thyroxine, insulin: allowed, not required


def test_an_allowance_in_an_aside_or_after_but_leaves_the_rest_coded() -> None:
    assert "D011878" in _codes("Exposed to definitive radiotherapy [Note: Palliative radiotherapy is allowed].")
    assert "D004358" in _codes("Partial resection is allowed but any therapeutic chemotherapy is not allowed.")
    assert "D000305" in _codes("Systemic corticosteroids within 4 weeks (inhaled or topical steroids allowed)")


def test_a_conditional_alternative_for_a_sub_population_is_not_coded() -> None:
    text = real_sentence("NCT01824459", "in patients with liver metastases")
    codes = _codes(text)
    assert "D008113" not in codes and "C78.7" not in codes
    assert "measurement" in _categories(text)


def test_an_age_that_says_where_another_rule_applies_is_not_an_age_limit() -> None:
    text = real_sentence("NCT03067181", "use Karnofsky for patients").replace("\\>", ">")  # the registry's escape
    assert "age" not in _categories(text)
    assert "age" in _categories("Patients > 16 years of age")


def test_a_disease_naming_a_test_or_people_is_not_coded_unless_the_test_is_positive() -> None:
    assert not ({"D000086382", "U07.1"} & _codes(real_sentence("NCT05175846", "within 4 days of COVID-19 test")))
    assert "D003920" not in _codes(real_sentence("NCT06209411", "Diabetes or obstetrics physicians"))
    assert "D000086382" in _codes("Positive COVID-19 PCR test within 72 hours")
    assert "D000086382" in _codes("Positive test for SARS-CoV-2 within 72 hours")


def test_imaging_as_the_method_of_assessment_is_not_coded() -> None:
    text = real_sentence("NCT05348876", "based on standard medical imaging")
    codes = _codes(text)
    assert not ({"D014057", "D008279"} & codes)  # computed tomography, MRI
    assert "D009362" in codes  # metastatic disease is what it is about


def test_the_study_step_a_time_is_counted_from_is_not_coded() -> None:
    text = real_sentence("NCT05157178", "72 hours before vaccination")
    codes = _codes(text)
    assert "D014611" not in codes  # the study's vaccination
    assert "D005334" in codes  # fever


def test_willingness_to_undergo_a_study_step_is_not_coded_but_contraception_is() -> None:
    assert not _codes(real_sentence("NCT05618548", "Willing to be vaccinated"))
    assert "contraception" in _categories("Agrees to use highly effective contraception during the study")


def test_a_broad_class_word_with_a_specifier_is_not_coded() -> None:
    assert "D013514" not in _codes(real_sentence("NCT02097186", "previous axillary surgery"))
    assert "D013514" in _codes("Previous major surgery within 4 weeks")


def test_a_broad_word_standing_for_a_narrower_mention_is_not_coded() -> None:
    text = real_sentence("NCT04961996", "examined tumors meet pathologic criteria")
    codes = _codes(text)
    assert "D009369" not in codes  # Neoplasms, from "tumor foci", "examined tumors"
    assert "D001943" in codes  # Breast Neoplasms
    assert "D009369" in _codes("Any malignancy (e.g., breast cancer) within 5 years")  # a head of examples stays


def test_what_qualifies_a_lab_value_is_not_coded() -> None:
    text = real_sentence("NCT07040059", "without transfusion support")
    assert "D001803" not in _codes(text)  # Blood Transfusion
    assert "measurement" in _categories(text)


def test_able_to_become_pregnant_is_not_a_pregnancy() -> None:
    text = real_sentence("NCT06341426", "capable of becoming pregnant")
    assert "pregnancy" not in _categories(text)
    assert "contraception" in _categories(text)


def test_a_topic_named_twice_is_one_part() -> None:
    text = real_sentence("NCT05197621", "during their pregnancy")
    categories = _categories(text)
    assert categories.count("pregnancy") == 1 and "finding" not in categories


def test_regions_are_deterministic_and_bounded_by_their_clause() -> None:
    text = "No prior chemotherapy except hormone therapy; no radiotherapy."
    found = regions(text)
    assert found == regions(text)
    exception = [r for r in found if r[2] == "exception"]
    assert exception and exception[0][1] <= text.index(";")
    assert "D011878" in _codes(text)  # radiotherapy, after the exception's clause


def test_a_connector_inside_a_word_shares_no_head_noun() -> None:
    # "f-or metastatic disease" is no coordination: the disease the chemotherapy was for stays text
    text = real_sentence("NCT03983954", "as a line for metastatic disease")
    codes = _codes(text)
    assert "D009362" not in codes
    assert "D004358" in codes  # the prior chemotherapy is what the criterion is about
    assert "D009362" in _codes("Liver or metastatic disease")  # a real coordination still shares its head noun


def test_a_coordinated_phrase_named_in_passing_is_not_coded() -> None:
    # "replacement therapy for adrenal or pituitary insufficiency": what the therapy is for, not the patient's disease
    assert "D000309" not in _codes(real_sentence("NCT04267848", "adrenal or pituitary insufficiency"))
    assert "D000309" in _codes("History of adrenal or pituitary insufficiency")


def test_a_hormone_an_agonist_or_antagonist_acts_on_is_not_coded() -> None:
    text = real_sentence("NCT05348876", "(GnRH) agonist")
    parts = code_criterion(text).parts
    assert not any(p.name == "gonadotropin releasing hormone" for p in parts)
    assert "2986-8" in _codes(text)  # the testosterone threshold stays
    assert "D007987" not in _codes("Treated with an LHRH agonist or antagonist")
    assert "D007987" in _codes("Prior GnRH therapy")  # the hormone itself given as a therapy


def test_a_drug_named_as_the_measure_of_a_dose_is_not_coded() -> None:
    # "> 10 mg/day of prednisone" counts any glucocorticoid in prednisone's dose: the class is meant, not prednisone
    text = real_sentence("NCT03983954", "glucocorticoid equivalents of")
    codes = _codes(text)
    assert "D011241" not in codes and "D005938" in codes
    assert "D011241" not in _codes(real_sentence("NCT03639051", "prednisone or its equivalent"))
    assert "D011241" in _codes("Daily use of prednisone")


def test_a_class_that_named_drugs_specify_is_not_coded() -> None:
    text = real_sentence("NCT03067181", "carboplatin-based chemotherapy")
    codes = _codes(text)
    assert "D004358" not in codes  # "cisplatin- or carboplatin-based chemotherapy" is not any chemotherapy
    assert {"D002945", "D016190"} <= codes  # the drugs that say which
    assert "D004358" in _codes("Prior chemotherapy for metastatic disease")


def test_a_treatment_fused_to_pre_or_post_only_times_something_else() -> None:
    text = real_sentence("NCT03639051", "(post-bronchodilator)")
    codes = _codes(text)
    assert "D001993" not in codes  # "FEV1/FVC < 70 % (post-bronchodilator)": when FEV1 is measured
    assert "D029424" in codes  # COPD, what the criterion is about
    assert "D001993" in _codes("Use of a bronchodilator within 24 hours")
