"""fhirpy's async client (https://github.com/beda-software/fhir-py) against the server: read, search with several
parameters, every page of a large result, create, update with If-Match, delete, a transaction."""
from __future__ import annotations

import pytest

fhirpy = pytest.importorskip("fhirpy")
from fhirpy.base.exceptions import MultipleResourcesFound, OperationOutcome, ResourceNotFound  # noqa: E402

from .conftest import N_BULK, TOKEN  # noqa: E402


def _client(base: str, **extra: str) -> "fhirpy.AsyncFHIRClient":
    return fhirpy.AsyncFHIRClient(base, authorization=f"Bearer {TOKEN}", extra_headers=extra or None)


async def test_read_and_search(server: str) -> None:
    client = _client(server)
    study = await client.reference("ResearchStudy", "NCT01297972").to_resource()
    assert study["resourceType"] == "ResearchStudy" and study["id"] == "NCT01297972"
    found = await client.resources("ResearchStudy").search(status=study["status"], _id="NCT01297972,NCT00465816") \
        .limit(5).fetch()
    assert "NCT01297972" in [r["id"] for r in found]
    assert all(r["status"] == study["status"] for r in found)
    count = await client.resources("Location").search(address_country="Austria").count()
    assert count > 0
    with_sites = await client.resources("ResearchStudy").search(site__missing="false") \
        .include("ResearchStudy", "site").limit(2).fetch_raw()
    assert any(e["search"]["mode"] == "include" for e in with_sites["entry"])


async def test_every_page_of_a_large_result(server: str) -> None:
    client = _client(server)
    everything = await client.resources("Organization").search(name="Bulk org").limit(10).fetch_all()
    ids = [r["id"] for r in everything]
    assert len(ids) == N_BULK and len(set(ids)) == N_BULK
    seen = [r["id"] async for r in client.resources("Organization").search(name="Bulk org").limit(7)]
    assert sorted(seen) == sorted(ids)


async def test_create_update_with_if_match_delete(server: str) -> None:
    client = _client(server)
    org = client.resource("Organization", name="fhirpy org")
    await org.save()
    assert org["id"] and org["meta"]["versionId"] == "1"
    org["name"] = "fhirpy org v2"
    matching = _client(server, **{"If-Match": 'W/"1"'})
    updated = matching.resource("Organization", **dict(org))
    await updated.save()
    assert updated["meta"]["versionId"] == "2"
    # A stale version is 412 Precondition Failed (https://hl7.org/fhir/R4/http.html#concurrency); fhirpy maps every
    # 412 to MultipleResourcesFound (its conditional-update meaning).
    with pytest.raises((MultipleResourcesFound, OperationOutcome)):
        await matching.resource("Organization", **{**dict(org), "name": "lost"}).save()
    assert (await client.reference("Organization", org["id"]).to_resource())["name"] == "fhirpy org v2"
    await org.delete()
    with pytest.raises((ResourceNotFound, OperationOutcome)):
        await client.reference("Organization", org["id"]).to_resource()


async def test_transaction(server: str) -> None:
    client = _client(server)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0b7d2b2c-1111-4c1e-9d0e-000000000001",
         "resource": {"resourceType": "Organization", "name": "tx sponsor"},
         "request": {"method": "POST", "url": "Organization"}},
        {"resource": {"resourceType": "ResearchStudy", "status": "active", "title": "tx study",
                      "sponsor": {"reference": "urn:uuid:0b7d2b2c-1111-4c1e-9d0e-000000000001"}},
         "request": {"method": "POST", "url": "ResearchStudy"}},
    ]}
    result = await client.execute("", method="post", data=bundle)
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"][:3] for e in result["entry"]] == ["201", "201"]
    studies = await client.resources("ResearchStudy").search(title="tx study").fetch()
    assert len(studies) == 1 and studies[0]["sponsor"]["reference"].startswith("Organization/")
