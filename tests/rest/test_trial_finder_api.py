"""What the trial finder needs from the FHIR API, over HTTP on a real uvicorn (issue 15): distances on near searches
(location-distance, _sort=near with keyset paging), recruiting sites within a distance (site-status-near),
boolean _content with relevance, ResearchStudy/$facets, and condition synonyms.

Hand-made sites lie in the South Atlantic, where no real record has one, so their expected distances are exact;
real COVID-19 records (../shared/data/ctgov-covid) give the facet counts, computed here from the raw records.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhirtrial.rest.operations.facets import facets_definition

from ..conftest import PG_ENV
from ..support.server import ServerProcess
from ..support.validators import node_available, validate_with_node

ROOT = Path(__file__).resolve().parents[2]
COVID = ROOT / ".." / "shared" / "data" / "ctgov-covid"
TOKEN = "finder-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
EXT = "https://fhirtrial.org/fhir/StructureDefinition"
STATUS_SYSTEM = "https://fhirtrial.org/fhir/CodeSystem/ctgov-status"
DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"
NCT = "identifier=https://clinicaltrials.gov|"  # every registry study, none of the hand-made ones

# (latitude, longitude): A is the searched point, B ~5 km away, C ~65 km, D ~350 km
PLACES = {"A": (-45.0, -30.0), "B": (-45.03, -30.05), "C": (-45.4, -30.6), "D": (-47.0, -33.0)}
POINT = PLACES["A"]


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Spherical law of cosines (not the server's haversine), mean Earth radius."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(math.radians(b[1] - a[1]))
    return 6371.0088 * math.acos(min(1.0, c))


def _site(place: str, status: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"reference": f"Location/w-loc-{place}"}
    if status:
        ref["extension"] = [{"url": f"{EXT}/site-status", "valueCodeableConcept": {
            "coding": [{"system": STATUS_SYSTEM, "code": status}], "text": status.title()}}]
    return ref


STUDIES = {
    "w-s1": ([("A", "COMPLETED"), ("C", "RECRUITING")], "Bone metastases: bone pain and bone density, bone bone"),
    "w-s2": ([("B", "RECRUITING")], "Liver metastases after colorectal cancer"),
    "w-s3": ([("D", "RECRUITING"), ("A", None)], "Lung cancer screening"),
    "w-s4": ([], "Heart failure with bone loss"),
}
HAND = "_id=" + ",".join(STUDIES)


def _hand_made() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"resourceType": "Location", "id": f"w-loc-{p}", "name": f"Site {p}",
         "position": {"latitude": lat, "longitude": lon}} for p, (lat, lon) in PLACES.items()]
    for sid, (sites, text) in STUDIES.items():
        study: dict[str, Any] = {"resourceType": "ResearchStudy", "id": sid, "status": "active", "title": sid,
                                 "description": text}
        if sites:
            study["site"] = [_site(p, s) for p, s in sites]
        out.append(study)
    return out


@pytest.fixture(scope="module")
def server(_database_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database with the COVID-19 records (``fhirtrial import``) and the hand-made sites, served."""
    if not COVID.is_dir():
        pytest.skip("../shared/data/ctgov-covid is absent")
    directory = tmp_path_factory.mktemp("finder")
    url = os.environ.get(PG_ENV)
    if url:
        _database_template()
    else:
        shutil.copyfile(_database_template, directory / "finder.db")
        url = f"sqlite:///{directory / 'finder.db'}"
    done = subprocess.run([sys.executable, "-m", "fhirtrial.cli.main", "import", str(COVID), "--database-url", url,
                           "-e", str(directory / "errors.jsonl")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with ServerProcess(url, directory / "server.log", token=TOKEN) as proc:
        with httpx.Client(timeout=60) as c:
            for r in _hand_made():
                put = c.put(f"{proc.base}/{r['resourceType']}/{r['id']}", json=r, headers=HEADERS)
                assert put.status_code in (200, 201), put.text
        yield proc.base


def get(base: str, path: str, query: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/{path}?{query}", timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def matches(bundle: dict[str, Any]) -> list[tuple[str, float | None]]:
    """(id, distance in km) of each match, in order."""
    out = []
    for e in bundle.get("entry", []):
        if e["search"]["mode"] != "match":
            continue
        exts = [x for x in e["search"].get("extension", []) if x["url"] == DISTANCE]
        d = exts[0]["valueDistance"] if exts else None
        if d is not None:
            assert (d["system"], d["code"], d["unit"]) == ("http://unitsofmeasure.org", "km", "km")
        out.append((e["resource"]["id"], d["value"] if d else None))
    return out


def pages(base: str, path: str, query: str) -> Iterator[dict[str, Any]]:
    """Every page, following the next links (a page seen twice fails rather than loops)."""
    url: str | None = f"{base}/{path}?{query}"
    seen: set[str] = set()
    while url:
        bundle = httpx.get(url, timeout=60).json()
        ids = ",".join(e["resource"]["id"] for e in bundle.get("entry", []))
        assert ids not in seen, f"page {ids} again: paging does not advance"
        seen.add(ids)
        yield bundle
        url = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)


def walk(base: str, path: str, query: str) -> list[tuple[str, float | None]]:
    return [m for bundle in pages(base, path, query) for m in matches(bundle)]


def near(distance: float) -> str:
    return f"{POINT[0]}|{POINT[1]}|{distance}|km"


# -- distance and recruiting sites --------------------------------------------------------------------------------
def test_recruiting_sites_within_reach_tie_status_to_place(server: str) -> None:
    """w-s1 recruits at C (65 km) but its site at A is completed; w-s3's site at A has no status: within 50 km only
    w-s2 recruits, while ANDing site.near and site-status (any site each) would also give w-s1 and w-s3."""
    tied = matches(get(server, "ResearchStudy", f"site-status-near=RECRUITING${near(50)}"))
    assert [i for i, _ in tied] == ["w-s2"]
    assert tied[0][1] == pytest.approx(km(POINT, PLACES["B"]), abs=0.001)
    loose = matches(get(server, "ResearchStudy", f"site.near={near(50)}&site-status=RECRUITING&{HAND}"))
    assert {i for i, _ in loose} == {"w-s1", "w-s2", "w-s3"}
    system = matches(get(server, "ResearchStudy", f"site-status-near={STATUS_SYSTEM}|RECRUITING${near(100)}"))
    assert {i for i, _ in system} == {"w-s1", "w-s2"}
    assert matches(get(server, "ResearchStudy", f"site-status-near=WITHDRAWN${near(1000)}&{HAND}")) == []


def test_nearest_first_with_keyset_pages(server: str) -> None:
    """_sort=near orders by the nearest matching site; one match per page, pages followed by their next links."""
    expected = [("w-s2", km(POINT, PLACES["B"])), ("w-s1", km(POINT, PLACES["C"]))]
    got = walk(server, "ResearchStudy", f"site-status-near=RECRUITING${near(100)}&_sort=near&_count=1")
    assert [i for i, _ in got] == [i for i, _ in expected]
    assert [d for _, d in got] == pytest.approx([d for _, d in expected], abs=0.001)
    back = walk(server, "ResearchStudy", f"site-status-near=RECRUITING${near(100)}&_sort=-near&_count=1")
    assert [i for i, _ in back] == ["w-s1", "w-s2"]
    # via the plain chain: every site counts, so w-s1 and w-s3 are at 0 km (site A), then w-s2; D is too far
    chained = walk(server, "ResearchStudy", f"site.near={near(400)}&_sort=near&_count=2&{HAND}")
    assert [i for i, _ in chained] == ["w-s1", "w-s3", "w-s2"]
    assert [d for _, d in chained] == pytest.approx([0.0, 0.0, km(POINT, PLACES["B"])], abs=0.001)
    unsorted = dict(matches(get(server, "ResearchStudy", f"site.near={near(400)}&{HAND}")))
    assert unsorted == pytest.approx(dict(chained), abs=0.001)


def test_location_near_carries_its_distance(server: str) -> None:
    got = walk(server, "Location", f"near={near(500)}&_sort=near&_count=3")
    own = [(i, d) for i, d in got if i.startswith("w-loc-")]
    assert [i for i, _ in own] == ["w-loc-A", "w-loc-B", "w-loc-C", "w-loc-D"]
    assert [d for _, d in own] == pytest.approx([km(POINT, PLACES[p]) for p in "ABCD"], abs=0.001)
    miles = matches(get(server, "Location", f"near={POINT[0]}|{POINT[1]}|10|mi&_id=w-loc-A,w-loc-B,w-loc-C"))
    assert {i for i, _ in miles} == {"w-loc-A", "w-loc-B"}  # B is 3.6 mi away; distances stay in km
    assert dict(miles)["w-loc-B"] == pytest.approx(km(POINT, PLACES["B"]), abs=0.001)


def test_bad_distance_requests_are_400(server: str) -> None:
    for query in ("_sort=near", f"site-status-near=RECRUITING&{HAND}", "site-status-near=RECRUITING$x|y",
                  f"site.near={near(5)},{near(6)}&_sort=near", "site-status-near=RECRUITING$91|0|5|km"):
        r = httpx.get(f"{server}/ResearchStudy?{query}", timeout=30)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.skipif(not node_available(), reason="npm validators not installed (npm ci)")
def test_bundles_and_facets_pass_both_validators(server: str) -> None:
    bodies = [get(server, "ResearchStudy", f"site-status-near=RECRUITING${near(100)}&_sort=near"),
              get(server, "Location", f"near={near(100)}&_sort=near"),
              get(server, "ResearchStudy", f"_content=bone&_sort=_score&{HAND}"),
              get(server, "ResearchStudy/$facets", ""),
              get(server, "ResearchStudy/$facets", "recruitment=RECRUITING")]
    assert all(b.get("entry") or b["resourceType"] == "Parameters" for b in bodies)
    bodies += [facets_definition(), *(get(server, f"SearchParameter/ResearchStudy-{code}", "")
                                      for code in ("site-status", "site-status-near", "age-group"))]
    for body, verdict in zip(bodies, validate_with_node(bodies)):
        assert verdict.ok, (body.get("resourceType"), verdict)


# -- boolean full text ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "expected"), [
    ("(bone OR liver) and metastases", {"w-s1", "w-s2"}),
    ('"bone pain"', {"w-s1"}),
    ('"pain bone"', set()),
    ("bone -metastases", {"w-s4"}),
    ("cancer NOT lung", {"w-s2"}),
    ("heart OR lung", {"w-s3", "w-s4"}),
    ("liver metastases", {"w-s2"}),
    ('"unbalanced bone', set()),  # the quote runs to the end: the phrase "unbalanced bone"
    ("bone* : ^pain", {"w-s1"}),  # FTS5 syntax typed by a client is no syntax
    ("NEAR(bone pain", set()),  # ... and its keywords are words ("near" is in no study)
    ("bone AND", {"w-s1", "w-s4"}),
])
def test_content_boolean_syntax(server: str, query: str, expected: set[str]) -> None:
    r = httpx.get(f"{server}/ResearchStudy", params={"_content": query, "_id": HAND[4:]}, timeout=30)
    assert r.status_code == 200, r.text
    assert {i for i, _ in matches(r.json())} == expected


