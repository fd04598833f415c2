"""FHIR XML on the wire, mime parameters and NDJSON negotiation: https://hl7.org/fhir/R4/xml.html,
https://hl7.org/fhir/R4/http.html#mime-type.

Our converter (fhirtrial.rest.xml) is checked against npm `fhir`'s XML <-> JSON converter in both directions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from lxml import etree
from starlette.requests import Request

from fhirtrial.errors import InvalidRequest, NotAcceptable
from fhirtrial.mapping import map_study
from fhirtrial.rest.negotiation import FHIR_NDJSON, FHIR_XML, accepts_json, negotiate
from fhirtrial.rest.xml import from_xml, to_xml

from ..support.shared_data import ctgov_records
from ..support.xml import node_json_to_xml, node_xml_to_json, normalise_node_json
from .conftest import AUTH, JSON_HEADERS, organization, study

ROOT = Path(__file__).resolve().parents[2]
XML = "application/fhir+xml"
XML_HEADERS = {**AUTH, "Content-Type": XML, "Accept": XML}
NS = {"f": "http://hl7.org/fhir"}


def _mapped_resources() -> list[dict[str, Any]]:
    """Every resource of the real records of ../shared/data/ctgov (skips, saying why, when absent)."""
    return [r for record in ctgov_records() for r in map_study(record).resources]


RICH = {
    "resourceType": "Observation", "id": "o1",
    "meta": {"versionId": "2", "lastUpdated": "2024-01-01T00:00:00.123Z"},
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>hi <b>x</b>  y</p></div>'},
    "contained": [{"resourceType": "Patient", "id": "p", "active": True,
                   "name": [{"given": ["A", "C"], "_given": [{"extension": [{"url": "http://x", "valueCode": "b"}]},
                                                             None]}]}],
    "status": "final", "_status": {"id": "s1", "extension": [{"url": "http://e", "valueString": "s"}]},
    "code": {"coding": [{"id": "c1", "system": "http://loinc.org", "code": "1234-5"}], "text": "x <&> \"q\""},
    "effectiveDateTime": "2020-01-01T10:00:00+01:00", "issued": "2020-01-01T10:00:00.5Z",
    "valueQuantity": {"value": 1.25, "unit": "mg"},
    "note": [{"text": "a\nb  c\ttab é ✓"}],
    "component": [{"code": {"text": "c"}, "valueInteger": -3},
                  {"code": {"text": "d"}, "valuePeriod": {"start": "2020-01", "end": "2021"}}],
}


def test_round_trip_against_npm_fhir() -> None:
    resources = [RICH] + _mapped_resources()
    assert len(resources) > 40
    ours = [to_xml(r) for r in resources]
    # our XML -> npm fhir JSON is the JSON we started from
    for original, theirs in zip(resources, node_xml_to_json(ours)):
        assert normalise_node_json(theirs, original) == original
    # npm fhir XML -> our JSON is exact, and our XML reads back exactly too
    for original, theirs in zip(resources, node_json_to_xml(resources)):
        if original is RICH:
            # npm fhir writes a tab raw inside an attribute, which XML reads as a space (we write &#9;)
            original = {**RICH, "note": [{"text": RICH["note"][0]["text"].replace("\t", " ")}]}
        assert from_xml(theirs) == original
    for original, xml in zip(resources, ours):
        assert from_xml(xml) == original
    # pretty printing changes no content, not even the narrative's whitespace
    for original in resources[:5]:
        pretty = to_xml(original, pretty=True)
        assert b"\n  <" in pretty and from_xml(pretty) == original


def test_xml_follows_the_element_order() -> None:
    root = etree.fromstring(to_xml({"resourceType": "ResearchStudy", "status": "active", "title": "T", "id": "x",
                                    "meta": {"versionId": "1"}}))
    assert [etree.QName(c).localname for c in root] == ["id", "meta", "title", "status"]


@pytest.mark.parametrize(("body", "mentions"), [
    (b"<ResearchStudy xmlns='http://hl7.org/fhir'><status value='active'/>", "well-formed"),
    (b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
     b"<ResearchStudy xmlns='http://hl7.org/fhir'><title value='&x;'/></ResearchStudy>", "DOCTYPE"),
    (b"<ResearchStudy><status value='active'/></ResearchStudy>", "namespace"),
    (b"<Spaceship xmlns='http://hl7.org/fhir'/>", "Spaceship"),
    (b"<ResearchStudy xmlns='http://hl7.org/fhir'><colour value='red'/></ResearchStudy>", "colour"),
    (b"<ResearchStudy xmlns='http://hl7.org/fhir'><status>active</status></ResearchStudy>", "text content"),
    (b"<ResearchStudy xmlns='http://hl7.org/fhir'><status value='a'/><status value='b'/></ResearchStudy>", "once"),
    (b"<Patient xmlns='http://hl7.org/fhir'><active value='yes'/></Patient>", "boolean"),
])
def test_bad_xml_is_400(body: bytes, mentions: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        from_xml(body)
    assert mentions in str(info.value.issues)


async def test_read_vread_in_xml(client: httpx.AsyncClient) -> None:
    stored = (await client.put("ResearchStudy/x1", json=study("x1"), headers=JSON_HEADERS)).json()
    for kwargs in ({"headers": {"Accept": XML}}, {"params": {"_format": "xml"}},
                   {"headers": {"Accept": "application/xml"}},
                   {"headers": {"Accept": "application/fhir+json;q=0.5, application/fhir+xml"}}):
        r = await client.get("ResearchStudy/x1", **kwargs)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/fhir+xml; charset=utf-8"
        assert r.headers["etag"] == 'W/"1"'
        assert from_xml(r.content) == stored
    r = await client.get("ResearchStudy/x1/_history/1", params={"_format": "application/fhir+xml", "_pretty": "true"})
    assert r.headers["content-type"].startswith(XML) and b"\n  <" in r.content
    assert from_xml(r.content) == stored
    # JSON stays the default, and wins when preferred
    r = await client.get("ResearchStudy/x1", headers={"Accept": "application/fhir+xml;q=0.2, application/json"})
    assert r.headers["content-type"].startswith("application/fhir+json")


async def test_bundles_and_metadata_in_xml(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/b1", json=study("b1"), headers=JSON_HEADERS)
    await client.put("ResearchStudy/b1", json=study("b1", title="two"), headers=JSON_HEADERS)
    await client.delete("ResearchStudy/b1", headers=AUTH)
    docs = []
    for path in ("_history", "ResearchStudy/_history", "ResearchStudy/b1/_history", "metadata"):
        as_json = (await client.get(path, headers=AUTH)).json()  # system history may hold patient data
        r = await client.get(path, headers={"Accept": XML, **AUTH})
        assert r.status_code == 200 and r.headers["content-type"].startswith(XML), r.text
        as_xml = from_xml(r.content)
        for volatile in ("id", "meta", "date"):
            as_json.pop(volatile, None), as_xml.pop(volatile, None)
        assert as_xml == as_json
        docs.append(r.content)
    assert all(node_xml_to_json(docs))
    history = etree.fromstring(docs[0])
    assert history.find("f:type", NS).get("value") == "history"
    assert len(history.findall("f:entry", NS)) == 3


async def test_errors_in_the_negotiated_format(client: httpx.AsyncClient) -> None:
    r = await client.get("ResearchStudy/nope", headers={"Accept": XML})
    assert r.status_code == 404 and r.headers["content-type"].startswith(XML)
    outcome = from_xml(r.content)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "not-found"
    r = await client.get("Spaceship/1", params={"_format": "xml"})
    assert r.status_code == 404 and from_xml(r.content)["resourceType"] == "OperationOutcome"
    r = await client.post("ResearchStudy", content=b"<oops", headers=XML_HEADERS)
    assert r.status_code == 400 and from_xml(r.content)["issue"][0]["code"] == "invalid"
    # cannot negotiate: the 406 itself is JSON
    r = await client.get("ResearchStudy/nope", headers={"Accept": "text/html"})
    assert r.status_code == 406 and r.json()["resourceType"] == "OperationOutcome"


async def test_writes_with_xml_bodies(client: httpx.AsyncClient) -> None:
    body = node_json_to_xml([organization("XML Org", identifier=[{"system": "urn:x", "value": "1"}])])[0]
    r = await client.post("Organization", content=body, headers=XML_HEADERS)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith(XML)
    created = from_xml(r.content)
    assert created["name"] == "XML Org" and created["meta"]["versionId"] == "1"
    rid = created["id"]
    updated = to_xml({**created, "name": "Renamed"})
    r = await client.put(f"Organization/{rid}", content=updated,
                         headers={**AUTH, "Content-Type": "application/fhir+xml; charset=utf-8"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:8f6f3c1e-0000-4000-8000-000000000001", "resource": organization("Tx"),
         "request": {"method": "POST", "url": "Organization"}},
        {"resource": study("tx1", sponsor={"reference": "urn:uuid:8f6f3c1e-0000-4000-8000-000000000001"}),
         "request": {"method": "PUT", "url": "ResearchStudy/tx1"}}]}
    r = await client.post("", content=to_xml(tx), headers=XML_HEADERS)
    assert r.status_code == 200, r.text
    result = from_xml(r.content)
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    assert (await client.get("ResearchStudy/tx1")).json()["sponsor"]["reference"].startswith("Organization/")
    # an XML body that is FHIR but not valid for the type is refused by the same validator as JSON
    r = await client.post("ResearchStudy", content=b"<ResearchStudy xmlns='http://hl7.org/fhir'>"
                                                      b"<title value='no status'/></ResearchStudy>",
                          headers=XML_HEADERS)
    assert r.status_code == 400 and "ResearchStudy.status" in r.text


async def test_fhir_version_parameter(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/v1", json=study("v1"), headers=JSON_HEADERS)
    r = await client.get("ResearchStudy/v1", headers={"Accept": "application/fhir+json; fhirVersion=4.0"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/fhir+json; charset=utf-8; fhirVersion=4.0"
    r = await client.get("metadata", headers={"Accept": "application/fhir+xml; fhirVersion=4.0"})
    assert r.headers["content-type"] == "application/fhir+xml; charset=utf-8; fhirVersion=4.0"
    r = await client.put("ResearchStudy/v1", json=study("v1"),
                         headers={**AUTH, "Content-Type": "application/fhir+json; fhirVersion=4.0"})
    assert r.headers["content-type"].endswith("fhirVersion=4.0")
    r = await client.get("ResearchStudy/v1", headers={"Accept": "application/fhir+json; fhirVersion=3.0"})
    assert r.status_code == 406
    r = await client.get("ResearchStudy/v1")
    assert r.headers["content-type"] == "application/fhir+json; charset=utf-8"


def _request(path: str, accept: str | None = None, query: str = "") -> Request:
    headers = [(b"accept", accept.encode())] if accept else []
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                    "headers": headers, "scheme": "http", "server": ("testserver", 80), "root_path": ""})


def test_ndjson_only_where_bulk_data_uses_it() -> None:
    assert negotiate(_request("/fhir/$export", FHIR_NDJSON)).media == FHIR_NDJSON
    assert negotiate(_request("/fhir/ResearchStudy/$export", "application/fhir+json")).media != FHIR_NDJSON
    assert negotiate(_request("/fhir/files/1.ndjson", "application/fhir+ndjson"), ndjson=True).media == FHIR_NDJSON
    assert negotiate(_request("/fhir/x", query="_format=ndjson"), ndjson=True).media == FHIR_NDJSON
    with pytest.raises(NotAcceptable):
        negotiate(_request("/fhir/ResearchStudy/1", FHIR_NDJSON))
    assert negotiate(_request("/fhir/metadata", "application/xml")).media == FHIR_XML


def test_fast_path_leaves_non_json_to_the_routes() -> None:
    assert accepts_json("application/fhir+json") and accepts_json("*/*") and accepts_json("")
    assert accepts_json("text/html,application/xhtml+xml,*/*;q=0.8")
    assert not accepts_json("application/fhir+xml")
    assert not accepts_json("application/fhir+xml, application/fhir+json;q=0.9")
    assert not accepts_json("application/fhir+json; fhirVersion=4.0")
    assert not accepts_json("text/html")
