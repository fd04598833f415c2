"""Condition suggestions from the index (store/suggest.py): what the stored studies carry, most frequent first,
following writes."""
from __future__ import annotations

from typing import Any

from fhirtrial.store.suggest import Suggester


def _study(repo: Any, rid: str, *conditions: str) -> None:
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", rid, {"resourceType": "ResearchStudy", "id": rid, "status": "active",
                                          "condition": [{"text": c} for c in conditions]})


def test_suggestions_follow_the_stored_conditions(repo: Any) -> None:
    suggester = Suggester()
    assert suggester.suggest(repo.engine, "anem") == []
    _study(repo, "a", "Aplastic Anemia", "Hypertension")
    _study(repo, "b", "Aplastic anemia")
    _study(repo, "c", "Sickle Cell Anemia")
    found = suggester.suggest(repo.engine, "aplas")
    assert [(s.text, s.count) for s in found] == [("aplastic anemia", 2)]
    # A word inside the text matches too, after the texts that start with it.
    assert [s.text for s in suggester.suggest(repo.engine, "anemia")] == ["aplastic anemia", "sickle cell anemia"]
    assert suggester.suggest(repo.engine, "  ") == []
    _study(repo, "d", "Anemia of chronic disease")  # a write after the first lookup is seen by the next
    assert [s.text for s in suggester.suggest(repo.engine, "anemia")][0] == "anemia of chronic disease"
    with repo.unit_of_work() as uow:
        uow.delete("ResearchStudy", "a")
    assert [(s.text, s.count) for s in suggester.suggest(repo.engine, "aplas")] == [("aplastic anemia", 1)]
