"""_include/_revinclude (:iterate, *), _text/_content, hostile values, and cross-resource indexing."""
from __future__ import annotations

import pytest

from fhirtrial.errors import InvalidRequest
from fhirtrial.search.parser import parse_search
from fhirtrial.store.sql import SQLRepository

from .conftest import ids, page


def keys(resources) -> set[str]:  # type: ignore[no-untyped-def]
    return {f"{r.resource_type}/{r.id}" for r in resources}


def test_include_and_revinclude(corpus: SQLRepository) -> None:
    p = page(corpus, "ResearchStudy", "_id=NCT03418623&_include=ResearchStudy:site&_include=ResearchStudy:sponsor")
    inc = keys(p.included)
    assert inc and all(k.startswith(("Location/", "Organization/")) for k in inc)
    study = p.matches[0].resource()
    assert {s["reference"] for s in study.get("site", [])} <= inc
    only_sites = keys(page(corpus, "ResearchStudy", "_id=NCT03418623&_include=ResearchStudy:site:Location").included)
    assert only_sites and all(k.startswith("Location/") for k in only_sites)
    star = keys(page(corpus, "ResearchStudy", "_id=NCT03418623&_include=ResearchStudy:*").included)
    assert inc <= star and any(k.startswith("Group/") for k in star) and any(k.startswith("PlanDefinition/") for k in star)
    assert keys(page(corpus, "ResearchStudy", "_id=NCT03418623&_include=*").included) == star
    rev = page(corpus, "Group", "_id=NCT03418623-eligibility&_revinclude=ResearchStudy:eligibility")
    assert keys(rev.included) == {"ResearchStudy/NCT03418623"}
    # :iterate: from the group to its study, then on to the study's sites
    it = page(corpus, "Group", "_id=NCT03418623-eligibility&_revinclude=ResearchStudy:eligibility"
                               "&_include:iterate=ResearchStudy:site")
    assert keys(it.included) == {"ResearchStudy/NCT03418623"} | only_sites
    no_it = page(corpus, "Group", "_id=NCT03418623-eligibility&_revinclude=ResearchStudy:eligibility"
                                  "&_include=Group:member")
    assert keys(no_it.included) == {"ResearchStudy/NCT03418623"}
    assert not keys(p.included) & keys(p.matches)


def test_fulltext(corpus: SQLRepository) -> None:
    assert "NCT03418623" in ids(corpus, "ResearchStudy", "_content=GET73&_count=100")
    assert ids(corpus, "ResearchStudy", "_content=nonexistentwordxyz") == []
    both = set(ids(corpus, "ResearchStudy", "_content=GET73,cancer&_count=100"))
    assert both >= set(ids(corpus, "ResearchStudy", "_content=GET73&_count=100")) | set(
        ids(corpus, "ResearchStudy", "_content=cancer&_count=100"))
    ranked = ids(corpus, "ResearchStudy", "_content=cancer&_sort=_score&_count=100")
    assert set(ranked) == set(ids(corpus, "ResearchStudy", "_content=cancer&_count=100")) and ranked
    assert ids(corpus, "Patient", "_text=nothing") == []


