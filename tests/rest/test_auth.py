"""Writes and patient data need a bearer token; trial data is public: https://hl7.org/fhir/R4/security.html.

The walk of every path to patient data over a real server is tests/rest/test_patient_data.py."""
from __future__ import annotations

from typing import Any

import httpx

from fhirtrial.config import Settings
from fhirtrial.rest.app import create_app
from fhirtrial.rest.fastpath import ReadFastPath

from .conftest import AUTH, BASE, JSON_HEADERS, TOKEN, assert_outcome, study


async def test_write_without_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post("ResearchStudy", json=study(), headers={"Content-Type": "application/fhir+json"})
    assert_outcome(r, 401, "login")
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("ResearchStudy", json=study(),
                          headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer wrong"})
    assert_outcome(r, 401, "login")
    assert (await client.get("metadata")).status_code == 200


async def test_no_configured_token_means_read_only(database_url: str, repo: Any) -> None:
    app = create_app(Settings(database_url=database_url, api_token=None), repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/") as c:
        r = await c.put("ResearchStudy/x", json=study("x"), headers={"Content-Type": "application/fhir+json"})
        assert_outcome(r, 403, "forbidden", "read-only")
    app = create_app(Settings(database_url=database_url, api_token=None, allow_anonymous_writes=True), repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/") as c:
        r = await c.put("ResearchStudy/x", json=study("x"), headers={"Content-Type": "application/fhir+json"})
        assert r.status_code == 201


async def test_cors_preflight(client: httpx.AsyncClient) -> None:
    r = await client.options("ResearchStudy", headers={"Origin": "https://app.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://app.example")


async def test_capability_statement_says_what_is_protected(client: httpx.AsyncClient) -> None:
    security = (await client.get("metadata")).json()["rest"][0]["security"]
    assert security["cors"] is True
    text = security["description"]
    for needed in ("Authorization: Bearer", "http://hl7.org/fhir/CompartmentDefinition/patient", "Patient",
                   "MedicationStatement", "DocumentReference", "Group", "401", "suppressed",
                   "https://hl7.org/fhir/smart-app-launch/", "does not implement"):
        assert needed in text, needed
    assert "service" not in security  # SMART on FHIR is named as the way to finer scopes, not claimed


class _Counting:
    """The framework app behind the fast path, counting the requests that reach it."""

    def __init__(self, app: Any) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


async def test_fast_path_serves_patient_data_only_to_the_token(database_url: str, repo: Any) -> None:
    app = create_app(Settings(database_url=database_url, api_token=TOKEN), repo)
    inner = _Counting(app)
    fast = ReadFastPath(inner, owner=app, prefix="/fhir")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url=BASE + "/") as c:
        await c.put("Patient/fp", json={"resourceType": "Patient", "id": "fp", "gender": "female"},
                    headers=JSON_HEADERS)
        await c.put("Group/roster", json={"resourceType": "Group", "id": "roster", "type": "person",
                                          "actual": True, "member": [{"entity": {"reference": "Patient/fp"}}]},
                    headers=JSON_HEADERS)
        await c.put("Group/elig", json={"resourceType": "Group", "id": "elig", "type": "person", "actual": False},
                    headers=JSON_HEADERS)
        for path in ("Patient/fp", "Group/roster"):
            before = inner.calls
            for _ in range(2):  # the second answer comes from the read cache
                r = await c.get(path, headers=AUTH)
                assert r.status_code == 200 and r.json()["id"] == path.split("/")[1]
            assert inner.calls == before, f"{path}: the fast path did not answer the token's read"
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                r = await c.get(path, headers=headers)  # cached, yet not served: the full route refuses it
                assert_outcome(r, 401, "login")
                assert r.headers["www-authenticate"] == 'Bearer realm="fhirtrial"'
            assert inner.calls == before + 2
        before = inner.calls
        assert (await c.get("Group/elig")).json()["id"] == "elig"  # a descriptive Group is public
        assert inner.calls == before


async def test_public_group_search_pages_through_the_descriptive_groups(client: httpx.AsyncClient) -> None:
    for gid, actual in (("g1", False), ("g2", True), ("g3", False), ("g4", False)):
        body = {"resourceType": "Group", "id": gid, "type": "person", "actual": actual}
        if actual:
            body["member"] = [{"entity": {"reference": "Patient/p1"}}]
        assert (await client.put(f"Group/{gid}", json=body, headers=JSON_HEADERS)).status_code == 201
    for headers, expected in (({}, ["g1", "g3", "g4"]), (AUTH, ["g1", "g2", "g3", "g4"])):
        seen: list[str] = []
        url: str | None = "Group?_count=1"
        while url:
            page = await client.get(url, headers=headers)
            assert page.status_code == 200, page.text
            bundle = page.json()
            seen += [e["resource"]["id"] for e in bundle.get("entry", ()) if e["search"]["mode"] == "match"]
            assert all("member" not in link["url"] and "actual" not in link["url"] for link in bundle["link"])
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        assert seen == expected
