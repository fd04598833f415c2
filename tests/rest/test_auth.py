"""Writes need a bearer token; reads are public: https://hl7.org/fhir/R4/security.html."""
from __future__ import annotations

from typing import Any

import httpx

from fhirtrial.config import Settings
from fhirtrial.rest.app import create_app

from .conftest import BASE, assert_outcome, study


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
