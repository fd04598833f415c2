"""History at instance, type and system level: https://hl7.org/fhir/R4/http.html#history."""
from __future__ import annotations

import httpx

from .conftest import AUTH, JSON_HEADERS, assert_outcome, organization, study


async def _follow(client: httpx.AsyncClient, url: str) -> list[dict]:
    entries: list[dict] = []
    while url:
        page = (await client.get(url, headers=AUTH)).json()  # system history may hold patient data
        assert page["type"] == "history"
        entries += page.get("entry", [])
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), "")
    return entries


async def test_instance_history_newest_first_with_delete(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/h", json=study("h"), headers=JSON_HEADERS)
    await client.put("ResearchStudy/h", json=study("h", title="two"), headers=JSON_HEADERS)
    await client.delete("ResearchStudy/h", headers=AUTH)
    bundle = (await client.get("ResearchStudy/h/_history")).json()
    assert bundle["total"] == 3
    methods = [e["request"]["method"] for e in bundle["entry"]]
    assert methods == ["DELETE", "PUT", "PUT"]
    assert "resource" not in bundle["entry"][0]
    assert bundle["entry"][1]["resource"]["title"] == "two"
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']


async def test_history_paging_and_levels(client: httpx.AsyncClient) -> None:
    for i in range(7):
        await client.post("Organization", json=organization(f"Org {i}"), headers=JSON_HEADERS)
    await client.put("ResearchStudy/one", json=study("one"), headers=JSON_HEADERS)
    type_entries = await _follow(client, "Organization/_history?_count=3")
    assert len(type_entries) == 7
    assert len({e["fullUrl"] for e in type_entries}) == 7
    assert len(await _follow(client, "_history?_count=2")) == 8


async def test_history_since(client: httpx.AsyncClient) -> None:
    first = await client.post("Organization", json=organization("early"), headers=JSON_HEADERS)
    moment = first.json()["meta"]["lastUpdated"]
    await client.post("Organization", json=organization("late"), headers=JSON_HEADERS)
    later = (await client.get("Organization/_history", params={"_since": moment})).json()
    names = {e["resource"]["name"] for e in later.get("entry", [])}
    assert "late" in names
    assert_outcome(await client.get("Organization/_history", params={"_since": "yesterday"}), 400,
                   mentions="_since")
    assert_outcome(await client.get("Organization/_history", params={"_count": "-1"}), 400, mentions="_count")


async def test_history_of_unknown_instance_is_404(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.get("ResearchStudy/never/_history"), 404)
