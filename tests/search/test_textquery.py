"""The boolean syntax of _text/_content (https://hl7.org/fhir/R4/search.html#text) and its FTS5 form."""
from __future__ import annotations

import pytest

from fhirtrial.search.textquery import And, Not, Or, Words, fts5_query, matches_text, parse_text_query


@pytest.mark.parametrize(("text", "tree"), [
    ("(bone OR liver) and metastases", And((Or((Words(("bone",)), Words(("liver",)))), Words(("metastases",))))),
    ("heart attack OR infarction", Or((And((Words(("heart",)), Words(("attack",)))), Words(("infarction",))))),
    ('"heart failure" -diabetes', And((Words(("heart", "failure")), Not(Words(("diabetes",)))))),
    ("cancer NOT lung", And((Words(("cancer",)), Not(Words(("lung",)))))),
    ("covid-19", Words(("covid", "19"))),
    ("cancer AND", Words(("cancer",))),
    ("OR cancer", Words(("cancer",))),
    ('"no end', Words(("no", "end"))),
    ("(a b", And((Words(("a",)), Words(("b",))))),
    ("a) b", And((Words(("a",)), Words(("b",))))),
    ("not recruiting", And((Words(("not",)), Words(("recruiting",))))),  # NOT is an operator in capitals only
    ("Größe Ärzte", And((Words(("Größe",)), Words(("Ärzte",))))),
])
def test_trees(text: str, tree: object) -> None:
    assert parse_text_query(text) == tree


def test_fts5_form_quotes_every_word() -> None:
    assert fts5_query(parse_text_query('(bone OR liver) and "liver metastases" -lung NOT brain')) == \
        '(((("bone" OR "liver") AND "liver metastases") NOT "lung") NOT "brain")'
    hostile = fts5_query(parse_text_query('x" OR NEAR(a b) col:y * ^z {w}'))
    assert hostile.count('"') % 2 == 0 and "NEAR(" not in hostile and "*" not in hostile and ":" not in hostile


@pytest.mark.parametrize("text", ["", "   ", "***", '""', "-cancer", "NOT cancer", "a OR -b", "(a OR NOT b) c",
                                  "(" * 20 + "a", "NOT " * 5000 + "a", " ".join(f"w{i}" for i in range(65))])
def test_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_text_query(text)


@pytest.mark.parametrize(("query", "expected"), [
    ("bone", True), ("Bone PAIN", True), ('"bone pain"', True), ('"pain bone"', False), ("bone -pain", False),
    ("(liver OR bone) and metastases", True), ("liver OR lung", False), ("métastases", True), ("bones", False),
])
def test_in_memory_matching(query: str, expected: bool) -> None:
    assert matches_text(parse_text_query(query), "Metastases: bone pain, in the spine") is expected
