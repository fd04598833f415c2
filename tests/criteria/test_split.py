"""The eligibility criteria parser on the shapes real records use."""
from __future__ import annotations


from fhirtrial.criteria.split import PREAMBLE, parse_criteria


def kinds(text: str) -> list[tuple[bool, str]]:
    return [(c.exclude, c.text) for c in parse_criteria(text)]


def test_plain_headings_and_bullets() -> None:
    text = "Inclusion Criteria:\n\n* a\n* b\n\nExclusion Criteria:\n\n* c"
    assert kinds(text) == [(False, "a"), (False, "b"), (True, "c")]


def test_headings_any_case_markdown_and_qualifiers() -> None:
    text = "## INCLUSION CRITERIA\n- a\n**Key exclusion criteria:**\n- b\ninclusion criteria for cohort B:\n- c"
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text) for c in parsed] == [(False, "a"), (True, "b"), (False, "c")]
    assert parsed[2].group == "for cohort B"


def test_numbered_lists_and_wrapped_lines() -> None:
    text = "Inclusion Criteria:\n1. first\n   continued\n2) second\n(3) third\nExclusion Criteria:\na. x\nii. y"
    assert kinds(text) == [(False, "first continued"), (False, "second"), (False, "third"), (True, "x"), (True, "y")]


def test_nested_items_stay_with_parent() -> None:
    text = ("Inclusion Criteria:\n\n* Active disease as defined by\n\n  * score >= 4\n  * pain >= 4\n* Next\n\n"
            "Exclusion Criteria:\n\n1. Medications:\n\n    1. anticoagulants\n    2. retinoids\n2. Other")
    assert kinds(text) == [
        (False, "Active disease as defined by\n- score >= 4\n- pain >= 4"), (False, "Next"),
        (True, "Medications:\n- anticoagulants\n- retinoids"), (True, "Other")]


def test_preamble_and_sub_headings() -> None:
    text = ("Patients must meet all criteria.\n\nInclusion criteria:\n\nFor adults:\n\n* a\n\nFor parents:\n\n* b\n\n"
            "Exclusion criteria:\n\n* c")
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text, c.group) for c in parsed] == [
        (False, "Patients must meet all criteria.", PREAMBLE), (False, "a", "For adults:"),
        (False, "b", "For parents:"), (True, "c", None)]


def test_no_headings_is_one_unparsed_criterion() -> None:
    parsed = parse_criteria("Adults with asthma\n* nonsmokers")
    assert len(parsed) == 1 and not parsed[0].parsed and not parsed[0].exclude
    assert parsed[0].text == "Adults with asthma\n* nonsmokers"


def test_markdown_escapes_removed_and_bare_markers_dropped() -> None:
    text = "Inclusion Criteria:\n* glucose \\<126 mg/dl and \\>200\n\n   -\nExclusion Criteria:\n* \\[ref\\]"
    assert kinds(text) == [(False, "glucose <126 mg/dl and >200"), (True, "[ref]")]


def test_heading_as_list_item_and_inline_content() -> None:
    assert kinds("* Inclusion Criteria:\n* a\n* Exclusion Criteria: pregnancy") == [(False, "a"), (True, "pregnancy")]


def test_sentence_mentioning_exclusion_is_not_a_heading() -> None:
    text = "Inclusion Criteria:\n* Exclusion of other causes of anemia\nExclusion Criteria:\n* b"
    assert kinds(text) == [(False, "Exclusion of other causes of anemia"), (True, "b")]


def test_empty_and_heading_only() -> None:
    assert parse_criteria("") == []
    assert parse_criteria("Inclusion Criteria:\n\nExclusion Criteria:") == []


def test_huge_text_is_split_whole() -> None:
    # Its speed (linear in the text) is measured in benchmarks/criteria.py, not timed here.
    text = "Inclusion Criteria:\n" + "* criterion number x with words\n" * 20000 + "Exclusion Criteria:\n* e\n"
    parsed = parse_criteria(text)
    assert len(parsed) == 20001 and [c.exclude for c in parsed].count(True) == 1
    long_line = "Inclusion " + "criteria " * 5000 + ":"
    assert parse_criteria(long_line)[0].parsed is False  # far too long to be a heading


def test_registry_disclaimer_is_not_a_criterion() -> None:
    text = ("Inclusion Criteria:\n\n1. Adults\n\nExclusion Criteria:\n\n1. Pregnancy\n\n"
            "The information listed above is not intended to contain all considerations relevant to a patient's "
            "potential participation in a clinical trial and not all inclusion/ exclusion criteria are listed.")
    criteria = parse_criteria(text)
    assert [(c.text, c.exclude) for c in criteria] == [("Adults", False), ("Pregnancy", True)]


# Shapes the registry really uses (issue 13), one test each.

def test_bare_keyword_headings() -> None:
    text = "Inclusion\n\n* Adults\n* ECOG 0-1\n\nExclusion\n\n* Pregnancy"
    assert kinds(text) == [(False, "Adults"), (False, "ECOG 0-1"), (True, "Pregnancy")]


