"""$facets answers are kept until the database's next commit (rest/answer_cache.py), and never served stale,
https://hl7.org/fhir/R4/http.html#read."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx

from .conftest import AUTH, JSON_HEADERS, study


def _total(r: httpx.Response) -> int:
    assert r.status_code == 200, r.text
    return next(p["valueInteger"] for p in r.json()["parameter"] if p["name"] == "total")


def _count_calls(repo: Any) -> list[int]:
    calls: list[int] = []
    real = repo.facets

    def counted(request: Any) -> Any:
        calls.append(1)
        return real(request)

    repo.facets = counted
    return calls


async def test_facets_counted_once_per_committed_state(client: httpx.AsyncClient, repo: Any) -> None:
    for i in range(2):
        assert (await client.post("ResearchStudy", json=study(status="active"), headers=JSON_HEADERS)).status_code == 201
    calls = _count_calls(repo)
    first = await client.get("ResearchStudy/$facets")
    again = await client.get("ResearchStudy/$facets")
    assert _total(first) == _total(again) == 2 and first.content == again.content
    assert len(calls) == 1  # the second answer came from the cache
    other = await client.get("ResearchStudy/$facets", params={"status": "completed"})
    assert _total(other) == 0 and len(calls) == 2  # other filters, other key
    created = await client.post("ResearchStudy", json=study(status="completed"), headers=JSON_HEADERS)
    assert created.status_code == 201
    assert _total(await client.get("ResearchStudy/$facets")) == 3  # a commit empties the cache
    assert _total(await client.get("ResearchStudy/$facets", params={"status": "completed"})) == 1
    assert len(calls) == 4


async def test_a_commit_by_another_process_is_seen(client: httpx.AsyncClient, repo: Any, database_url: str) -> None:
    assert (await client.post("ResearchStudy", json=study(), headers=JSON_HEADERS)).status_code == 201
    assert _total(await client.get("ResearchStudy/$facets")) == 1
    code = ("import sys; from fhirtrial.store.sql import open_repository; r = open_repository(sys.argv[1]); "
            "uow = r.unit_of_work(); w = uow.__enter__(); "
            "w.create('ResearchStudy', {'resourceType': 'ResearchStudy', 'status': 'active', 'title': 'elsewhere'}); "
            "uow.__exit__(None, None, None); r.close()")
    done = subprocess.run([sys.executable, "-c", code, database_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _total(await client.get("ResearchStudy/$facets")) == 2


async def test_answers_are_kept_per_caller(client: httpx.AsyncClient, repo: Any) -> None:
    assert (await client.post("ResearchStudy", json=study(), headers=JSON_HEADERS)).status_code == 201
    calls = _count_calls(repo)
    await client.get("ResearchStudy/$facets")
    await client.get("ResearchStudy/$facets", headers=AUTH)
    assert len(calls) == 2
