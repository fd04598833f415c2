"""Batch and transaction Bundles: https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

import base64

import httpx
import orjson

from .conftest import AUTH, JSON_HEADERS, assert_outcome, organization, study


def _entry(method: str, url: str, resource: dict | None = None, full_url: str | None = None, **request) -> dict:
    entry: dict = {"request": {"method": method, "url": url, **request}}
    if resource is not None:
        entry["resource"] = resource
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _bundle(kind: str, *entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


async def test_transaction_rewrites_urn_uuid_references(client: httpx.AsyncClient) -> None:
    org_urn = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"
    tx = _bundle("transaction",
                 _entry("PUT", "ResearchStudy/tx1", study("tx1", sponsor={"reference": org_urn})),
                 _entry("POST", "Organization", organization("Sponsor"), org_urn))
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    org_location = body["entry"][1]["response"]["location"]
    org_id = org_location.split("/Organization/")[1].split("/")[0]
    assert body["entry"][1]["response"]["etag"] == 'W/"1"'
    stored = (await client.get("ResearchStudy/tx1")).json()
    assert stored["sponsor"]["reference"] == f"Organization/{org_id}"


async def test_transaction_is_all_or_nothing(client: httpx.AsyncClient) -> None:
    tx = _bundle("transaction",
                 _entry("PUT", "ResearchStudy/ok1", study("ok1")),
                 _entry("POST", "Organization", organization()),
                 _entry("PUT", "ResearchStudy/bad", {"resourceType": "ResearchStudy", "id": "bad"}))
    body = assert_outcome(await client.post("", json=tx, headers=JSON_HEADERS), 400, mentions="Bundle.entry[2]")
    assert body
    assert (await client.get("ResearchStudy/ok1")).status_code == 404
    assert (await client.get("_history", headers=AUTH)).json()["total"] == 0


async def test_dangling_urn_reference_is_rejected(client: httpx.AsyncClient) -> None:
    tx = _bundle("transaction", _entry("PUT", "ResearchStudy/d1",
                                       study("d1", sponsor={"reference": "urn:uuid:00000000-0000-0000-0000-00000000dead"})))
    assert_outcome(await client.post("", json=tx, headers=JSON_HEADERS), 400, mentions="urn:uuid")
    assert (await client.get("ResearchStudy/d1")).status_code == 404


async def test_transaction_order_delete_before_create(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/gone", json=study("gone"), headers=JSON_HEADERS)
    tx = _bundle("transaction",
                 _entry("GET", "ResearchStudy/gone"),
                 _entry("POST", "Organization", organization("New")),
                 _entry("DELETE", "ResearchStudy/gone"))
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    # GET runs last, after the DELETE, so the read inside the transaction finds it deleted (as a direct read would).
    assert_outcome(r, 410, mentions="Bundle.entry[0]")
    tx = _bundle("transaction", _entry("POST", "Organization", organization("New")),
                 _entry("DELETE", "ResearchStudy/gone"))
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["201 Created", "204 No Content"]


async def test_batch_entries_fail_independently(client: httpx.AsyncClient) -> None:
    batch = _bundle("batch",
                    _entry("PUT", "ResearchStudy/b1", study("b1")),
                    _entry("PUT", "ResearchStudy/b2", {"resourceType": "ResearchStudy", "id": "b2"}),
                    _entry("GET", "ResearchStudy/missing"))
    r = await client.post("", json=batch, headers=JSON_HEADERS)
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("400")
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[2]["response"]["status"].startswith("404")
    assert (await client.get("ResearchStudy/b1")).status_code == 200


async def test_conditional_create_in_transaction_and_patch_entry(client: httpx.AsyncClient) -> None:
    org = organization("Cond", identifier=[{"system": "urn:test", "value": "42"}])
    r1 = await client.post("Organization", json=org, headers={**JSON_HEADERS, "If-None-Exist": "identifier=urn:test|42"})
    assert r1.status_code == 201
    r2 = await client.post("Organization", json=org, headers={**JSON_HEADERS, "If-None-Exist": "identifier=urn:test|42"})
    assert r2.status_code == 200 and r2.json()["id"] == r1.json()["id"]
    await client.put("ResearchStudy/pt", json=study("pt"), headers=JSON_HEADERS)
    patch = base64.b64encode(orjson.dumps([{"op": "replace", "path": "/title", "value": "Via bundle"}])).decode()
    tx = _bundle("transaction",
                 _entry("POST", "Organization", org, ifNoneExist="identifier=urn:test|42"),
                 _entry("PATCH", "ResearchStudy/pt", {"resourceType": "Binary", "contentType":
                                                      "application/json-patch+json", "data": patch}))
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert r.status_code == 200, r.text
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["200 OK", "200 OK"]
    assert (await client.get("ResearchStudy/pt")).json()["title"] == "Via bundle"
    assert (await client.get("Organization/_history")).json()["total"] == 1


async def test_conditional_update_and_delete(client: httpx.AsyncClient) -> None:
    org = organization("By identifier", identifier=[{"system": "urn:test", "value": "7"}])
    r = await client.put("Organization?identifier=urn:test|7", json=org, headers=JSON_HEADERS)
    assert r.status_code == 201
    rid = r.json()["id"]
    r = await client.put("Organization?identifier=urn:test|7", json={**org, "name": "Renamed"}, headers=JSON_HEADERS)
    assert r.status_code == 200 and r.json()["id"] == rid and r.json()["meta"]["versionId"] == "2"
    await client.post("Organization", json=org, headers=JSON_HEADERS)
    assert_outcome(await client.put("Organization?identifier=urn:test|7", json=org, headers=JSON_HEADERS), 412)
    assert_outcome(await client.delete("Organization?identifier=urn:test|7", headers=AUTH), 412)
    assert (await client.delete(f"Organization?_id={rid}", headers=AUTH)).status_code == 204
    assert (await client.get(f"Organization/{rid}")).status_code == 410


async def test_not_a_batch(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.post("", json=study(), headers=JSON_HEADERS), 400, mentions="Bundle")
    assert_outcome(await client.post("", json={"resourceType": "Bundle", "type": "collection"}, headers=JSON_HEADERS),
                   400, mentions="Bundle.type")
