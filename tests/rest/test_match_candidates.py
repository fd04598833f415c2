"""``$match`` candidates (SQLite and PostgreSQL): the facts kept per study version follow a new version, and the
distance is measured to the sites that count (recruiting ones, any when no site records a status)."""
from __future__ import annotations

from typing import Any

from fhirtrial.canonical import EXTENSION_BASE
from fhirtrial.rest.match_candidates import facts_of, nearest, study_facts
from fhirtrial.store.repository import Key
from fhirtrial.store.sql import SQLRepository

STATUS = f"{EXTENSION_BASE}/site-status"


def _site(ref: str, status: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": ref, "display": ref.upper()}
    if status:
        out["extension"] = [{"url": STATUS, "valueCodeableConcept": {"coding": [{"code": status}]}}]
    return out


def test_facts_follow_the_studys_version(repo: SQLRepository) -> None:
    study = {"resourceType": "ResearchStudy", "status": "active", "title": "Anemia study",
             "condition": [{"text": "Anemia"}], "enrollment": [{"reference": "Group/g1"}]}
    with repo.unit_of_work() as uow:
        first = uow.create("ResearchStudy", study, "s1").stored
    facts = facts_of(repo, [Key("s1", first.version_id, first.last_updated)])["s1"]
    assert facts.conditions == ({"text": "Anemia"},) and facts.group_ref == "Group/g1" and "anemia" in facts.words
    with repo.unit_of_work() as uow:
        second = uow.update("ResearchStudy", "s1", {**study, "title": "Asthma study",
                                                    "condition": [{"text": "Asthma"}]}).stored
    again = facts_of(repo, [Key("s1", second.version_id, second.last_updated)])["s1"]
    assert again.conditions == ({"text": "Asthma"},) and "asthma" in again.words and "anemia" not in again.words
    # a key no longer current (another database's, or the version before): the current version is read
    assert facts_of(repo, [Key("s1", first.version_id, first.last_updated.replace(year=2000))])["s1"] == again
    assert facts_of(repo, [Key("no-such-study", 1, first.last_updated)]) == {}


def test_distance_to_recruiting_sites_only_when_statuses_are_recorded() -> None:
    positions = {"Location/near": (0.0, 0.1), "Location/far": (0.0, 1.0), "Location/mid": (0.0, 0.5)}
    centre = (0.0, 0.0)
    with_status = study_facts({"site": [_site("Location/near", "COMPLETED"), _site("Location/far", "RECRUITING"),
                                        _site("Location/mid", "RECRUITING"), _site("Location/unplaced", "RECRUITING")]})
    site, km = nearest(with_status, positions, centre)
    assert site == {"reference": "Location/mid", "display": "LOCATION/MID"} and km is not None and 55 < km < 56
    site, km = nearest(study_facts({"site": [_site("Location/far"), _site("Location/near")]}), positions, centre)
    assert site is not None and site["reference"] == "Location/near" and km is not None and 11 < km < 12
    assert nearest(study_facts({"site": [_site("Location/near", "COMPLETED")]}), positions, centre) == (None, None)
    assert nearest(study_facts({}), positions, centre) == (None, None)