def test_parenthesised_cohort_qualifier_is_kept() -> None:
    text = ("Inclusion Criteria (COVID-19 cohort):\n\nAdults;\n\nInclusion criteria (ARDS cohort):\n\nARDS;\n\n"
            "Exclusion criteria (ARDS cohort):\n\n● Positive PCR")
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text, c.group) for c in parsed] == [
        (False, "Adults;", "COVID-19 cohort"), (False, "ARDS;", "ARDS cohort"), (True, "Positive PCR", "ARDS cohort")]


def test_heading_with_dash_lead_in_sentence() -> None:
    text = ("Study Inclusion Criteria - app users will be eligible to join the study if they:\n\n* are adults\n\n"
            "Study Exclusion Criteria - participants are ineligible for the study if they:\n\n* are pregnant\n\n"
            "Swab exclusion criteria - participants are ineligible for swab testing if they:\n\n* bleed")
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text) for c in parsed] == [(False, "are adults"), (True, "are pregnant"), (True, "bleed")]
    assert parsed[1].group == "participants are ineligible for the study if they:"
    assert parsed[2].group == "Swab - participants are ineligible for swab testing if they:"


def test_combined_heading_is_not_exclusion() -> None:
    for heading in ("Inclusion Criteria and Exclusion Criteria:", "Inclusion/Exclusion Criteria:",
                    "Inclusion and exclusion criteria"):
        parsed = parse_criteria(f"{heading}\n\n-Any patient with MPNST is eligible")
        assert [(c.exclude, c.text) for c in parsed] == [(False, "Any patient with MPNST is eligible")], heading
        assert parsed[0].group == "inclusion and exclusion criteria"


def test_heading_broken_over_two_lines() -> None:
    text = "Inclusion Criteria:\n\n* Inclusion/\n\nExclusion Criteria:\n\n* Age 18 years and older,\n* No illicit drug use,"
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text) for c in parsed] == [(False, "Age 18 years and older,"), (False, "No illicit drug use,")]


def test_plain_lines_without_bullets_are_one_criterion_each() -> None:
    text = ("Inclusion Criteria:Fulfilling all the following criteria\n\nAged between 18 and 60 years.\n"
            "Hospitalized with COVID-19.\nwithout treatment\n\nExclusion Criteria:\n\nPregnant or breastfeeding.\n"
            "Prior allergic reactions to transfusions.")
    assert kinds(text) == [
        (False, "Fulfilling all the following criteria"), (False, "Aged between 18 and 60 years."),
        (False, "Hospitalized with COVID-19."), (False, "without treatment"),
        (True, "Pregnant or breastfeeding."), (True, "Prior allergic reactions to transfusions.")]


def test_plain_line_ending_with_colon_is_a_sub_heading() -> None:
    text = "Inclusion Criteria:\n\nAim 2: vaccination status is one of the following:\n\nnot vaccinated\nhalf vaccinated"
    parsed = parse_criteria(text)
    assert [(c.text, c.group) for c in parsed] == [
        ("not vaccinated", "Aim 2: vaccination status is one of the following:"),
        ("half vaccinated", "Aim 2: vaccination status is one of the following:")]


def test_lead_in_sentences_work_as_headings() -> None:
    text = ("Subjects must meet all of the following criteria to participate in this study:\n\n1. Adult\n2. ECOG 0-1\n\n"
            "A potential subject who meets any of the following criteria will be excluded:\n\n1. Pregnant")
    assert kinds(text) == [(False, "Adult"), (False, "ECOG 0-1"), (True, "Pregnant")]
    # inside an exclusion section a lead-in that does not say "exclusion" stays text, never flips the section
    text = "Exclusion Criteria:\n\nPatients with any of the following criteria:\n\n* a"
    assert kinds(text) == [(True, "a")]


def test_non_inclusion_is_exclusion_and_sentences_are_not_headings() -> None:
    text = ("Inclusion Criteria:\n\n* Adults\n* Non-inclusion criteria:\n* Pregnancy\n\nExclusion Criteria:\n\n"
            "- Does not meet inclusion criteria\n- Use of other drugs at the moment of inclusion:")
    assert kinds(text) == [(False, "Adults"), (True, "Pregnancy"), (True, "Does not meet inclusion criteria"),
                           (True, "Use of other drugs at the moment of inclusion:")]


def test_pdq_topic_headings() -> None:
    text = "DISEASE CHARACTERISTICS:\n\n* Malignant effusion\n\nPATIENT CHARACTERISTICS:\n\n* Age 18 and over"
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text, c.group) for c in parsed] == [
        (False, "Malignant effusion", "Disease characteristics"), (False, "Age 18 and over", "Patient characteristics")]


def test_numbered_items_with_nested_letters_and_roman_numerals() -> None:
    text = ("Inclusion Criteria:\n\n1. Previous therapy:\n\n   a. Escalation: i. at least 1 line\n   b. Expansion\n"
            "2. ECOG 0-1\n\nExclusion Criteria:\n\n1. Brain metastases")
    assert kinds(text) == [(False, "Previous therapy:\n- Escalation: i. at least 1 line\n- Expansion"),
                           (False, "ECOG 0-1"), (True, "Brain metastases")]


def test_protocol_note_is_not_a_criterion() -> None:
    text = "Key Exclusion Criteria:\n\n* Pregnancy\n\nNote: Other protocol defined Inclusion/Exclusion criteria may apply"
    parsed = parse_criteria(text)
    assert [(c.exclude, c.text, c.group) for c in parsed] == [(True, "Pregnancy", None)]
