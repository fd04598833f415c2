"""Conditional create is guarded against racing creators: https://hl7.org/fhir/R4/http.html#ccreate (and the
conditional update that creates, https://hl7.org/fhir/R4/http.html#cond-update)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fhirtrial.rest import interactions
from fhirtrial.store.repository import WriteResult
from fhirtrial.store.sql import SQLRepository

from ..support.server import ServerProcess
from .conftest import organization

TOKEN = "race-token"


def _org(value: str, **extra: Any) -> dict[str, Any]:
    return organization(f"Org {value}", identifier=[{"system": "urn:race", "value": value}], **extra)


def _create(repo: SQLRepository, value: str) -> WriteResult:
    with repo.unit_of_work() as uow:
        return interactions.create(uow, "Organization", _org(value), if_none_exist=f"identifier=urn:race|{value}")


def _count(repo: SQLRepository, value: str) -> int:
    return len(repo.find_ids("Organization", {"identifier": [f"urn:race|{value}"]}))


def test_a_create_racing_an_uncommitted_one_answers_with_it(repo: SQLRepository) -> None:
    """The second creator searches while the first has created but not committed: it must wait for the first
    and answer with its resource, not create a second one."""
    second: dict[str, WriteResult] = {}
    with repo.unit_of_work() as uow:
        first = interactions.create(uow, "Organization", _org("1"), if_none_exist="identifier=urn:race|1")
        assert first.outcome == "created"
        racer = threading.Thread(target=lambda: second.setdefault("result", _create(repo, "1")))
        racer.start()
        racer.join(1.0)
        assert racer.is_alive(), "the second create did not wait for the first one's transaction"
    racer.join(30)
    assert second["result"].outcome == "unchanged" and second["result"].stored.id == first.stored.id
    assert _count(repo, "1") == 1


def test_a_claim_whose_resource_is_gone_or_changed_is_taken_over(repo: SQLRepository) -> None:
    created = _create(repo, "2")
    assert created.outcome == "created" and _create(repo, "2").stored.id == created.stored.id
    with repo.unit_of_work() as uow:
        uow.delete("Organization", created.stored.id)
    again = _create(repo, "2")
    assert again.outcome == "created" and again.stored.id != created.stored.id
    with repo.unit_of_work() as uow:  # the resource no longer matches the criteria
        uow.update("Organization", again.stored.id, {**_org("other"), "id": again.stored.id})
    third = _create(repo, "2")
    assert third.outcome == "created" and third.stored.id not in (created.stored.id, again.stored.id)
    assert _create(repo, "2").stored.id == third.stored.id and _count(repo, "2") == 1


def test_conditional_update_that_creates_is_guarded_too(repo: SQLRepository) -> None:
    criteria = "identifier=urn:race|3"
    second: dict[str, WriteResult] = {}

    def put() -> WriteResult:
        with repo.unit_of_work() as uow:
            return interactions.conditional_update(uow, "Organization", criteria, {**_org("3"), "name": "second"})

    with repo.unit_of_work() as uow:
        first = interactions.conditional_update(uow, "Organization", criteria, _org("3"))
        assert first.outcome == "created"
        racer = threading.Thread(target=lambda: second.setdefault("result", put()))
        racer.start()
        racer.join(1.0)
        assert racer.is_alive()
    racer.join(30)
    assert second["result"].outcome == "updated" and second["result"].stored.id == first.stored.id
    assert _count(repo, "3") == 1


@pytest.fixture
def server(database_url: str, repo: Any, tmp_path: Path) -> Iterator[str]:
    """``fhirtrial serve`` on the database under test, with two worker processes."""
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN, workers=2) as proc:
        yield proc.base


def _status(response: httpx.Response, route: str) -> tuple[int, str]:
    """The status and the resource id a racer got (a transaction's: its entry's)."""
    if route != "transaction entry":
        return response.status_code, response.json()["id"]
    assert response.status_code == 200, response.text
    entry = response.json()["entry"][0]
    return int(entry["response"]["status"].split()[0]), entry["resource"]["id"]


@pytest.mark.parametrize("route", ["POST If-None-Exist", "conditional PUT", "transaction entry"])
def test_racing_creates_over_http_make_one_resource(server: str, route: str) -> None:
    racers, rounds = 12, 4
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    clients = [httpx.Client(timeout=60, headers=headers) for _ in range(racers)]
    try:
        for n in range(rounds):
            value = f"http-{route[0]}-{n}"
            start = threading.Barrier(racers)

            def send(client: httpx.Client) -> httpx.Response:
                start.wait()
                if route.startswith("POST"):
                    return client.post(f"{server}/Organization", json=_org(value),
                                       headers={"If-None-Exist": f"identifier=urn:race|{value}"})
                if route.startswith("transaction"):
                    entry = {"resource": _org(value), "request": {
                        "method": "POST", "url": "Organization", "ifNoneExist": f"identifier=urn:race|{value}"}}
                    return client.post(server, json={"resourceType": "Bundle", "type": "transaction",
                                                     "entry": [entry]})
                return client.put(f"{server}/Organization", params={"identifier": f"urn:race|{value}"},
                                  json=_org(value))

            with ThreadPoolExecutor(max_workers=racers) as pool:
                answers = [_status(r, route) for r in pool.map(send, clients)]
            statuses = sorted(status for status, _ in answers)
            assert statuses == [200] * (racers - 1) + [201], answers
            assert len({rid for _, rid in answers}) == 1
            found = httpx.get(f"{server}/Organization", params={"identifier": f"urn:race|{value}"}).json()
            assert found["total"] == 1, found
    finally:
        for client in clients:
            client.close()
