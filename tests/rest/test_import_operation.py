"""POST /ResearchStudy/$import-ctgov: records pushed over HTTP, answered with a batch-response Bundle."""
from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from fhirtrial.config import Settings
from fhirtrial.ingest.synth import generate
from fhirtrial.rest.app import create_app

from .conftest import AUTH, BASE, TOKEN, assert_outcome

URL = "ResearchStudy/$import-ctgov"
HEADERS = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture
async def big_client(database_url: str, repo: Any) -> Any:
    settings = Settings(database_url=database_url, api_token=TOKEN, max_body_bytes=5_000_000)
    app = create_app(settings, repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url=BASE + "/") as c:
        yield c


def _records(n: int, seed: int = 4) -> list[dict[str, Any]]:
    return list(generate(n, seed))


def _nct(r: dict[str, Any]) -> str:
    return r["protocolSection"]["identificationModule"]["nctId"]


async def test_one_record(big_client: httpx.AsyncClient) -> None:
    record = _records(1)[0]
    r = await big_client.post(URL, content=orjson.dumps(record), headers=HEADERS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "batch-response"
    first = body["entry"][0]["response"]
    assert first["status"] == "201 Created"
    assert first["location"] == f"{BASE}/ResearchStudy/{_nct(record)}/_history/1" and first["etag"] == 'W/"1"'
    read = await big_client.get(f"ResearchStudy/{_nct(record)}")
    assert read.status_code == 200 and read.json()["meta"]["versionId"] == "1"
    again = await big_client.post(URL, content=orjson.dumps(record), headers=HEADERS)
    assert {e["response"]["status"] for e in again.json()["entry"]} == {"200 OK"}
    assert all(e["response"]["etag"] == 'W/"1"' for e in again.json()["entry"])


@pytest.mark.parametrize("shape", ["list-response", "array"])
async def test_lists_with_a_broken_study(big_client: httpx.AsyncClient, shape: str) -> None:
    records = _records(3)
    studies: list[Any] = [records[0], {"protocolSection": {}}, records[1], records[2]]
    payload = {"studies": studies} if shape == "list-response" else studies
    r = await big_client.post(URL, content=orjson.dumps(payload), headers=HEADERS)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    failed = [e for e in entries if "outcome" in e["response"]]
    assert len(failed) == 1
    assert failed[0]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert failed[0]["response"]["status"].startswith("400")
    stored = [e["response"]["location"] for e in entries if "location" in e["response"]]
    for rec in records:
        assert f"{BASE}/ResearchStudy/{_nct(rec)}/_history/1" in stored
        assert (await big_client.get(f"ResearchStudy/{_nct(rec)}")).status_code == 200


async def test_needs_the_write_token(big_client: httpx.AsyncClient) -> None:
    r = await big_client.post(URL, content=orjson.dumps(_records(1)[0]), headers={"Content-Type": "application/json"})
    assert_outcome(r, 401)


@pytest.mark.parametrize("body", [b"", b"{not json", b'"a string"', b"[]", b'{"resourceType": "Patient"}'])
async def test_bad_bodies(big_client: httpx.AsyncClient, body: bytes) -> None:
    r = await big_client.post(URL, content=body, headers=HEADERS)
    assert_outcome(r, 400)
