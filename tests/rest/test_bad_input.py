"""Bad input gets an OperationOutcome with the right status and nothing is stored: https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import httpx
import pytest

from .conftest import AUTH, JSON_HEADERS, assert_outcome, study


async def _nothing_stored(client: httpx.AsyncClient) -> None:
    history = (await client.get("_history", headers=AUTH)).json()
    assert history["total"] == 0, history


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "mentions"),
    [
        ("POST", "ResearchStudy", b"{not json", 400, "invalid", "not valid JSON"),
        ("POST", "ResearchStudy", b"[1, 2]", 400, "invalid", "JSON object"),
        ("POST", "ResearchStudy", b"", 400, "invalid", "empty"),
        ("POST", "ResearchStudy", b'{"resourceType": "Patient"}', 400, "structure", "resourceType"),
        ("PUT", "ResearchStudy/a", b'{"resourceType": "ResearchStudy", "id": "b", "status": "active"}', 400,
         "structure", "ResearchStudy.id"),
        ("PUT", "ResearchStudy/a", b'{"resourceType": "ResearchStudy", "status": "active"}', 400, "structure",
         "ResearchStudy.id"),
        ("POST", "ResearchStudy", b'{"resourceType": "ResearchStudy", "status": "active", "colour": "red"}', 400,
         "structure", "ResearchStudy.colour"),
        ("POST", "ResearchStudy",
         b'{"resourceType": "ResearchStudy", "status": "active", "period": {"start": "2020-13-45"}}', 400,
         "value", "ResearchStudy.period.start"),
        ("POST", "ResearchStudy", b'{"resourceType": "ResearchStudy", "title": "no status"}', 400, "required",
         "ResearchStudy.status"),
        ("POST", "ResearchStudy", b'{"resourceType": "ResearchStudy", "status": "active", "title": 5}', 400,
         "value", "ResearchStudy.title"),
        ("PUT", "ResearchStudy/bad id!", b'{"resourceType": "ResearchStudy", "id": "bad id!", "status": "active"}',
         400, None, "id"),
        ("POST", "Spaceship", b'{"resourceType": "Spaceship"}', 404, "not-found", "Spaceship"),
    ],
)
async def test_bad_resource_bodies(client: httpx.AsyncClient, method: str, path: str, body: bytes, status: int,
                                   code: str | None, mentions: str) -> None:
    r = await client.request(method, path, content=body, headers=JSON_HEADERS)
    assert_outcome(r, status, code, mentions)
    await _nothing_stored(client)


async def test_body_too_large_is_413(client: httpx.AsyncClient) -> None:
    big = study(description="x" * 300_000)
    assert_outcome(await client.post("ResearchStudy", json=big, headers=JSON_HEADERS), 413, "too-costly")
    await _nothing_stored(client)


async def test_unsupported_media_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post("ResearchStudy", content=b"<ResearchStudy/>",
                          headers={**AUTH, "Content-Type": "application/xml+unknown"})
    assert_outcome(r, 415, "not-supported", "Content-Type")
    r = await client.post("ResearchStudy", content=b"{}", headers=AUTH)
    assert_outcome(r, 415)
    r = await client.patch("ResearchStudy/x", json=[], headers=JSON_HEADERS)
    assert_outcome(r, 415, mentions="json-patch")
    await _nothing_stored(client)


async def test_unsupported_format_is_406(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.get("metadata", params={"_format": "turtle"}), 406, mentions="_format")
    assert_outcome(await client.get("metadata", headers={"Accept": "application/fhir+turtle"}), 406)
    assert_outcome(await client.get("metadata", headers={"Accept": "application/fhir+json; fhirVersion=3.0"}), 406)
    ok = await client.get("metadata", headers={"Accept": "application/fhir+json; fhirVersion=4.0"})
    assert ok.status_code == 200


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.post("ResearchStudy/x/_history/1", json={}, headers=JSON_HEADERS), 405)


async def test_unknown_path_is_404_outcome(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.get("ResearchStudy/x/y/z/w"), 404)


async def test_patch_errors(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/p", json=study("p"), headers=JSON_HEADERS)
    patch_headers = {**AUTH, "Content-Type": "application/json-patch+json"}
    # An operation that cannot apply.
    r = await client.patch("ResearchStudy/p", json=[{"op": "remove", "path": "/nothing"}], headers=patch_headers)
    assert_outcome(r, 422)
    # A result that is not valid FHIR.
    r = await client.patch("ResearchStudy/p", json=[{"op": "replace", "path": "/status", "value": 3}],
                           headers=patch_headers)
    assert_outcome(r, 400, mentions="ResearchStudy.status")
    # Changing the id is refused.
    r = await client.patch("ResearchStudy/p", json=[{"op": "replace", "path": "/id", "value": "q"}],
                           headers=patch_headers)
    assert_outcome(r, 400, mentions="id")
    assert (await client.get("ResearchStudy/p")).json()["meta"]["versionId"] == "1"
    ok = await client.patch("ResearchStudy/p", json=[{"op": "replace", "path": "/title", "value": "Patched"}],
                            headers=patch_headers)
    assert ok.status_code == 200 and ok.json()["title"] == "Patched"
    assert ok.json()["meta"]["versionId"] == "2"


async def test_no_stack_trace_on_hostile_ids(client: httpx.AsyncClient) -> None:
    for rid in ("'; DROP TABLE resource; --", "a b", "%00", "a" * 100):
        r = await client.get(f"ResearchStudy/{rid}")
        assert r.status_code in (400, 404), r.text
        assert r.json()["resourceType"] == "OperationOutcome"
