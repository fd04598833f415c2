"""read, vread, create, update, delete: https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import httpx

from .conftest import AUTH, BASE, JSON_HEADERS, assert_outcome, organization, study


async def test_create_assigns_id_and_version(client: httpx.AsyncClient) -> None:
    r = await client.post("Organization", json=organization(id="ignored"), headers=JSON_HEADERS)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] != "ignored"
    assert body["meta"]["versionId"] == "1"
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"] == f"{BASE}/Organization/{body['id']}/_history/1"
    assert r.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert "last-modified" in r.headers
    read = await client.get(f"Organization/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body


async def test_update_creates_versions_and_vread_returns_each(client: httpx.AsyncClient) -> None:
    r1 = await client.put("ResearchStudy/s1", json=study("s1"), headers=JSON_HEADERS)
    assert r1.status_code == 201
    r2 = await client.put("ResearchStudy/s1", json=study("s1", title="Renamed"), headers=JSON_HEADERS)
    assert r2.status_code == 200
    assert r2.json()["meta"]["versionId"] == "2"
    v1 = await client.get("ResearchStudy/s1/_history/1")
    assert v1.json()["title"] == "A study"
    assert v1.headers["etag"] == 'W/"1"'
    v2 = await client.get("ResearchStudy/s1/_history/2")
    assert v2.json()["title"] == "Renamed"


async def test_identical_update_makes_no_new_version(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/same", json=study("same"), headers=JSON_HEADERS)
    r = await client.put("ResearchStudy/same", json=study("same"), headers=JSON_HEADERS)
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "1"


async def test_delete_then_read_is_gone_and_history_kept(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/del", json=study("del"), headers=JSON_HEADERS)
    r = await client.delete("ResearchStudy/del", headers=AUTH)
    assert r.status_code == 204
    assert_outcome(await client.get("ResearchStudy/del"), 410)
    assert (await client.get("ResearchStudy/del/_history/1")).status_code == 200
    # Deleting again is not an error (idempotent).
    assert (await client.delete("ResearchStudy/del", headers=AUTH)).status_code == 204
    # Update after delete brings it back as a new version.
    back = await client.put("ResearchStudy/del", json=study("del"), headers=JSON_HEADERS)
    assert back.status_code in (200, 201)
    assert back.json()["meta"]["versionId"] == "3"


async def test_read_missing_and_unknown_type(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.get("ResearchStudy/nope"), 404, "not-found", "nope")
    assert_outcome(await client.get("Spaceship/1"), 404, "not-found", "Spaceship")
    assert_outcome(await client.get("ResearchStudy/x/_history/abc"), 400, mentions="abc")


async def test_if_match_and_conflicts(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/m", json=study("m"), headers=JSON_HEADERS)
    stale = {**JSON_HEADERS, "If-Match": 'W/"7"'}
    assert_outcome(await client.put("ResearchStudy/m", json=study("m", title="x"), headers=stale), 412)
    ok = {**JSON_HEADERS, "If-Match": 'W/"1"'}
    assert (await client.put("ResearchStudy/m", json=study("m", title="x"), headers=ok)).status_code == 200
    assert_outcome(await client.delete("ResearchStudy/m", headers={**AUTH, "If-Match": 'W/"1"'}), 412)
    assert_outcome(await client.put("ResearchStudy/m", json=study("m"), headers={**JSON_HEADERS, "If-Match": "abc"}),
                   400, mentions="If-Match")


async def test_conditional_reads(client: httpx.AsyncClient) -> None:
    r = await client.put("ResearchStudy/c", json=study("c"), headers=JSON_HEADERS)
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert (await client.get("ResearchStudy/c", headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get("ResearchStudy/c", headers={"If-None-Match": 'W/"9"'})).status_code == 200
    assert (await client.get("ResearchStudy/c", headers={"If-Modified-Since": modified})).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await client.get("ResearchStudy/c", headers={"If-Modified-Since": old})).status_code == 200


async def test_prefer_return(client: httpx.AsyncClient) -> None:
    minimal = await client.post("Organization", json=organization(),
                                headers={**JSON_HEADERS, "Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["location"]
    oo = await client.post("Organization", json=organization(),
                           headers={**JSON_HEADERS, "Prefer": "return=OperationOutcome"})
    assert oo.status_code == 201 and oo.json()["resourceType"] == "OperationOutcome"


async def test_validation_strictness_and_warnings(database_url: str, repo) -> None:  # type: ignore[no-untyped-def]
    """Default: a bad required code is rejected. validation=warning: stored, and the issue is reported."""
    from fhirtrial.config import Settings
    from fhirtrial.rest.app import create_app

    bad = {"resourceType": "Group", "type": "persons", "actual": True}
    for mode in ("error", "warning"):
        app = create_app(Settings(database_url=database_url, api_token="test-token", validation=mode), repo)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/") as c:
            r = await c.post("Group", json=bad, headers={**JSON_HEADERS, "Prefer": "return=OperationOutcome"})
            tx = {"resourceType": "Bundle", "type": "batch",
                  "entry": [{"request": {"method": "POST", "url": "Group"}, "resource": bad}]}
            b = await c.post("", json=tx, headers=JSON_HEADERS)
        if mode == "error":
            assert_outcome(r, 400, mentions="Group.type")
            assert b.json()["entry"][0]["response"]["status"].startswith("400")
        else:
            assert r.status_code == 201
            issues = r.json()["issue"]
            assert any(i["severity"] == "warning" and "Group.type" in i.get("expression", []) for i in issues)
            entry = b.json()["entry"][0]["response"]
            assert entry["status"] == "201 Created"
            assert any("Group.type" in i.get("expression", []) for i in entry["outcome"]["issue"])
