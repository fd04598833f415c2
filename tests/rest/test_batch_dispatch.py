"""Batch and transaction entries go through the same routes as direct requests (as Medplum's batch.ts), so each
entry answers exactly as the same request sent alone: https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

import base64
import email.utils
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest

from ..support.server import ServerProcess
from .conftest import BASE, JSON_HEADERS, assert_outcome, organization, study

TOKEN = "batch-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WRITE = {**AUTH, "Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def _server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batch") / "server.log"


@pytest.fixture
def server(database_url: str, repo: Any, _server_log: Path) -> Iterator[str]:
    """A real ``fhirtrial serve`` (the read fast path in front) on the database under test."""
    with ServerProcess(database_url, _server_log, token=TOKEN) as proc:
        yield proc.base


def _populate(base: str) -> None:
    with httpx.Client(headers=WRITE, timeout=30) as c:
        org = c.put(f"{base}/Organization/sponsor", json={**organization("Sponsor"), "id": "sponsor"})
        assert org.status_code == 201, org.text
        for n in range(3):
            body = study(f"s{n}", sponsor={"reference": "Organization/sponsor"})
            assert c.put(f"{base}/ResearchStudy/s{n}", json=body).status_code == 201
        assert c.put(f"{base}/ResearchStudy/s0", json=study("s0", title="Second")).status_code == 200
        assert c.put(f"{base}/ResearchStudy/gone", json=study("gone")).status_code == 201
        assert c.delete(f"{base}/ResearchStudy/gone").status_code == 204


def _entry(method: str, url: str, resource: dict | None = None, **request: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"request": {"method": method, "url": url, **request}}
    if resource is not None:
        entry["resource"] = resource
    return entry


def _bundle(kind: str, entries: list[dict]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _comparable(body: Any) -> Any:
    """A response body without what differs between two answers to the same request: a Bundle's own id and
    lastUpdated."""
    if isinstance(body, dict) and body.get("resourceType") == "Bundle":
        return {k: v for k, v in body.items() if k not in ("id", "meta")}
    return body


# (method, url, entry.request extras, resource, the direct request's headers)
READS: list[tuple[str, str, dict[str, str], dict | None, dict[str, str]]] = [
    ("GET", "ResearchStudy/s0", {}, None, {}),
    ("GET", "ResearchStudy/s0/_history/1", {}, None, {}),
    ("GET", "ResearchStudy/s0/_history", {}, None, {}),
    ("GET", "ResearchStudy/_history?_count=2", {}, None, {}),
    ("GET", "_history?_count=3", {}, None, {}),
    ("GET", "ResearchStudy?sponsor=Organization/sponsor&_sort=-_id&_count=2", {}, None, {}),
    ("GET", "ResearchStudy?title:contains=second&_include=ResearchStudy:sponsor", {}, None, {}),
    ("GET", "ResearchStudy?no-such-parameter=1", {}, None, {}),
    ("GET", "?_type=Organization,ResearchStudy&_count=10", {}, None, {}),
    ("GET", "Organization?_summary=count", {}, None, {}),
    ("GET", "ResearchStudy/s1/$everything", {}, None, {}),
    ("POST", "ResearchStudy/$validate", {}, {"resourceType": "ResearchStudy", "status": "bogus"},
     {"Content-Type": "application/fhir+json"}),
    ("GET", "ResearchStudy/missing", {}, None, {}),
    ("GET", "ResearchStudy/gone", {}, None, {}),
    ("GET", "ResearchStudy/gone/_history", {}, None, {}),
    ("GET", "Nothing/1", {}, None, {}),
    ("GET", "ResearchStudy/s0/_history/9", {}, None, {}),
    ("GET", "ResearchStudy?date=notadate", {}, None, {}),
    ("GET", "ResearchStudy/s0", {"ifNoneMatch": 'W/"2"'}, None, {"If-None-Match": 'W/"2"'}),
    ("HEAD", "ResearchStudy/s1", {}, None, {}),
    ("POST", "ResearchStudy", {}, {"resourceType": "ResearchStudy"}, {"Content-Type": "application/fhir+json"}),
    ("PUT", "ResearchStudy/s1", {}, study("other"), {"Content-Type": "application/fhir+json"}),
    ("DELETE", "ResearchStudy/s2", {"ifMatch": 'W/"7"'}, None, {"If-Match": 'W/"7"'}),
]


def test_each_batch_entry_answers_as_the_direct_request(server: str) -> None:
    """The differential: every request sent alone, then all of them as one batch; status, headers and body
    agree (reads, searches, every history level, operations, errors, conditional read, HEAD, failing writes)."""
    _populate(server)
    direct = []
    with httpx.Client(headers=AUTH, timeout=30) as c:
        for method, url, _, resource, headers in READS:
            content = orjson.dumps(resource) if resource is not None else None
            direct.append(c.request(method, f"{server}/{url}", content=content, headers=headers))
        batch = c.post(server, json=_bundle("batch", [_entry(m, u, r, **extra) for m, u, extra, r, _ in READS]),
                       headers={"Content-Type": "application/fhir+json"})
    assert batch.status_code == 200, batch.text
    answers = batch.json()["entry"]
    assert len(answers) == len(READS)
    for (method, url, *_), alone, entry in zip(READS, direct, answers):
        where = f"{method} {url}"
        response = entry["response"]
        assert response["status"].split()[0] == str(alone.status_code), (where, response, alone.text)
        assert response.get("etag") == alone.headers.get("etag"), where
        if "last-modified" in alone.headers:
            modified = email.utils.parsedate_to_datetime(alone.headers["last-modified"])
            assert response["lastModified"].startswith(modified.strftime("%Y-%m-%dT%H:%M:%S")), where
        if alone.status_code >= 400:
            assert "resource" not in entry and response["outcome"] == alone.json(), where
        elif method == "HEAD" or alone.status_code == 304:
            assert alone.content == b"" and "resource" not in entry, where
        else:
            assert _comparable(entry["resource"]) == _comparable(alone.json()), where
    statuses = [a.status_code for a in direct]
    assert {200, 304, 400, 404, 410, 412} <= set(statuses), statuses  # the list covers what it claims to


def test_batch_writes_answer_as_direct_writes(server: str) -> None:
    """The same writes on two twin resources, one directly and one in a batch: same statuses and bodies
    (apart from the id and lastUpdated)."""
    patch = [{"op": "replace", "path": "/title", "value": "Patched"}]

    def same(alone: httpx.Response, entry: dict[str, Any], rid: str) -> None:
        response = entry["response"]
        assert response["status"].split()[0] == str(alone.status_code), (response, alone.text)
        assert response.get("etag") == alone.headers.get("etag")
        assert response.get("location", "").replace(rid, "X") == alone.headers.get("location", "").replace(
            "direct", "X")
        if alone.content:
            strip = lambda r: {k: v for k, v in r.items() if k not in ("id", "meta")}  # noqa: E731
            assert strip(entry["resource"]) == strip(alone.json())
        else:
            assert "resource" not in entry

    with httpx.Client(headers=WRITE, timeout=30) as c:
        steps = [("PUT", "ResearchStudy/{rid}", study("{rid}"), {}),
                 ("PUT", "ResearchStudy/{rid}", study("{rid}"), {}),  # unchanged: no new version
                 ("PUT", "ResearchStudy/{rid}", study("{rid}", title="Two"), {"ifMatch": 'W/"1"'}),
                 ("PATCH", "ResearchStudy/{rid}", patch, {}),
                 ("DELETE", "ResearchStudy/{rid}", None, {})]
        for method, url, body, extra in steps:
            results = {}
            for rid in ("direct", "batched"):
                resource = orjson.loads(orjson.dumps(body).replace(b"{rid}", rid.encode())) if body else None
                if rid == "direct":
                    headers = {"If-Match": extra["ifMatch"]} if extra else {}
                    if method == "PATCH":
                        headers["Content-Type"] = "application/json-patch+json"
                    results[rid] = c.request(method, f"{server}/{url.format(rid=rid)}", headers=headers,
                                             content=orjson.dumps(resource) if resource is not None else None)
                else:
                    if method == "PATCH":
                        resource = {"resourceType": "Binary", "contentType": "application/json-patch+json",
                                    "data": base64.b64encode(orjson.dumps(patch)).decode()}
                    r = c.post(server, json=_bundle("batch", [_entry(method, url.format(rid=rid), resource,
                                                                     **extra)]))
                    assert r.status_code == 200, r.text
                    results[rid] = r.json()["entry"][0]
            same(results["direct"], results["batched"], "batched")


def test_entries_carry_the_callers_authorization(server: str) -> None:
    bundle = _bundle("batch", [_entry("POST", "Organization", organization("Anonymous")),
                               _entry("GET", "metadata")])
    anonymous = httpx.post(server, json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert anonymous.status_code == 200, anonymous.text
    refused, read = (e["response"] for e in anonymous.json()["entry"])
    assert refused["status"].startswith("401") and refused["outcome"]["issue"][0]["code"] == "login"
    assert read["status"].startswith("200")
    wrong = httpx.post(server, json=bundle, headers={"Content-Type": "application/fhir+json",
                                                     "Authorization": "Bearer wrong"})
    assert wrong.json()["entry"][0]["response"]["status"].startswith("401")
    allowed = httpx.post(server, json=bundle, headers=WRITE)
    assert allowed.json()["entry"][0]["response"]["status"] == "201 Created"
    tx = httpx.post(server, json={**bundle, "type": "transaction", "entry": bundle["entry"][:1]},
                    headers={"Content-Type": "application/fhir+json"})
    assert_outcome(tx, 401, "login")
    assert tx.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(f"{server}/Organization", params={"name": "Anonymous"}).json()["total"] == 1


async def test_transaction_entries_read_the_transactions_own_writes(client: httpx.AsyncClient) -> None:
    sponsor = "urn:uuid:5b3ff8a4-7b0e-4b0a-9d55-0c7a3a1c0001"
    tx = _bundle("transaction", [
        _entry("GET", "ResearchStudy?sponsor:missing=false"),
        _entry("GET", "ResearchStudy/t1/_history"),
        _entry("PUT", "ResearchStudy/t1", study("t1", sponsor={"reference": sponsor})),
        {**_entry("POST", "Organization", organization("New sponsor")), "fullUrl": sponsor},
        _entry("GET", "_history"),
        _entry("HEAD", "ResearchStudy/t1")])
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert r.status_code == 200, r.text
    search, history, put, post, system, head = r.json()["entry"]
    assert [e["response"]["status"] for e in (search, history, put, post, system, head)] == [
        "200 OK", "200 OK", "201 Created", "201 Created", "200 OK", "200 OK"]
    org_id = post["response"]["location"].split("/Organization/")[1].split("/")[0]
    # GETs run after the writes, inside the transaction: they see them, references already rewritten.
    assert [e["resource"]["sponsor"]["reference"] for e in search["resource"]["entry"]] == [f"Organization/{org_id}"]
    assert history["resource"]["total"] == 1 and system["resource"]["total"] == 2
    assert head["response"]["etag"] == 'W/"1"' and "resource" not in head


async def test_a_failing_read_fails_the_whole_transaction(client: httpx.AsyncClient) -> None:
    tx = _bundle("transaction", [_entry("PUT", "ResearchStudy/kept", study("kept")),
                                 _entry("GET", "ResearchStudy?date=notadate")])
    assert_outcome(await client.post("", json=tx, headers=JSON_HEADERS), 400, mentions="Bundle.entry[1]")
    assert (await client.get("ResearchStudy/kept")).status_code == 404


async def test_conditional_create_in_a_transaction_points_references_at_the_match(client: httpx.AsyncClient) -> None:
    org = organization("Known", identifier=[{"system": "urn:t", "value": "1"}])
    existing = (await client.post("Organization", json=org, headers=JSON_HEADERS)).json()["id"]
    urn = "urn:uuid:5b3ff8a4-7b0e-4b0a-9d55-0c7a3a1c0002"
    tx = _bundle("transaction", [
        {**_entry("POST", "Organization", org, ifNoneExist="identifier=urn:t|1"), "fullUrl": urn},
        _entry("PUT", "ResearchStudy/c1", study("c1", sponsor={"reference": urn}))])
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["200 OK", "201 Created"], r.text
    assert (await client.get("ResearchStudy/c1")).json()["sponsor"]["reference"] == f"Organization/{existing}"
    assert (await client.get("Organization", params={"identifier": "urn:t|1"})).json()["total"] == 1


async def test_operations_run_in_a_batch_not_in_a_transaction(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/op", json=study("op"), headers=JSON_HEADERS)
    entries = [_entry("GET", "ResearchStudy/op/$everything"),
               _entry("POST", "ResearchStudy/$validate", study())]
    batch = await client.post("", json=_bundle("batch", entries), headers=JSON_HEADERS)
    everything, validated = batch.json()["entry"]
    assert everything["resource"]["type"] == "searchset" and everything["resource"]["total"] == 1
    assert validated["response"]["status"] == "200 OK"
    assert validated["resource"]["resourceType"] == "OperationOutcome"
    tx = await client.post("", json=_bundle("transaction", entries), headers=JSON_HEADERS)
    assert_outcome(tx, 400, "invalid", "in a batch")


async def test_entry_requests_that_cannot_be_sent(client: httpx.AsyncClient) -> None:
    nested = _entry("POST", BASE, _bundle("batch", []))
    elsewhere = _entry("GET", "https://other.example/fhir/ResearchStudy/x")
    r = await client.post("", json=_bundle("batch", [nested, elsewhere, _entry("GET", "metadata")]),
                          headers=JSON_HEADERS)
    first, second, third = (e["response"] for e in r.json()["entry"])
    assert first["status"].startswith("400") and "cannot hold another" in first["outcome"]["issue"][0]["diagnostics"]
    assert second["status"].startswith("400") and "base" in second["outcome"]["issue"][0]["diagnostics"]
    assert third["status"] == "200 OK"
    assert_outcome(await client.post("", json=_bundle("transaction", [nested]), headers=JSON_HEADERS), 400)


async def test_entries_answer_json_whatever_the_bundles_format(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/fmt", json=study("fmt"), headers=JSON_HEADERS)
    bundle = _bundle("batch", [_entry("GET", "ResearchStudy/fmt?_format=xml"),
                               _entry("GET", "ResearchStudy/fmt", ifModifiedSince="2999-01-01T00:00:00Z")])
    r = await client.post("", json=bundle, headers={**JSON_HEADERS, "Prefer": "return=minimal"})
    read, not_modified = r.json()["entry"]
    assert read["resource"]["id"] == "fmt"
    assert not_modified["response"]["status"] == "304 Not Modified" and "resource" not in not_modified
    created = await client.post("", json=_bundle("batch", [_entry("POST", "Organization", organization())]),
                                headers={**JSON_HEADERS, "Prefer": "return=minimal"})
    entry = created.json()["entry"][0]
    assert entry["response"]["status"] == "201 Created" and "resource" not in entry
    assert entry["response"]["location"].startswith("http://testserver/fhir/Organization/")


async def test_head_answers_get_headers_without_a_body(client: httpx.AsyncClient) -> None:
    await client.put("ResearchStudy/hd", json=study("hd"), headers=JSON_HEADERS)
    for url in ("ResearchStudy/hd", "ResearchStudy?_id=hd", "ResearchStudy/hd/_history", "ResearchStudy/nope"):
        got, head = await client.get(url), await client.head(url)
        assert head.status_code == got.status_code and head.content == b"", url
        assert head.headers.get("etag") == got.headers.get("etag")
        assert head.headers["content-type"] == got.headers["content-type"]
    assert (await client.head("$export", headers={"Prefer": "respond-async"})).status_code == 405


async def test_two_conditional_creates_of_one_criteria_in_a_transaction_make_one(client: httpx.AsyncClient) -> None:
    org = organization("Twice", identifier=[{"system": "urn:t", "value": "2"}])
    first, second = "urn:uuid:5b3ff8a4-7b0e-4b0a-9d55-0c7a3a1c0003", "urn:uuid:5b3ff8a4-7b0e-4b0a-9d55-0c7a3a1c0004"
    tx = _bundle("transaction", [
        {**_entry("POST", "Organization", org, ifNoneExist="identifier=urn:t|2"), "fullUrl": first},
        {**_entry("POST", "Organization", org, ifNoneExist="identifier=urn:t|2"), "fullUrl": second},
        _entry("PUT", "ResearchStudy/c2", study("c2", sponsor={"reference": second}))])
    r = await client.post("", json=tx, headers=JSON_HEADERS)
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["201 Created", "200 OK", "201 Created"], r.text
    created = r.json()["entry"][0]["response"]["location"].split("/_history/")[0].split("/fhir/")[1]
    assert r.json()["entry"][1]["response"]["location"].startswith(f"http://testserver/fhir/{created}/")
    assert (await client.get("ResearchStudy/c2")).json()["sponsor"]["reference"] == created
    assert (await client.get("Organization", params={"identifier": "urn:t|2"})).json()["total"] == 1


async def test_definitional_resources_in_a_bundle_answer_as_alone(client: httpx.AsyncClient) -> None:
    """Read-only definitions: read and search work as batch entries, writes are the same 405 as alone."""
    direct = await client.get("SearchParameter", params={"_count": 1})
    assert direct.status_code == 200 and direct.json()["entry"], direct.text
    first = direct.json()["entry"][0]["resource"]
    batch = await client.post("", json=_bundle("batch", [
        _entry("GET", "SearchParameter?_count=1"), _entry("GET", f"SearchParameter/{first['id']}"),
        _entry("PUT", f"SearchParameter/{first['id']}", {**first, "status": "retired"})]), headers=JSON_HEADERS)
    search, read, write = batch.json()["entry"]
    assert _comparable(search["resource"]) == _comparable(direct.json())
    assert read["resource"] == first
    alone = await client.put(f"SearchParameter/{first['id']}", json={**first, "status": "retired"},
                             headers=JSON_HEADERS)
    assert write["response"]["status"].startswith("405") and write["response"]["outcome"] == alone.json()
