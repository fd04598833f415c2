"""Context of mentions and spans from medspaCy's ConText: negation, history, current, hypothetical, family, windows."""
from __future__ import annotations

import pytest

from fhirtrial.criteria import Qualifiers, Window, find_mentions, qualifiers
from fhirtrial.criteria.context import parse_window

from .vocab_data import real_sentence


def q(text: str, words: str) -> Qualifiers:
    start = text.index(words)
    return qualifiers(text, start, start + len(words))


def mention(text: str, words: str):
    hits = [m for m in find_mentions(text) if m.text == words]
    assert hits, [m.text for m in find_mentions(text)]
    return hits[0]


@pytest.mark.parametrize("words, expected", [
    ("within 6 months", (6, "mo", "<=")),
    ("in the past 5 years", (5, "a", "<=")),
    ("within 28 days prior to", (28, "d", "<=")),
    ("at least 4 weeks before", (4, "wk", ">=")),
    ("more than 3 months ago", (3, "mo", ">=")),
    ("no more than 3 months before", (3, "mo", "<=")),
    ("within the last year", (1, "a", "<=")),
    ("six (6) months before", (6, "mo", "<=")),
    ("within 72 hrs", (72, "h", "<=")),
    ("for years", None),
    ("within the study", None),
])
def test_window_words(words: str, expected) -> None:
    assert parse_window(words) == expected


def test_negation_history_and_window_hand_written() -> None:
    text = "No history of myocardial infarction within 6 months prior to randomization"
    m = mention(text, "myocardial infarction")
    assert m.qualifiers.negated and m.qualifiers.historical
    assert m.qualifiers.window == Window(6, "mo", "<=")


def test_termination_ends_a_negation() -> None:
    text = "No uncontrolled hypertension, but asthma is allowed"
    assert mention(text, "hypertension").qualifiers.negated
    assert not mention(text, "asthma").qualifiers.negated


def test_exception_ends_a_history() -> None:
    text = "History of cancer, except basal cell carcinoma"
    assert mention(text, "cancer").qualifiers.historical
    assert not mention(text, "basal cell carcinoma").qualifiers.historical


def test_other_categories() -> None:
    assert mention("Active hepatitis B", "hepatitis B").qualifiers.current
    assert mention("Family history of breast cancer", "breast cancer").qualifiers.family
    assert not mention("Family history of breast cancer", "breast cancer").qualifiers.negated
    assert mention("Planned surgery during the study", "surgery").qualifiers.hypothetical
    assert mention("non-diabetic adults", "diabetic").qualifiers.negated
    assert mention("HIV negative", "HIV").qualifiers.negated
    assert not mention("Non-palpable purpura", "purpura").qualifiers.negated
    assert mention("Chemotherapy at least 4 weeks before the first dose",
                   "Chemotherapy").qualifiers.window == Window(4, "wk", ">=")
    plain = mention("Diagnosis of asthma", "asthma").qualifiers
    assert plain == Qualifiers()


def test_real_sentences_from_the_registry() -> None:
    text = real_sentence("NCT04602871", "No history of COVID-19")
    assert mention(text, "COVID-19").qualifiers.negated

    text = real_sentence("NCT04613596", "No evidence of brain metastases")
    assert mention(text, "brain metastases").qualifiers.negated

    text = real_sentence("NCT04613596", "Untreated brain metastases")
    m = mention(text, "brain metastases")
    assert m.qualifiers.current and not m.qualifiers.negated

    text = real_sentence("NCT05348876", "within 6 months before first dose")
    m = mention(text, "myocardial infarction")
    assert m.qualifiers.window == Window(6, "mo", "<=") and not m.qualifiers.negated

    text = real_sentence("NCT04323787", "COVID-19 PCR positive")
    assert mention(text, "COVID-19").qualifiers.window == Window(7, "d", "<=")

    text = real_sentence("NCT04355897", "immunoglobulin transfusion within 30 days")
    m = mention(text, "transfusion")
    assert m.qualifiers.historical and m.qualifiers.window == Window(30, "d", "<=")


def test_qualifiers_of_a_span_the_vocabulary_does_not_know() -> None:
    text = real_sentence("NCT00517179", "doxazosin GITS once-daily for at least 4 weeks")
    got = q(text, "doxazosin")
    assert got.current and got.window == Window(4, "wk", ">=")


def test_qualifiers_of_bad_spans_are_empty() -> None:
    text = "No asthma"
    assert qualifiers(text, 5, 3) == Qualifiers()
    assert qualifiers(text, -1, 4) == Qualifiers()
    assert qualifiers(text, 0, 99) == Qualifiers()
    assert qualifiers(text, 2, 3) == Qualifiers()  # whitespace only
    assert qualifiers(text, 3, 9).negated


def test_repeated_calls_do_not_accumulate() -> None:
    text = "No asthma or COPD"
    first = [qualifiers(text, 3, 9) for _ in range(3)]
    assert first[0] == first[1] == first[2] and first[0].negated
    assert find_mentions(text) == find_mentions(text)
