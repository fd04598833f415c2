"""Content negotiation and the CapabilityStatement: https://hl7.org/fhir/R4/http.html#mime-type."""
from __future__ import annotations

import httpx

from fhirtrial.resources import SERVED_TYPES

from ..support.validators import validate_with_node
from .conftest import JSON_HEADERS, study


async def test_format_and_pretty(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/f", json=study("f"), headers=JSON_HEADERS)
    for fmt in ("json", "application/json", "application/fhir+json"):
        r = await client.get("ResearchStudy/f", params={"_format": fmt})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/fhir+json; charset=utf-8"
    compact = await client.get("ResearchStudy/f")
    pretty = await client.get("ResearchStudy/f", params={"_pretty": "true"})
    assert b"\n" not in compact.content and b"\n  " in pretty.content
    assert pretty.json() == compact.json()
    r = await client.get("ResearchStudy/f", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200


async def test_capability_statement(client: httpx.AsyncClient) -> None:
    cs = (await client.get("metadata")).json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    assert cs["kind"] == "instance"
    types = [r["type"] for r in cs["rest"][0]["resource"]]
    assert types == list(SERVED_TYPES)
    verdict = validate_with_node([cs])[0]
    assert verdict.ok, verdict


async def test_capability_lists_operations_served(client: httpx.AsyncClient) -> None:
    rest = (await client.get("metadata")).json()["rest"][0]
    assert [o["name"] for o in rest["operation"]] == ["export"]
    by_type = {r["type"]: {o["name"]: o["definition"] for o in r.get("operation", [])} for r in rest["resource"]}
    assert set(by_type["ResearchStudy"]) == {"validate", "everything", "export", "import-ctgov", "facets", "match"}
    assert by_type["ResearchStudy"]["validate"] == "http://hl7.org/fhir/OperationDefinition/Resource-validate"
    assert set(by_type["Location"]) == {"validate", "export"}
    # Each advertised type-level operation answers (not 404/405) at its path.
    r = await client.post("Location/$validate", json={"resourceType": "Location", "name": "x"})
    assert r.status_code == 200
