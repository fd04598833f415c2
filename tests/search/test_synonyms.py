"""condition:text is expanded with fhirtrial.criteria.synonyms() (the contract the vocabulary fills)."""
from __future__ import annotations

from typing import Any

import pytest

import fhirtrial.criteria
from fhirtrial.search.parser import parse_search
from fhirtrial.search.request import TextValue
from fhirtrial.store.sql import SQLRepository

ENTRY_TERMS = {"coronavirus": ["COVID-19", "Coronavirus Disease 2019", "covid-19"], "sars-cov-2": ["COVID-19"]}


@pytest.fixture
def vocabulary(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def synonyms(term: str) -> list[str]:
        asked.append(term)
        return ENTRY_TERMS.get(term.lower(), [])

    monkeypatch.setattr(fhirtrial.criteria, "synonyms", synonyms)
    return asked


def test_condition_text_values_gain_their_synonyms_once(vocabulary: list[str]) -> None:
    f = parse_search("ResearchStudy", [("condition:text", "coronavirus,asthma")]).filters[0]
    assert f.values == (TextValue("coronavirus", "coronavirus"), TextValue("asthma", "asthma"),
                        TextValue("COVID-19", "covid-19"), TextValue("Coronavirus Disease 2019", "coronavirus disease 2019"))
    assert f.raw == ("coronavirus", "asthma")  # the self link keeps what the client sent
    assert vocabulary == ["coronavirus", "asthma"]


def test_other_parameters_and_modifiers_are_not_expanded(vocabulary: list[str]) -> None:
    assert len(parse_search("ResearchStudy", [("keyword:text", "coronavirus")]).filters[0].values) == 1
    assert len(parse_search("ResearchStudy", [("condition", "coronavirus")]).filters[0].values) == 1
    assert vocabulary == []


def _study(rid: str, condition: str) -> dict[str, Any]:
    return {"resourceType": "ResearchStudy", "id": rid, "status": "active", "condition": [{"text": condition}]}


def test_search_finds_studies_by_a_synonym(repo: SQLRepository, vocabulary: list[str]) -> None:
    with repo.unit_of_work() as uow:
        for body in (_study("c1", "COVID-19 Pneumonia"), _study("c2", "Asthma"), _study("c3", "Coronavirus Infection")):
            uow.update("ResearchStudy", body["id"], body)
    found = {m.id for m in repo.search(parse_search("ResearchStudy", [("condition:text", "coronavirus")])).matches}
    assert found == {"c1", "c3"}
    found = {m.id for m in repo.search(parse_search("ResearchStudy", [("condition:text", "SARS-CoV-2")])).matches}
    assert found == {"c1"}


def test_without_synonyms_only_the_words_match(repo: SQLRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhirtrial.criteria, "synonyms", lambda term: [])
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "c1", _study("c1", "COVID-19 Pneumonia"))
    assert repo.search(parse_search("ResearchStudy", [("condition:text", "coronavirus")])).matches == []