HOSTILE = ["' OR 1=1 --", "\"; DROP TABLE resource; --", "x' UNION SELECT body FROM resource --", "%", "_", "\\%",
           "*", "NEAR(a b)", "a OR b", "col : x", "\"unterminated", "\x00", "🙂" * 50, "a" * 5000, "%25%27",
           "${jndi:ldap://x}", "<script>", "\u202e", "NULL", "1) OR (1=1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_just_values(corpus: SQLRepository, value: str) -> None:
    before = corpus.count()
    for name in ("title", "title:contains", "title:exact", "identifier", "condition:text", "_content", "_text",
                 "site.name", "_has:ResearchStudy:site:title", "recruitment:not"):
        rtype = "Location" if name.startswith("_has") else "ResearchStudy"
        try:
            req = parse_search(rtype, [(name, value)], strict=True)
        except InvalidRequest:
            continue
        got = [m.id for m in corpus.search(req).matches]
        if name == "recruitment:not":
            assert len(got) == min(20, corpus.count("ResearchStudy"))
        elif name not in ("_content", "_text"):
            assert got == [], (name, value)
    for name in ("_sort", "_include", "_revinclude", "_count", "_total", "date", "eligible-age", "site.near"):
        if value == "*" and name in ("_include", "_revinclude"):
            continue
        with pytest.raises(InvalidRequest):
            parse_search("ResearchStudy", [(name, value)], strict=True)
    assert corpus.count() == before


def test_like_wildcards_are_literal(repo: SQLRepository) -> None:
    with repo.unit_of_work() as uow:
        for i, name in enumerate(["100% pure", "100 x", "a_b", "axb", "Émile", "EMILE", "back\\slash"]):
            uow.update("Organization", f"o{i}", {"resourceType": "Organization", "id": f"o{i}", "name": name})
    assert ids(repo, "Organization", "name=100%25") == ["o0"]
    assert ids(repo, "Organization", "name:contains=%25") == ["o0"]
    assert ids(repo, "Organization", "name=a_") == ["o2"]
    assert sorted(ids(repo, "Organization", "name=emile")) == ["o4", "o5"]
    assert ids(repo, "Organization", "name:exact=Émile") == ["o4"]
    assert ids(repo, "Organization", "name:contains=k\\\\s") == ["o6"]


GROUP = {"resourceType": "Group", "id": "g1", "type": "person", "actual": False, "characteristic": [
    {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "397669002"}]},
     "valueRange": {"low": {"value": 18, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"},
                    "high": {"value": 65, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}},
     "exclude": False}]}
STUDY = {"resourceType": "ResearchStudy", "id": "s1", "status": "active", "enrollment": [{"reference": "Group/g1"}]}


@pytest.mark.parametrize("group_first", [True, False])
def test_related_resources_in_one_transaction_either_order(repo: SQLRepository, group_first: bool) -> None:
    with repo.unit_of_work() as uow:
        for r in ([GROUP, STUDY] if group_first else [STUDY, GROUP]):
            uow.update(r["resourceType"], r["id"], r)
    assert ids(repo, "ResearchStudy", "eligible-age=30") == ["s1"]
    assert ids(repo, "ResearchStudy", "eligible-age=70") == []
    changed = {**GROUP, "characteristic": [{**GROUP["characteristic"][0], "valueRange": {
        "low": {"value": 60, "code": "a", "system": "http://unitsofmeasure.org"}}}]}
    with repo.unit_of_work() as uow:  # the group changes: the study's index follows
        uow.update("Group", "g1", changed)
    assert ids(repo, "ResearchStudy", "eligible-age=70") == ["s1"]
    assert ids(repo, "ResearchStudy", "eligible-age=30") == []
    with repo.unit_of_work() as uow:
        uow.delete("Group", "g1")
    assert ids(repo, "ResearchStudy", "eligible-age=70") == []
    assert ids(repo, "ResearchStudy", "eligible-age:missing=true") == ["s1"]


def test_reindex_rebuilds_rows(repo: SQLRepository) -> None:
    import sqlalchemy as sa

    from fhirtrial.store.reindex import rebuild

    with repo.unit_of_work() as uow:
        uow.update("Group", "g1", GROUP)
        uow.update("ResearchStudy", "s1", STUDY)
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM idx_number")
        conn.exec_driver_sql("DELETE FROM idx_token")
    assert ids(repo, "ResearchStudy", "eligible-age=30") == []
    assert rebuild(repo) == 2
    assert ids(repo, "ResearchStudy", "eligible-age=30") == ["s1"]
    assert ids(repo, "ResearchStudy", "status=active") == ["s1"]
    with repo.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM idx_number")).scalar_one() >= 1


def test_in_and_not_in_value_sets(corpus: SQLRepository) -> None:
    vs = "http://hl7.org/fhir/ValueSet/research-study-status"
    everything = set(ids(corpus, "ResearchStudy", "_count=1000"))
    inside = set(ids(corpus, "ResearchStudy", f"status:in={vs}&_count=1000"))
    assert inside and inside == {i for i in everything if i in set(ids(corpus, "ResearchStudy", "status:missing=false&_count=1000"))}
    assert set(ids(corpus, "ResearchStudy", f"status:not-in={vs}&_count=1000")) == everything - inside
    with pytest.raises(InvalidRequest):
        ids(corpus, "ResearchStudy", "status:in=http://example.org/no-such-valueset")
