"""Failures schemathesis found (tests/rest/test_fuzz.py), each kept as the example that broke: no 5xx, and every
OperationOutcome a valid FHIR resource, https://hl7.org/fhir/R4/http.html#errors."""
from __future__ import annotations

import re

import httpx
import pytest

from fhirtrial.rest.xml import from_xml

from .conftest import JSON_HEADERS, assert_outcome, study

FHIR_STRING = re.compile(r"^[ \r\n\t\S]+$")


@pytest.mark.parametrize("request_part", [
    {"method": {}, "url": ""},  # was TypeError: unhashable type: 'dict' (500)
    {"method": ["PUT"], "url": "ResearchStudy/a"},
    {"method": "PUT", "url": "ResearchStudy/a", "ifMatch": 3},  # was AttributeError on int.strip (500)
    {"method": "POST", "url": "ResearchStudy", "ifNoneExist": {"a": 1}},  # was TypeError in parse_criteria
])
async def test_batch_entry_with_mistyped_request_fields(client: httpx.AsyncClient, request_part: dict) -> None:
    for kind in ("batch", "transaction"):
        body = {"resourceType": "Bundle", "type": kind,
                "entry": [{"fullUrl": "", "resource": study("a"), "request": request_part}]}
        r = await client.post("", json=body, headers=JSON_HEADERS, params={"_format": "json", "_pretty": "true"})
        assert r.status_code in (200, 400), r.text
        if kind == "batch":
            assert r.json()["entry"][0]["response"]["status"].startswith("400")
        else:
            assert_outcome(r, 400, "invalid", "request")


async def test_patch_entry_with_non_string_data(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/p", json=study("p"), headers=JSON_HEADERS)
    body = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": {"x": 1}},
        "request": {"method": "PATCH", "url": "ResearchStudy/p"}}]}
    assert_outcome(await client.post("", json=body, headers=JSON_HEADERS), 400, "invalid", "base64")


async def test_xml_error_quoting_control_characters(client: httpx.AsyncClient) -> None:
    # DELETE /fhir/þÉ𤊋\x13m?_format=application/fhir+xml: the 404 quoting the type could not be written as XML
    r = await client.delete("%C3%BE%C3%89%F0%A4%8A%8B%13m", params={"_format": "application/fhir+xml"},
                            headers=JSON_HEADERS)
    assert r.status_code == 404, r.text
    outcome = from_xml(r.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "\\u0013" in outcome["issue"][0]["diagnostics"]


async def test_diagnostics_are_fhir_strings(client: httpx.AsyncClient) -> None:
    # POST /fhir/1\U000957b6\xa0;&W¹`/$export: the 404's diagnostics held a no-break space, which the FHIR
    # string pattern (and so the OperationOutcome schema) does not allow
    r = await client.get("1%F2%95%97%B6%C2%A0%3B%26W%C2%B9%60/x")
    assert r.status_code == 404
    for issue in r.json()["issue"]:
        assert FHIR_STRING.match(issue["diagnostics"]), issue
        assert all(FHIR_STRING.match(e) for e in issue.get("expression", ())), issue
    assert "\\u00a0" in r.json()["issue"][0]["diagnostics"]
