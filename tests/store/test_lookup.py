"""The lean reads ``$match`` ranks with (SQLite and PostgreSQL): a search's keys and distances without bodies,
current versions by id, Locations' positions from the index."""
from __future__ import annotations

from typing import Any

from fhirtrial.search.parser import parse_search
from fhirtrial.store.sql import SQLRepository


def _paged(repo: SQLRepository, rtype: str, pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, int, Any]],
                                                                                   dict[str, float]]:
    """Every match of a search paged three at a time: (id, version) in order, and the distances of the pages."""
    request = parse_search(rtype, pairs + [("_count", "3")])
    keys: list[tuple[str, int, Any]] = []
    km: dict[str, float] = {}
    cursor = None
    while True:
        page = repo.search(request, cursor=cursor)
        keys += [(s.id, s.version_id, s.last_updated) for s in page.matches]
        km.update({i: d for (_, i), d in page.distances.items()})
        cursor = page.next_cursor
        if cursor is None:
            return keys, km


def _seeded(repo: SQLRepository) -> None:
    from fhirtrial.loading import load_examples

    load_examples(repo, synthetic=12)


def _a_site(repo: SQLRepository) -> dict[str, Any]:
    page = repo.search(parse_search("Location", [("near", "0|0|20000|km"), ("_count", "1")]))
    return page.matches[0].resource()


def test_search_keys_are_the_searchs_matches_in_its_order(repo: SQLRepository) -> None:
    _seeded(repo)
    pairs = [("recruitment", "RECRUITING,ACTIVE_NOT_RECRUITING,COMPLETED")]
    expected, _ = _paged(repo, "ResearchStudy", pairs)
    assert len(expected) > 3
    keys, km = repo.search_keys(parse_search("ResearchStudy", pairs), 1000)
    assert keys == expected and km == {}
    assert repo.search_keys(parse_search("ResearchStudy", pairs), 2)[0] == expected[:2]
    first = repo.read("ResearchStudy", expected[0][0]).resource()
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", first["id"], {**first, "title": "changed"})
        uow.delete("ResearchStudy", expected[1][0])
    keys, _ = repo.search_keys(parse_search("ResearchStudy", pairs), 1000)
    assert keys[1:] == expected[2:] and keys[0][:2] == (first["id"], expected[0][1] + 1)
    assert keys[0][2] == repo.read("ResearchStudy", first["id"]).last_updated


def test_search_keys_carry_the_distances_of_a_near_search(repo: SQLRepository) -> None:
    _seeded(repo)
    pos = _a_site(repo)["position"]
    for pairs in ([("site-status-near", f"RECRUITING${pos['latitude']}|{pos['longitude']}|3000|km")],
                  [("site.near", f"{pos['latitude']}|{pos['longitude']}|3000|km")]):
        expected, distances = _paged(repo, "ResearchStudy", pairs)
        assert expected and distances
        keys, km = repo.search_keys(parse_search("ResearchStudy", pairs), 1000)
        assert keys == expected
        assert km.keys() == distances.keys() and all(abs(km[i] - distances[i]) < 1e-9 for i in km)


def test_read_many_gives_current_versions_of_existing_resources(repo: SQLRepository) -> None:
    _seeded(repo)
    keys, _ = repo.search_keys(parse_search("ResearchStudy", []), 3)
    a, b, c = (k.id for k in keys)
    study = repo.read("ResearchStudy", a).resource()
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", a, {**study, "title": "now"})
        uow.delete("ResearchStudy", b)
    found = repo.read_many("ResearchStudy", [a, b, c, "no-such-study", a])
    assert sorted(found) == sorted([a, c])
    assert found[a].resource()["title"] == "now" and found[a].version_id == repo.read("ResearchStudy", a).version_id
    assert repo.read_many("Group", [a]) == {}  # the type is part of the key


def test_positions_are_the_locations_own(repo: SQLRepository) -> None:
    _seeded(repo)
    locations = [s.resource() for s in repo.search(parse_search("Location", [("_count", "1000")])).matches]
    placed = {x["id"]: (x["position"]["latitude"], x["position"]["longitude"]) for x in locations
              if "latitude" in (x.get("position") or {})}
    assert placed
    with repo.unit_of_work() as uow:
        uow.create("Location", {"resourceType": "Location", "name": "nowhere"}, "unplaced")
    found = repo.positions([*placed, "unplaced", "no-such-location"])
    assert found.keys() == placed.keys()
    assert all(abs(found[i][0] - placed[i][0]) < 1e-9 and abs(found[i][1] - placed[i][1]) < 1e-9 for i in placed)
