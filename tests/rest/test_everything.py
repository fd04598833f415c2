"""``GET /ResearchStudy/{id}/$everything``: the study and everything it references, paged like a search."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.export.helpers import BASE, current, expected_closure, load_studies

from .conftest import assert_outcome


async def _pages(client: httpx.AsyncClient, url: str) -> list[dict]:
    pages = []
    while url:
        r = await client.get(url)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        url = next((link["url"] for link in pages[-1].get("link", []) if link["relation"] == "next"), None)
        assert len(pages) < 100
    return pages


def _keys(page: dict) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in page.get("entry", [])
            if e["search"]["mode"] != "outcome"]


async def test_everything_holds_the_study_and_its_closure(client: httpx.AsyncClient, repo: Any) -> None:
    ids = load_studies(repo, 4)
    stored = current(repo)
    study = ids[2]
    expected = expected_closure(stored, ("ResearchStudy", study))
    assert {rt for rt, _ in expected} >= {"ResearchStudy", "PlanDefinition", "Group", "Organization"}
    r = await client.get(f"ResearchStudy/{study}/$everything", params={"_count": "50"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    assert body["total"] == len(expected)
    entries = body["entry"]
    assert entries[0]["search"]["mode"] == "match" and entries[0]["resource"]["id"] == study
    assert all(e["search"]["mode"] == "include" for e in entries[1:])
    assert set(_keys(body)) == expected
    for e in entries:
        assert e["fullUrl"] == f"{BASE}/{e['resource']['resourceType']}/{e['resource']['id']}"
        assert e["resource"] == stored[(e["resource"]["resourceType"], e["resource"]["id"])]


async def test_paging_covers_every_resource_exactly_once(client: httpx.AsyncClient, repo: Any) -> None:
    ids = load_studies(repo, 6, seed=7)
    stored = current(repo)
    study = max(ids, key=lambda i: len(expected_closure(stored, ("ResearchStudy", i))))
    expected = expected_closure(stored, ("ResearchStudy", study))
    assert len(expected) > 3
    pages = await _pages(client, f"ResearchStudy/{study}/$everything?_count=2")
    keys = [k for p in pages for k in _keys(p)]
    assert len(keys) == len(set(keys)) == len(expected) and set(keys) == expected
    assert len(pages) == (len(expected) + 1) // 2
    assert all(p["total"] == len(expected) for p in pages)
    links = {link["relation"]: link["url"] for link in pages[1]["link"]}
    assert {"self", "first", "previous"} <= set(links)
    first = (await client.get(links["first"])).json()
    assert _keys(first) == _keys(pages[0])
    previous = (await client.get(links["previous"])).json()
    assert _keys(previous) == _keys(pages[0])
    assert "next" not in {link["relation"] for link in pages[-1]["link"]}


async def test_type_filter(client: httpx.AsyncClient, repo: Any) -> None:
    ids = load_studies(repo, 3)
    stored = current(repo)
    expected = expected_closure(stored, ("ResearchStudy", ids[0]))
    r = await client.get(f"ResearchStudy/{ids[0]}/$everything", params={"_type": "Organization,Group", "_count": "50"})
    body = r.json()
    assert set(_keys(body)) == {k for k in expected if k[0] in ("Organization", "Group")}
    assert body["total"] == len(_keys(body))
    r = await client.get(f"ResearchStudy/{ids[0]}/$everything", params={"_type": "ResearchStudy"})
    assert _keys(r.json()) == [("ResearchStudy", ids[0])]
    assert_outcome(await client.get(f"ResearchStudy/{ids[0]}/$everything", params={"_type": "Nope"}), 400,
                   mentions="Nope")


async def test_extension_references_and_dangling_ones(client: httpx.AsyncClient, repo: Any) -> None:
    with repo.unit_of_work() as uow:
        uow.update("Organization", "collab", {"resourceType": "Organization", "name": "Collaborator",
                                              "partOf": {"reference": "Organization/parent"}})
        uow.update("Organization", "parent", {"resourceType": "Organization", "name": "Parent"})
        uow.update("ResearchStudy", "s1", {"resourceType": "ResearchStudy", "status": "active", "extension": [
            {"url": "https://example.org/collaborator", "valueReference": {"reference": "Organization/collab"}}],
            "site": [{"reference": "Location/missing"}]})
    body = (await client.get("ResearchStudy/s1/$everything")).json()
    assert set(_keys(body)) == {("ResearchStudy", "s1"), ("Organization", "collab"), ("Organization", "parent")}
    outcome = [e for e in body["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcome) == 1 and "Location/missing" in outcome[0]["resource"]["issue"][0]["diagnostics"]


async def test_unknown_deleted_and_bad_requests(client: httpx.AsyncClient, repo: Any) -> None:
    assert_outcome(await client.get("ResearchStudy/nope/$everything"), 404, "not-found")
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "gone", {"resourceType": "ResearchStudy", "status": "active"})
        uow.delete("ResearchStudy", "gone")
    assert_outcome(await client.get("ResearchStudy/gone/$everything"), 410)
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "s", {"resourceType": "ResearchStudy", "status": "active"})
    assert_outcome(await client.get("ResearchStudy/s/$everything", params={"_cursor": "garbage!"}), 400,
                   mentions="_cursor")
    assert_outcome(await client.get("ResearchStudy/s/$everything", params={"_count": "-1"}), 400)


@pytest.mark.parametrize("count", ["0"])
async def test_count_zero_gives_the_total_only(client: httpx.AsyncClient, repo: Any, count: str) -> None:
    ids = load_studies(repo, 1)
    body = (await client.get(f"ResearchStudy/{ids[0]}/$everything", params={"_count": count})).json()
    assert "entry" not in body and body["total"] == len(expected_closure(current(repo), ("ResearchStudy", ids[0])))


async def test_protocol_eligibility_and_sponsors_come_before_the_sites(client: httpx.AsyncClient, repo: Any) -> None:
    """A study with many sites: its first page holds the study, protocol, eligibility and sponsor, whatever the
    order of the stored body's keys (``site`` is written first here, as PostgreSQL's jsonb orders them)."""
    sites = [f"loc-{i:03d}" for i in range(40)]
    with repo.unit_of_work() as uow:
        for sid in sites:
            uow.update("Location", sid, {"resourceType": "Location", "name": f"Site {sid}",
                                         "managingOrganization": {"reference": "Organization/hospital"}})
        uow.update("Organization", "hospital", {"resourceType": "Organization", "name": "Hospital"})
        uow.update("Organization", "sponsor", {"resourceType": "Organization", "name": "Sponsor"})
        uow.update("Practitioner", "pi", {"resourceType": "Practitioner", "name": [{"family": "Doe"}]})
        uow.update("Group", "elig", {"resourceType": "Group", "type": "person", "actual": False})
        uow.update("PlanDefinition", "proto", {"resourceType": "PlanDefinition", "status": "active",
                                               "subjectReference": {"reference": "Group/elig"}})
        uow.update("ResearchStudy", "big", {
            "resourceType": "ResearchStudy", "site": [{"reference": f"Location/{s}"} for s in sites],
            "principalInvestigator": {"reference": "Practitioner/pi"},
            "sponsor": {"reference": "Organization/sponsor"}, "enrollment": [{"reference": "Group/elig"}],
            "status": "active", "protocol": [{"reference": "PlanDefinition/proto"}]})
    first = (await client.get("ResearchStudy/big/$everything", params={"_count": "5"})).json()
    assert _keys(first) == [("ResearchStudy", "big"), ("PlanDefinition", "proto"), ("Group", "elig"),
                            ("Organization", "sponsor"), ("Practitioner", "pi")]
    pages = await _pages(client, "ResearchStudy/big/$everything?_count=50")
    keys = [k for p in pages for k in _keys(p)]
    assert keys[5:45] == [("Location", s) for s in sites]  # the sites in the study's order
    assert keys[45:] == [("Organization", "hospital")]  # what the sites reference comes last