@pytest.mark.parametrize("query", ["-cancer", "***", "a OR NOT b", "NOT", '""', "(" * 40 + "a", "NOT " * 3000 + "a",
                                   "a " + "(" * 3000])
def test_content_without_a_positive_word_is_a_clear_400(server: str, query: str) -> None:
    r = httpx.get(f"{server}/ResearchStudy", params={"_content": query}, timeout=30)
    assert r.status_code == 400, (query, r.text)
    body = r.json()
    assert body["resourceType"] == "OperationOutcome" and "_content" in json.dumps(body)


def test_relevance_order_and_scores(server: str) -> None:
    """_sort=_score: the study that says "bone" most comes first; every match carries a score in [0, 1)."""
    found = [(e["resource"]["id"], e["search"]["score"])
             for bundle in pages(server, "ResearchStudy", f"_content=bone&_sort=_score&_count=1&{HAND}")
             for e in bundle.get("entry", [])]
    assert [i for i, _ in found] == ["w-s1", "w-s4"]
    assert 1 > found[0][1] > found[1][1] > 0


# -- facets ----------------------------------------------------------------------------------------------------------
def _records() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(COVID.glob("NCT*.json"))]


def _years(text: str | None) -> float | None:
    if not text:
        return None
    value, unit = text.split()[:2]
    per = {"year": 1, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25, "hour": 1 / 8766, "minute": 1 / 525960}
    return float(value) * per[unit.lower().rstrip("s")]


