"""The read fast path answers exactly as the full read route: https://hl7.org/fhir/R4/http.html#read."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from fhirtrial.config import Settings
from fhirtrial.rest.app import create_app
from fhirtrial.rest.fastpath import ReadFastPath

from .conftest import BASE, JSON_HEADERS, TOKEN, study


class Framework:
    """The full app, counting the requests that reach it: whatever the fast path answers never gets here."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


async def test_fast_and_full_reads_agree(database_url: str, repo: Any) -> None:
    app = create_app(Settings(database_url=database_url, api_token=TOKEN), repo)
    framework = Framework(app)
    fast = ReadFastPath(framework, owner=app, prefix="/fhir")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=BASE + "/") as c:
        await c.put("ResearchStudy/fp", json=study("fp"), headers=JSON_HEADERS)
        assert framework.calls == ["PUT /fhir/ResearchStudy/fp"]
        plain = await c.get("ResearchStudy/fp")  # fast path
        assert framework.calls == ["PUT /fhir/ResearchStudy/fp"]  # answered without the framework
        await c.get("ResearchStudy/fp")  # the cached answer, also without it
        assert len(framework.calls) == 1
        full = await c.get("ResearchStudy/fp", params={"_format": "json"})  # a query string: the full route
        assert framework.calls[-1] == "GET /fhir/ResearchStudy/fp" and len(framework.calls) == 2
        assert plain.status_code == full.status_code == 200
        assert plain.content == full.content
        for header in ("content-type", "etag", "last-modified"):
            assert plain.headers[header] == full.headers[header]
        # What the fast path does not serve falls through and still gets the right answer.
        assert (await c.get("ResearchStudy/none")).json()["resourceType"] == "OperationOutcome"
        assert (await c.get("ResearchStudy/fp", headers={"If-None-Match": plain.headers["etag"]})).status_code == 304
        xml = await c.get("ResearchStudy/fp", headers={"Accept": "application/fhir+xml"})
        assert xml.headers["content-type"].startswith("application/fhir+xml")
        cors = await c.get("ResearchStudy/fp", headers={"Origin": "https://app.example"})
        assert cors.headers["access-control-allow-origin"] in ("*", "https://app.example")
        assert len(framework.calls) == 6  # each of the four fell through


async def test_the_fast_path_answers_alone(database_url: str, repo: Any) -> None:
    """With the framework made unable to answer, plain reads still succeed: the fast path served them."""
    app = create_app(Settings(database_url=database_url, api_token=TOKEN), repo)
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "alone", study("alone"))

    async def unable(scope: dict, receive: Any, send: Any) -> None:
        raise AssertionError(f"reached the framework: {scope.get('method')} {scope.get('path')}")

    fast = ReadFastPath(unable, owner=app, prefix="/fhir")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=BASE + "/") as c:
        for _ in range(2):  # from the store, then from the cache
            r = await c.get("ResearchStudy/alone")
            assert r.status_code == 200 and r.json()["id"] == "alone" and r.headers["etag"] == 'W/"1"'
        with pytest.raises(AssertionError, match="reached the framework"):
            await c.get("ResearchStudy/alone", params={"_pretty": "true"})


async def test_fast_path_sees_writes_of_other_processes(database_url: str, repo: Any) -> None:
    """Cached answers last only until the next commit, whoever makes it (here a second repository, as a second
    server process would)."""
    from fhirtrial.store.sql import SQLRepository

    app = create_app(Settings(database_url=database_url, api_token=TOKEN), repo)
    fast = ReadFastPath(app, owner=app, prefix="/fhir")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=BASE + "/") as c:
        await c.put("ResearchStudy/fc", json=study("fc"), headers=JSON_HEADERS)
        first = await c.get("ResearchStudy/fc")
        assert (await c.get("ResearchStudy/fc")).content == first.content
        other = SQLRepository(database_url)
        try:
            with other.unit_of_work() as uow:
                uow.update("ResearchStudy", "fc", study("fc", status="completed"))
        finally:
            other.close()
        second = await c.get("ResearchStudy/fc")
        assert second.headers["etag"] == 'W/"2"' and second.json()["status"] == "completed"
        await c.delete("ResearchStudy/fc", headers=JSON_HEADERS)
        assert (await c.get("ResearchStudy/fc")).status_code == 410
