"""The eligibility criteria parser on the shapes real records use."""
from __future__ import annotations

import time

from fhirtrial.mapping.criteria import PREAMBLE, parse_criteria


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


def test_huge_text_is_linear() -> None:
    text = "Inclusion Criteria:\n" + "* criterion number x with words\n" * 20000 + "Exclusion Criteria:\n* e\n"
    start = time.perf_counter()
    parsed = parse_criteria(text)
    assert len(parsed) == 20001
    assert time.perf_counter() - start < 2.0
    long_line = "Inclusion " + "criteria " * 5000 + ":"
    assert parse_criteria(long_line)[0].parsed is False  # far too long to be a heading


def test_registry_disclaimer_is_not_a_criterion() -> None:
    text = ("Inclusion Criteria:\n\n1. Adults\n\nExclusion Criteria:\n\n1. Pregnancy\n\n"
            "The information listed above is not intended to contain all considerations relevant to a patient's "
            "potential participation in a clinical trial and not all inclusion/ exclusion criteria are listed.")
    criteria = parse_criteria(text)
    assert [(c.text, c.exclude) for c in criteria] == [("Adults", False), ("Pregnancy", True)]
