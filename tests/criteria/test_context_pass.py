"""ConText once per criterion (the coder's speed): one pass over all spans of a text gives each span what a pass of
its own gives, and the rule openers skip ConText only on texts where it would find nothing."""
from __future__ import annotations

from dataclasses import replace

import pytest
from medspacy.context import ConTextRule

from fhirtrial.criteria import Qualifiers, find_mentions, qualifiers
from fhirtrial.criteria.concepts import concepts_in, read
from fhirtrial.criteria.context import Context, get_engine, openers
from fhirtrial.criteria.matcher import get_matcher

from .vocab_data import criterion_lines, need_shared, real_sentence


def _spans(text: str) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in get_matcher().find(text)]


def _real_texts(step: int = 1) -> list[str]:
    need_shared()
    return [line for _, line in criterion_lines()[::step]]


def test_one_pass_gives_each_span_its_own_context() -> None:
    engine = get_engine()
    checked = 0
    for text in _real_texts(step=3):
        spans = _spans(text)
        if len(spans) < 2:
            continue
        together = engine.spans(text, spans)
        alone = [engine.spans(text, [span])[0] for span in spans]
        assert together == alone, text
        checked += 1
    assert checked > 100


def test_read_is_find_mentions_and_qualifiers() -> None:
    text = real_sentence("NCT00517179", "doxazosin GITS once-daily for at least 4 weeks")
    spans = [(0, 5), (text.index("doxazosin"), text.index("doxazosin") + 9), (5, 3), (0, len(text) + 1)]
    mentions, context = read(text, spans)
    assert mentions == find_mentions(text)
    assert context == [qualifiers(text, start, end) for start, end in spans]
    assert context[1].current and context[2] == context[3] == Qualifiers()
    assert read("   ", [(0, 2)]) == ([], [Qualifiers()])
    assert read("Hypertension", []) == (find_mentions("Hypertension"), [])


def test_concepts_in_names_what_find_mentions_finds_without_context() -> None:
    text = "No history of hepatic or renal disease"
    assert concepts_in(text) == [(m.start, m.end, m.category, m.codings) for m in find_mentions(text)]
    assert concepts_in("") == concepts_in("  ") == []


def _rule(category: str, literal: str = "x", pattern: object = None) -> ConTextRule:
    return ConTextRule(literal=literal, category=category, pattern=pattern)


def test_openers_of_literals_and_patterns() -> None:
    tokenizer = get_engine().nlp.tokenizer
    got = openers([_rule("NEGATED_EXISTENCE", "No"), _rule("HISTORICAL", "History of"),
                   _rule("TERMINATE", "but"), _rule("PSEUDO", "no increase"),
                   _rule("WINDOW", pattern=[{"LOWER": {"IN": ["past", "last"]}}, {"LOWER": {"IN": ["day", "week"]}}]),
                   _rule("CURRENT", pattern=[{"LOWER": "active"}, {"LOWER": "x", "OP": "?"}])], tokenizer)
    assert got.words == {"no", "active"} and not got.number and not got.always
    assert got.pairs == {("history", "of"), ("past", "day"), ("past", "week"), ("last", "day"), ("last", "week")}
    assert openers([_rule("WINDOW", pattern=[{"LIKE_NUM": True}, {"LOWER": "days"}])], tokenizer).number
    for pattern in ([{"LOWER": "no", "OP": "?"}, {"LOWER": "sign"}], [{"ORTH": "No"}], "no|none"):
        assert openers([_rule("NEGATED_EXISTENCE", pattern=pattern)], tokenizer).always, pattern


def test_a_text_without_openers_skips_conText(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine()
    text = "Diabetes mellitus with hypertension"  # "with" opens no qualifying rule
    spans = _spans(text)
    assert len(spans) == 2
    monkeypatch.setattr(engine, "context", lambda doc: pytest.fail("ConText ran on a text it cannot qualify"))
    assert engine.spans(text, spans) == [Context(frozenset(), ())] * 2


def test_openers_never_skip_a_text_conText_would_qualify(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine()
    texts = [t for t in _real_texts() if _spans(t)]
    skipped = [t for t in texts if not engine.openers.possible(engine.nlp.make_doc(t))]
    assert len(skipped) > len(texts) // 10  # the skip is worth having on the registry's criteria
    monkeypatch.setattr(engine, "openers", replace(engine.openers, always=True))  # ConText on every text
    for text in skipped:
        assert engine.spans(text, _spans(text)) == [Context(frozenset(), ())] * len(_spans(text)), text
