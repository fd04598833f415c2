"""Search over REST (https://hl7.org/fhir/R4/http.html#search, https://hl7.org/fhir/R4/search.html): GET and
POST ``_search``, system search, handling, invalid values, searchset Bundles, paging links, ``_summary``,
``_elements``, ``_count``, includes, conditional interactions and our SearchParameter resources."""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fhirtrial.config import Settings
from fhirtrial.rest import summary
from fhirtrial.rest.app import create_app
from fhirtrial.search.registry import load_trial_definitions

from .conftest import AUTH, BASE, JSON_HEADERS, assert_outcome, organization, study

SUBSETTED = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "SUBSETTED")


async def _put(c: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await c.put(f"{body['resourceType']}/{body['id']}", json=body, headers=JSON_HEADERS)
    assert r.status_code in (200, 201), r.text


async def _studies(c: httpx.AsyncClient, n: int = 25) -> None:
    """s00..: odd ones active, the rest completed; the first three sponsored by Organization/acme."""
    for i in range(n):
        extra: dict[str, Any] = {"identifier": [{"system": "urn:test", "value": f"id-{i}"}]}
        if i < 3:
            extra["sponsor"] = {"reference": "Organization/acme"}
        else:
            extra["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{i}</div>'}
        await _put(c, study(f"s{i:02d}", status="active" if i % 2 else "completed", title=f"Study {i:02d}", **extra))


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", ()) if e["search"]["mode"] == mode]


def _link(bundle: dict[str, Any], rel: str) -> str | None:
    return next((ln["url"] for ln in bundle.get("link", ()) if ln["relation"] == rel), None)


async def _all_pages(c: httpx.AsyncClient, url: str) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    while url:
        r = await c.get(url)
        assert r.status_code == 200, r.text
        b = r.json()
        ids += _ids(b)
        pages += 1
        url = _link(b, "next")
        assert pages < 100
    return ids, pages


# -- GET / POST / system ---------------------------------------------------------------------------------------------
async def test_get_search_is_a_searchset_with_total_and_links(client: httpx.AsyncClient) -> None:
    await _put(client, organization(id="acme"))
    await _studies(client)
    r = await client.get("ResearchStudy", params={"status": "active"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    b = r.json()
    assert b["resourceType"] == "Bundle" and b["type"] == "searchset"
    assert b["total"] == 12
    assert len(_ids(b)) == 10  # default_count of the test settings
    assert _link(b, "self") == f"{BASE}/ResearchStudy?status=active&_count=10"
    assert _link(b, "first") == f"{BASE}/ResearchStudy?status=active&_count=10"
    assert _link(b, "next") and "_cursor=" in _link(b, "next")
    assert _link(b, "previous") is None
    for e in b["entry"]:
        assert e["fullUrl"] == f"{BASE}/ResearchStudy/{e['resource']['id']}"
        assert e["resource"]["status"] == "active"


async def test_paging_walks_every_page_once_with_previous_links(client: httpx.AsyncClient) -> None:
    await _studies(client)
    ids, pages = await _all_pages(client, "ResearchStudy?_count=4")
    assert pages == 7 and sorted(ids) == [f"s{i:02d}" for i in range(25)] and len(set(ids)) == 25
    second = (await client.get("ResearchStudy?_count=4")).json()
    nxt = (await client.get(_link(second, "next"))).json()
    assert "_cursor=" in _link(nxt, "self")
    back = (await client.get(_link(nxt, "previous"))).json()
    assert _ids(back) == _ids(second)
    first = (await client.get(_link(nxt, "first"))).json()
    assert _ids(first) == _ids(second)


async def test_a_bad_paging_cursor_is_a_400_outcome(client: httpx.AsyncClient) -> None:
    """A cursor that is garbage, belongs to another search, or carries another order's tie-break (a pk where
    the search orders by id): 400 naming _cursor."""
    import base64

    await _studies(client, 6)
    nxt = _link((await client.get("ResearchStudy?status=active&_count=2")).json(), "next")
    cursor = httpx.URL(nxt).params["_cursor"]
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw["k"][-1] = 7 if isinstance(raw["k"][-1], str) else "s01"
    flipped = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    for query in ("status=active&_count=2&_cursor=abc", f"status=completed&_count=2&_cursor={cursor}",
                  f"status=active&_count=2&_cursor={flipped}"):
        assert_outcome(await client.get(f"ResearchStudy?{query}"), 400, mentions="_cursor")


async def test_sorted_pages_keep_order(client: httpx.AsyncClient) -> None:
    await _studies(client, 12)
    ids, _ = await _all_pages(client, "ResearchStudy?_sort=-title&_count=5")
    assert ids == [f"s{i:02d}" for i in reversed(range(12))]


async def test_post_search_form_gives_the_same_results(client: httpx.AsyncClient) -> None:
    await _studies(client)
    get = (await client.get("ResearchStudy", params={"status": "active", "_count": 50})).json()
    post = await client.post("ResearchStudy/_search", data={"status": "active", "_count": "50"})
    assert post.status_code == 200, post.text
    assert sorted(_ids(post.json())) == sorted(_ids(get)) and post.json()["total"] == get["total"]
    # Query-string parameters are merged with the body's (ANDed).
    merged = (await client.post("ResearchStudy/_search?identifier=urn:test|id-3", data={"status": "active"})).json()
    assert _ids(merged) == ["s03"]
    assert _link(merged, "self") == f"{BASE}/ResearchStudy?identifier=urn:test|id-3&status=active&_count=10"
    assert_outcome(await client.post("ResearchStudy/_search", content=b'{"a":1}',
                                      headers={"Content-Type": "application/json"}), 415)


async def test_system_search_with_type(client: httpx.AsyncClient) -> None:
    await _put(client, organization(id="acme"))
    await _studies(client, 3)
    b = (await client.get("", params={"_type": "Organization,ResearchStudy", "_count": 50})).json()
    assert b["type"] == "searchset" and b["total"] == 4
    assert {(e["resource"]["resourceType"], e["resource"]["id"]) for e in b["entry"]} >= {("Organization", "acme")}
    assert _link(b, "self") == f"{BASE}?_type=Organization,ResearchStudy&_count=50"
    b = (await client.get("", params={"_type": "Organization,ResearchStudy", "_id": "acme"})).json()
    assert _ids(b) == ["acme"]
    post = (await client.post("_search", data={"_type": "ResearchStudy", "_id": "s01"})).json()
    assert _ids(post) == ["s01"]
    assert_outcome(await client.get("", params={"_type": "Nope"}), 400, mentions="_type")


async def test_search_routes_shadow_nothing(client: httpx.AsyncClient) -> None:
    await _studies(client, 2)
    assert (await client.get("metadata")).json()["resourceType"] == "CapabilityStatement"
    assert (await client.get("ResearchStudy/_history")).json()["type"] == "history"
    assert (await client.get("_history", headers=AUTH)).json()["type"] == "history"
    assert (await client.get("ResearchStudy/s01")).json()["id"] == "s01"
    assert_outcome(await client.get("Nothing"), 404)
    assert_outcome(await client.post("Nothing/_search"), 404)


# -- handling and invalid values -------------------------------------------------------------------------------------
async def test_unknown_parameter_strict_is_400_naming_it(client: httpx.AsyncClient) -> None:
    r = await client.get("ResearchStudy", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert_outcome(r, 400, mentions="colour")
    r = await client.post("ResearchStudy/_search", data={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert_outcome(r, 400, mentions="colour")


async def test_unknown_parameter_lenient_is_ignored_and_reported(client: httpx.AsyncClient) -> None:
    await _studies(client, 3)
    for headers in ({}, {"Prefer": "handling=lenient"}):
        r = await client.get("ResearchStudy", params={"colour": "blue", "status": "active"}, headers=headers)
        assert r.status_code == 200, r.text
        b = r.json()
        assert _ids(b) == ["s01"]
        assert "colour" not in _link(b, "self")
        outcomes = [e for e in b["entry"] if e["search"]["mode"] == "outcome"]
        assert len(outcomes) == 1
        oo = outcomes[0]["resource"]
        assert oo["resourceType"] == "OperationOutcome"
        assert oo["issue"][0]["severity"] == "warning" and "colour" in oo["issue"][0]["diagnostics"]
        assert oo["issue"][0]["expression"] == ["colour"]


@pytest.mark.parametrize("name,value", [
    ("date", "yesterday"), ("date", "xx2020"), ("_lastUpdated", "2020-13-45"), ("_count", "-1"), ("_count", "ten"),
    ("_summary", "maybe"), ("_total", "all"), ("_sort", "nothing-here"), ("_include", "Nope:x"),
    ("_elements", "a b"), ("status:fuzzy", "active"), ("_has:Nope:x:y", "1"),
])
async def test_invalid_values_are_400_naming_parameter_and_value(client: httpx.AsyncClient, name: str,
                                                                 value: str) -> None:
    r = await client.get("ResearchStudy", params={name: value})
    if name == "_has:Nope:x:y":  # an unknown chain is an unknown parameter: ignored by default
        assert r.status_code == 200
        r = await client.get("ResearchStudy", params={name: value}, headers={"Prefer": "handling=strict"})
    body = assert_outcome(r, 400, mentions=name.split(":")[0])
    if name not in ("status:fuzzy", "_has:Nope:x:y"):
        assert value in json.dumps(body), body


async def test_eligible_age_needs_a_number(client: httpx.AsyncClient) -> None:
    assert_outcome(await client.get("ResearchStudy", params={"eligible-age": "old"}), 400, mentions="eligible-age")
    assert_outcome(await client.get("Location", params={"near": "north"}), 400, mentions="near")


@pytest.mark.parametrize("value", ["' OR 1=1 --", "x\"; DROP TABLE resource; --", "%", "_", "\\", "a\x00b",
                                   "\u202e\u0000", "🙂" * 200])
async def test_hostile_values_never_break_the_server(client: httpx.AsyncClient, value: str) -> None:
    await _studies(client, 2)
    for name in ("title", "status", "_id", "sponsor", "title:contains", "identifier"):
        r = await client.get("ResearchStudy", params={name: value})
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200:
            assert _ids(r.json()) == [], (name, value)
    assert (await client.get("ResearchStudy", params={"_count": 50})).json()["total"] == 2


# -- _count, _summary, _elements -------------------------------------------------------------------------------------
async def test_count_is_capped_and_defaulted(client: httpx.AsyncClient) -> None:
    await _studies(client, 60)
    b = (await client.get("ResearchStudy", params={"_count": 500})).json()
    assert len(_ids(b)) == 50 and "_count=50" in _link(b, "self")  # max_count of the test settings
    assert len(_ids((await client.get("ResearchStudy")).json())) == 10
    zero = (await client.get("ResearchStudy", params={"_count": 0})).json()
    assert _ids(zero) == [] and zero["total"] == 60


def _tagged(resource: dict[str, Any]) -> bool:
    return any((t.get("system"), t.get("code")) == SUBSETTED for t in resource.get("meta", {}).get("tag", ()))


async def test_summary_true_keeps_summary_elements_only(client: httpx.AsyncClient) -> None:
    body = study("full", description="long text", note=[{"text": "a note"}], phase={"text": "Phase 2"},
                 text={"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
                 meta={"tag": [{"system": "urn:t", "code": "keep"}]})
    await _put(client, body)
    r = (await client.get("ResearchStudy", params={"_summary": "true"})).json()
    got = r["entry"][0]["resource"]
    assert {"id", "meta", "status", "title", "phase"} <= set(got)
    assert not {"description", "note", "text"} & set(got)
    assert _tagged(got) and {"system": "urn:t", "code": "keep"} in got["meta"]["tag"]
    assert "_summary=true" in _link(r, "self")


async def test_summary_text_data_false_count(client: httpx.AsyncClient) -> None:
    await _studies(client, 5)
    text = (await client.get("ResearchStudy", params={"_summary": "text", "_id": "s04"})).json()["entry"][0]["resource"]
    assert set(text) == {"resourceType", "id", "meta", "text", "status"} and _tagged(text)
    data = (await client.get("ResearchStudy", params={"_summary": "data", "_id": "s04"})).json()["entry"][0]["resource"]
    assert "text" not in data and data["identifier"] and _tagged(data)
    full = (await client.get("ResearchStudy", params={"_summary": "false", "_id": "s04"})).json()["entry"][0]["resource"]
    assert "text" in full and not _tagged(full)
    count = (await client.get("ResearchStudy", params={"_summary": "count"})).json()
    assert count["total"] == 5 and "entry" not in count


async def test_elements_keeps_named_and_mandatory_elements(client: httpx.AsyncClient) -> None:
    await _studies(client, 4)
    b = (await client.get("ResearchStudy", params={"_elements": "title,identifier", "_id": "s03"})).json()
    got = b["entry"][0]["resource"]
    assert set(got) == {"resourceType", "id", "meta", "title", "identifier", "status"}  # status is mandatory (1..1)
    assert _tagged(got)
    assert "_elements=title,identifier" in _link(b, "self")


def test_summary_definitions_are_derived_not_retyped() -> None:
    fresh = summary.render(summary.derive(json.loads(summary.SOURCE.read_text(encoding="utf-8"))))
    assert summary.TARGET.read_text(encoding="utf-8") == fresh, "run python -m fhirtrial.rest.summary"
    assert "status" in summary.mandatory_elements("ResearchStudy")
    assert "description" not in summary.summary_elements("ResearchStudy")


def test_summary_handles_choice_elements() -> None:
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},
           "valueQuantity": {"value": 1}, "note": [{"text": "n"}]}
    got = summary.apply(obs, "true")
    assert got is not None and "valueQuantity" in got and "note" not in got


# -- includes --------------------------------------------------------------------------------------------------------
async def test_include_entries_have_mode_include(client: httpx.AsyncClient) -> None:
    await _put(client, organization(id="acme"))
    await _studies(client, 3)
    b = (await client.get("ResearchStudy", params={"_id": "s01", "_include": "ResearchStudy:sponsor"})).json()
    assert _ids(b) == ["s01"] and _ids(b, "include") == ["acme"]
    assert b["total"] == 1
    assert "_include=ResearchStudy:sponsor" in _link(b, "self")
    rev = (await client.get("Organization", params={"_id": "acme", "_revinclude": "ResearchStudy:sponsor"})).json()
    assert sorted(_ids(rev, "include")) == ["s00", "s01", "s02"]


# -- formats ---------------------------------------------------------------------------------------------------------
async def test_search_in_xml(client: httpx.AsyncClient) -> None:
    await _studies(client, 2)
    r = await client.get("ResearchStudy", params={"_format": "xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+xml")
    assert b"<Bundle" in r.content and b"searchset" in r.content


# -- conditional interactions keep working ---------------------------------------------------------------------------
async def test_conditional_interactions_still_use_search_criteria(client: httpx.AsyncClient) -> None:
    await _studies(client, 3)
    r = await client.post("ResearchStudy", json=study(title="dup", identifier=[{"system": "urn:test", "value": "id-1"}]),
                           headers={**JSON_HEADERS, "If-None-Exist": "identifier=urn:test|id-1"})
    assert r.status_code == 200 and r.json()["id"] == "s01"
    r = await client.put("ResearchStudy?identifier=urn:test|id-2", json=study("s02", title="changed"),
                          headers=JSON_HEADERS)
    assert r.status_code == 200 and r.json()["title"] == "changed"
    r = await client.delete("ResearchStudy?identifier=urn:test|id-0", headers=JSON_HEADERS)
    assert r.status_code in (200, 204)
    assert sorted(_ids((await client.get("ResearchStudy")).json())) == ["s01", "s02"]


# -- our SearchParameters --------------------------------------------------------------------------------------------
async def test_trial_search_parameters_are_served_from_the_package(client: httpx.AsyncClient, repo: Any) -> None:
    definitions = load_trial_definitions()
    for d in definitions:
        r = await client.get(f"SearchParameter/{d['id']}")
        assert r.status_code == 200, r.text
        assert r.json() == d
    b = (await client.get("SearchParameter", params={"_count": 50})).json()
    assert b["total"] == len(definitions)
    phase = (await client.get("SearchParameter", params={"url": definitions[1]["url"]})).json()
    assert _ids(phase) == [definitions[1]["id"]]
    b = (await client.get("SearchParameter", params={"code": "eligible-age"})).json()
    assert sorted(_ids(b)) == ["Group-eligible-age", "ResearchStudy-eligible-age"]
    cap = (await client.get("metadata")).json()
    urls = {p["definition"] for r in cap["rest"][0]["resource"] for p in r.get("searchParam", ())}
    assert {d["url"] for d in definitions} <= urls
    with repo.engine.connect() as conn:  # nothing of theirs is stored
        assert conn.exec_driver_sql("SELECT count(*) FROM resource WHERE resource_type = 'SearchParameter'"
                                    ).scalar_one() == 0