def expected_facets(records: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """The registry's own fields, counted per study (a study counts once per value)."""
    out: dict[str, Counter[str]] = {k: Counter() for k in
                                    ("status", "phase", "study-type", "sex", "age-group", "healthy-volunteers", "country")}
    for rec in records:
        ps = rec["protocolSection"]
        elig = ps.get("eligibilityModule")
        out["status"][ps["statusModule"]["overallStatus"]] += 1
        out["phase"].update(set(ps.get("designModule", {}).get("phases", [])))
        if "studyType" in ps.get("designModule", {}):
            out["study-type"][ps["designModule"]["studyType"]] += 1
        if elig is not None:
            sex = elig.get("sex", "ALL")
            out["sex"].update({"FEMALE": ["female"], "MALE": ["male"]}.get(sex, ["female", "male"]))
            ages = elig.get("stdAges")
            if not ages:  # the registry's groups from the age limits: child < 18, adult 18-64, older adult 65+
                low, high = _years(elig.get("minimumAge")) or 0.0, _years(elig.get("maximumAge")) or math.inf
                ages = [g for g, (a, b) in {"CHILD": (0, 18), "ADULT": (18, 65), "OLDER_ADULT": (65, math.inf)}.items()
                        if low < b and high >= a]
            out["age-group"].update(set(ages))
            if "healthyVolunteers" in elig:
                out["healthy-volunteers"]["true" if elig["healthyVolunteers"] else "false"] += 1
        countries = {loc["country"] for loc in ps.get("contactsLocationsModule", {}).get("locations", [])
                     if loc.get("country")}
        out["country"].update(countries)
    return out


def facets_of(body: dict[str, Any]) -> tuple[int, dict[str, dict[str, tuple[int, str]]]]:
    """(total, facet -> value -> (count, search))."""
    assert body["resourceType"] == "Parameters", body
    total = next(p["valueInteger"] for p in body["parameter"] if p["name"] == "total")
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for p in body["parameter"]:
        if p["name"] != "facet":
            continue
        parts = p["part"]
        name = next(x["valueCode"] for x in parts if x["name"] == "name")
        buckets = {}
        for b in (x for x in parts if x["name"] == "bucket"):
            fields = {x["name"]: x for x in b["part"]}
            coding = fields["value"]["valueCoding"]
            buckets[coding.get("code") or coding["display"]] = (fields["count"]["valueInteger"],
                                                                fields["search"]["valueString"])
        out[name] = buckets
    return total, out


def test_facets_count_what_the_records_say(server: str) -> None:
    records = _records()
    total, got = facets_of(get(server, "ResearchStudy/$facets", NCT))
    assert total == len(records)
    expected = expected_facets(records)
    for name, counts in expected.items():
        assert {k: v[0] for k, v in got[name].items()} == dict(counts), name
    # the whole set (hand-made studies have no registry facts) and a filtered one
    assert facets_of(get(server, "ResearchStudy/$facets", ""))[0] == len(records) + len(STUDIES)
    recruiting = [r for r in records if r["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"]
    total, got = facets_of(get(server, "ResearchStudy/$facets", f"recruitment=RECRUITING&{NCT}&_count=1&_sort=_id"))
    assert total == len(recruiting) > 0
    for name, counts in expected_facets(recruiting).items():
        assert {k: v[0] for k, v in got[name].items()} == dict(counts), name


def test_facet_buckets_select_their_studies(server: str) -> None:
    """Each bucket's search parameter, added to the search, finds as many studies as the bucket counts."""
    _, got = facets_of(get(server, "ResearchStudy/$facets", NCT))
    checked = 0
    for name, buckets in got.items():
        for count, search in list(buckets.values())[:2]:
            param, _, value = search.partition("=")
            r = httpx.get(f"{server}/ResearchStudy", params=[(param, value), ("identifier", NCT[11:]),
                                                             ("_summary", "count")], timeout=30)
            assert r.json()["total"] == count, (name, search)
            checked += 1
    assert checked >= 10


def test_facets_by_post_form_and_parameters(server: str) -> None:
    query = f"recruitment=RECRUITING&{NCT}"
    by_get = facets_of(get(server, "ResearchStudy/$facets", query))
    form = httpx.post(f"{server}/ResearchStudy/$facets", content=query,
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert form.status_code == 200, form.text
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "recruitment", "valueString": "RECRUITING"}, {"name": "identifier", "valueString": NCT[11:]}]}
    body = httpx.post(f"{server}/ResearchStudy/$facets", json=params,
                      headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert body.status_code == 200, body.text
    assert facets_of(form.json()) == by_get == facets_of(body.json())
    for bad, kind in ((b"{oops", "application/fhir+json"), (b'{"resourceType": "Patient"}', "application/fhir+json"),
                      (b"x", "text/plain")):
        r = httpx.post(f"{server}/ResearchStudy/$facets", content=bad, headers={"Content-Type": kind}, timeout=30)
        assert r.status_code in (400, 415) and r.json()["resourceType"] == "OperationOutcome"
    lenient = get(server, "ResearchStudy/$facets", f"{NCT}&nonsense=1")
    assert facets_of(lenient) == facets_of(get(server, "ResearchStudy/$facets", NCT))
    assert [p["valueString"] for p in lenient["parameter"] if p["name"] == "ignored"][0].startswith("nonsense")
    strict = httpx.get(f"{server}/ResearchStudy/$facets?nonsense=1", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"
    r = httpx.get(f"{server}/ResearchStudy/$facets?phase=ge3", timeout=30)
    assert r.status_code == 200  # an unknown code counts nothing, it is no error
    assert httpx.get(f"{server}/ResearchStudy/$facets?date=notadate", timeout=30).status_code == 400


def test_capability_statement_lists_the_new_parameters_and_facets(server: str) -> None:
    cs = get(server, "metadata", "")
    study = next(r for r in cs["rest"][0]["resource"] if r["type"] == "ResearchStudy")
    names = {p["name"]: p for p in study["searchParam"]}
    assert names["site-status-near"]["type"] == "composite" and names["site-status"]["type"] == "token"
    assert names["age-group"]["type"] == "token"
    assert {"name": "facets", "definition": "https://fhirtrial.org/fhir/OperationDefinition/ResearchStudy-facets"} \
        in study["operation"]


# -- condition synonyms (the vocabulary of fhirtrial.criteria) --------------------------------------------------------
@pytest.mark.parametrize("term", ["coronavirus", "SARS-CoV-2"])
def test_condition_synonyms_find_covid_studies(server: str, term: str) -> None:
    covid = {r["protocolSection"]["identificationModule"]["nctId"] for r in _records()
             if any(m["id"] == "D000086382" for m in r.get("derivedSection", {}).get("conditionBrowseModule", {})
                    .get("meshes", []))}
    got = {i for i, _ in walk(server, "ResearchStudy", f"condition:text={term}&_count=100&_elements=id")}
    assert len(covid) > 90 and covid <= got
