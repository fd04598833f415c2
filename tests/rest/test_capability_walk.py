"""Walk the CapabilityStatement and exercise everything it advertises (https://hl7.org/fhir/R4/capabilitystatement.html).

Over the example studies (``load_examples``: the seed study and synthetic ones) plus a few hand-made resources of
the types the examples lack:

- every type interaction (create, read, vread, update, patch, delete, history-instance/-type, search-type) and
  every system interaction (transaction, batch, history-system, search-system) works;
- every advertised search parameter is accepted (never reported as ignored) and, where some stored resource has
  a value for it, a query built from that value finds that resource (``param=value&_id=that``); without data
  ``:missing`` is exercised instead;
- every ``searchInclude`` / ``searchRevInclude`` value is accepted;
- nothing works that is not advertised: parameters of other types are reported as ignored (lenient) or refused
  (strict), every parameter the parser accepts is advertised, unlisted types are 404.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, AsyncIterator
from urllib.parse import quote

import httpx
import pytest

from fhirtrial.config import Settings
from fhirtrial.loading import load_examples
from fhirtrial.conformance import default_definitions
from fhirtrial.resources import DEFINITIONAL_TYPES, RESOURCE_TYPES, SERVED_TYPES
from fhirtrial.rest.app import create_app
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.dates import MAX_DATETIME, MIN_DATETIME
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.parser import Parser, UnknownParameter
from fhirtrial.search.registry import default_registry

from .conftest import AUTH, BASE, JSON_HEADERS

SYNTHETIC = 30  # synthetic studies beside the seed study

# Resources of the types the example studies do not produce, rich enough to give most parameters a value.
EXTRA: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "walk-pat", "active": True, "gender": "female", "birthDate": "1970-05-06",
     "name": [{"family": "Walker", "given": ["Ann"]}], "identifier": [{"system": "urn:mrn", "value": "42"}],
     "telecom": [{"system": "phone", "value": "555-1234"}, {"system": "email", "value": "ann@example.org"}],
     "address": [{"city": "Lyon", "country": "France", "postalCode": "69001", "state": "ARA", "use": "home",
                  "line": ["1 rue"]}],
     "generalPractitioner": [{"reference": "Practitioner/walk-pr"}],
     "managingOrganization": {"reference": "Organization/walk-org"}, "deceasedBoolean": False,
     "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr"}]}}],
     "link": [{"other": {"reference": "Patient/walk-pat2"}, "type": "seealso"}]},
    {"resourceType": "Patient", "id": "walk-pat2"},
    {"resourceType": "Organization", "id": "walk-org", "name": "Walk Org", "active": True},
    {"resourceType": "Practitioner", "id": "walk-pr", "name": [{"family": "Doc"}], "active": True,
     "gender": "male", "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}]},
    {"resourceType": "PractitionerRole", "id": "walk-role", "active": True,
     "practitioner": {"reference": "Practitioner/walk-pr"}, "organization": {"reference": "Organization/walk-org"},
     "code": [{"coding": [{"system": "urn:role", "code": "pi"}]}], "period": {"start": "2020-01-01"},
     "specialty": [{"coding": [{"system": "urn:sp", "code": "onc"}]}], "identifier": [{"value": "r1"}],
     "telecom": [{"system": "email", "value": "doc@example.org"}, {"system": "phone", "value": "555"}]},
    {"resourceType": "Condition", "id": "walk-cond", "subject": {"reference": "Patient/walk-pat"},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "254637007"}], "text": "Lung cancer"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    "code": "resolved"}]},
     "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                        "code": "confirmed"}]},
     "category": [{"coding": [{"system": "urn:cat", "code": "problem"}]}], "severity": {"coding": [{"code": "24484000"}]},
     "bodySite": [{"coding": [{"code": "39607008"}]}], "onsetDateTime": "2019-02-03",
     "recordedDate": "2019-02-04", "abatementDateTime": "2020-01-01", "recorder": {"reference": "Practitioner/walk-pr"},
     "asserter": {"reference": "Practitioner/walk-pr"}, "identifier": [{"value": "c1"}],
     "stage": [{"summary": {"coding": [{"code": "stage-2"}]}}], "evidence": [{"code": [{"coding": [{"code": "ev"}]}],
                                                                          "detail": [{"reference": "Observation/walk-obs"}]}]},
    {"resourceType": "Observation", "id": "walk-obs", "status": "final", "subject": {"reference": "Patient/walk-pat"},
     "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
     "category": [{"coding": [{"system": "urn:cat", "code": "vital-signs"}]}],
     "effectiveDateTime": "2021-03-04T10:00:00Z", "issued": "2021-03-04T10:05:00Z",
     "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
     "performer": [{"reference": "Practitioner/walk-pr"}], "identifier": [{"value": "o1"}],
     "method": {"coding": [{"code": "m"}]}, "device": {"reference": "Device/d1"},
     "interpretation": [{"coding": [{"code": "N"}]}], "basedOn": [{"reference": "ServiceRequest/sr1"}],
     "focus": [{"reference": "Patient/walk-pat2"}], "hasMember": [{"reference": "Observation/walk-obs2"}],
     "derivedFrom": [{"reference": "Observation/walk-obs2"}], "partOf": [{"reference": "Procedure/p1"}],
     "specimen": {"reference": "Specimen/sp1"}, "encounter": {"reference": "Encounter/e1"},
     "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                      "code": "mm[Hg]"},
                    "interpretation": [{"coding": [{"code": "H"}]}]}]},
    {"resourceType": "Observation", "id": "walk-obs2", "status": "final", "code": {"text": "other"},
     "valueCodeableConcept": {"coding": [{"system": "urn:v", "code": "pos"}]}, "valueString": None},
    {"resourceType": "MedicationStatement", "id": "walk-ms", "status": "active", "identifier": [{"value": "ms1"}],
     "subject": {"reference": "Patient/walk-pat"}, "context": {"reference": "Encounter/e1"},
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": "860975"}], "text": "metformin"},
     "category": {"coding": [{"system": "urn:cat", "code": "outpatient"}]}, "effectiveDateTime": "2021-01-02",
     "informationSource": {"reference": "Practitioner/walk-pr"}, "partOf": [{"reference": "Procedure/walk-proc"}]},
    {"resourceType": "MedicationRequest", "id": "walk-mr", "status": "active", "intent": "order",
     "identifier": [{"value": "mr1"}], "subject": {"reference": "Patient/walk-pat"},
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": "860975"}]},
     "category": [{"coding": [{"system": "urn:cat", "code": "community"}]}], "priority": "routine",
     "authoredOn": "2021-01-02T09:00:00Z", "requester": {"reference": "Practitioner/walk-pr"},
     "performer": {"reference": "Practitioner/walk-pr"}, "encounter": {"reference": "Encounter/e1"},
     "intendedDispenser": None, "dosageInstruction": [{"timing": {"event": ["2021-01-03"]}}]},
    {"resourceType": "Procedure", "id": "walk-proc", "status": "completed", "identifier": [{"value": "pr1"}],
     "subject": {"reference": "Patient/walk-pat"}, "encounter": {"reference": "Encounter/e1"},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}], "text": "Appendectomy"},
     "category": {"coding": [{"system": "urn:cat", "code": "surgical"}]}, "performedDateTime": "2018-05-06",
     "performer": [{"actor": {"reference": "Practitioner/walk-pr"}}], "location": {"reference": "Location/walk-loc"},
     "reasonCode": [{"coding": [{"code": "74400008"}]}], "reasonReference": [{"reference": "Condition/walk-cond"}],
     "basedOn": [{"reference": "ServiceRequest/sr1"}], "partOf": [{"reference": "Procedure/walk-proc0"}],
     "instantiatesCanonical": ["http://example.org/PlanDefinition/pd"],
     "instantiatesUri": ["http://example.org/protocol"]},
    {"resourceType": "AllergyIntolerance", "id": "walk-ai", "identifier": [{"value": "ai1"}],
     "patient": {"reference": "Patient/walk-pat"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                    "code": "active"}]},
     "verificationStatus": {"coding": [{
         "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
     "type": "allergy", "category": ["medication"], "criticality": "high",
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}], "text": "Penicillin allergy"},
     "onsetDateTime": "2010-06-01", "recordedDate": "2010-06-02", "lastOccurrence": "2020-01-01",
     "recorder": {"reference": "Practitioner/walk-pr"}, "asserter": {"reference": "Practitioner/walk-pr"},
     "reaction": [{"substance": {"coding": [{"code": "764146007"}]}, "manifestation": [{"coding": [{"code": "247472004"}]}],
                   "severity": "severe", "onset": "2010-06-01", "exposureRoute": {"coding": [{"code": "26643006"}]}}]},
    {"resourceType": "DocumentReference", "id": "walk-doc", "status": "current", "docStatus": "final",
     "identifier": [{"value": "dr1"}], "masterIdentifier": {"value": "m1"},
     "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]},
     "category": [{"coding": [{"system": "urn:cat", "code": "clinical-note"}]}],
     "subject": {"reference": "Patient/walk-pat"}, "date": "2022-01-01T00:00:00Z",
     "author": [{"reference": "Practitioner/walk-pr"}], "authenticator": {"reference": "Organization/walk-org"},
     "custodian": {"reference": "Organization/walk-org"}, "description": "Discharge summary",
     "securityLabel": [{"coding": [{"system": "urn:sec", "code": "N"}]}],
     "relatesTo": [{"code": "appends", "target": {"reference": "DocumentReference/walk-doc0"}}],
     "content": [{"attachment": {"contentType": "text/plain", "language": "en", "url": "http://example.org/d.txt",
                                 "title": "Summary", "creation": "2022-01-01"},
                  "format": {"system": "urn:fmt", "code": "plain"}}],
     "context": {"encounter": [{"reference": "Encounter/e1"}], "event": [{"coding": [{"code": "ev"}]}],
                 "period": {"start": "2021-12-30", "end": "2022-01-01"}, "facilityType": {"coding": [{"code": "hosp"}]},
                 "practiceSetting": {"coding": [{"code": "gen"}]}, "sourcePatientInfo": {"reference": "Patient/walk-pat"},
                 "related": [{"reference": "Observation/walk-obs"}]}},
]
next(e for e in EXTRA if e["id"] == "walk-obs2").pop("valueString")
next(e for e in EXTRA if e["id"] == "walk-mr").pop("intendedDispenser")

# Minimal valid bodies for the interaction cycle.
MINIMAL: dict[str, dict[str, Any]] = {
    "ResearchStudy": {"status": "active"}, "PlanDefinition": {"status": "draft"},
    "Group": {"type": "person", "actual": False}, "Organization": {"name": "o"}, "Location": {"name": "l"},
    "Practitioner": {"active": True}, "PractitionerRole": {"active": True}, "Patient": {"active": True},
    "Condition": {"subject": {"reference": "Patient/walk-pat"}},
    "Observation": {"status": "final", "code": {"text": "x"}},
    "MedicationStatement": {"status": "active", "subject": {"reference": "Patient/walk-pat"},
                            "medicationCodeableConcept": {"text": "x"}},
    "MedicationRequest": {"status": "active", "intent": "order", "subject": {"reference": "Patient/walk-pat"},
                          "medicationCodeableConcept": {"text": "x"}},
    "Procedure": {"status": "completed", "subject": {"reference": "Patient/walk-pat"}},
    "AllergyIntolerance": {"patient": {"reference": "Patient/walk-pat"}, "clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]}},
    "DocumentReference": {"status": "current", "content": [{"attachment": {"contentType": "text/plain"}}]},
}
STORED_TYPES = tuple(t for t in RESOURCE_TYPES if t not in DEFINITIONAL_TYPES)


@pytest.fixture
async def walk(settings: Settings, repo: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    assert load_examples(repo, synthetic=SYNTHETIC) == SYNTHETIC + 1
    app = create_app(settings.model_copy(update={"max_count": 1000}), repo)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        # The walk reads patient data too: every request carries the token (tests/rest/test_patient_data.py
        # walks the same paths without it).
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/", headers=AUTH) as c:
            for body in EXTRA:
                r = await c.put(f"{body['resourceType']}/{body['id']}", json=body, headers=JSON_HEADERS)
                assert r.status_code in (200, 201), r.text
            yield c, repo


async def _capability(c: httpx.AsyncClient) -> dict[str, Any]:
    r = await c.get("metadata")
    assert r.status_code == 200
    return r.json()


def _resource_entry(cap: dict[str, Any], rtype: str) -> dict[str, Any]:
    return next(r for r in cap["rest"][0]["resource"] if r["type"] == rtype)


def _ok(r: httpx.Response, what: str) -> dict[str, Any]:
    assert r.status_code == 200, f"{what}: {r.status_code} {r.text[:500]}"
    body = r.json()
    ignored = [e for e in body.get("entry", ()) if e.get("search", {}).get("mode") == "outcome"]
    assert not ignored, f"{what}: reported as ignored: {ignored}"
    return body


def _ids(body: dict[str, Any]) -> set[str]:
    return {e["resource"]["id"] for e in body.get("entry", ()) if e["search"]["mode"] == "match"}


# -- values for each parameter type, built from an index entry ---------------------------------------------------
def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")


def _date(entry: Any) -> str:
    if entry.low == MIN_DATETIME:
        return "le" + (entry.high + timedelta(days=1)).date().isoformat() if entry.high != MAX_DATETIME else "ge1900"
    return "ge" + (entry.low - timedelta(days=1)).date().isoformat()


def _value_for(param: Any, index: ResourceIndex) -> str | None:
    rows = {"token": index.tokens, "string": index.strings, "date": index.dates, "number": index.numbers,
            "quantity": index.quantities, "reference": index.references, "uri": index.uris,
            "special": index.positions, "composite": index.composites}.get(param.type, [])
    for e in (e for e in rows if e.param == param.code):
        value = _entry_value(param.type, e, param.range_contains)
        if value is not None:
            return value
    return None


def _entry_value(ptype: str, e: Any, range_contains: bool = False) -> str | None:
    if ptype == "token":
        if e.code is None:
            return None
        return f"{_esc(e.system)}|{_esc(e.code)}" if e.system else _esc(e.code)
    if ptype == "string":
        return _esc(e.exact[:20]) if e.exact else None
    if ptype == "date":
        return _date(e)
    if ptype == "number":
        if range_contains:
            low = e.low if e.low != float("-inf") else None
            high = e.high if e.high != float("inf") else None
            return str(low if low is not None else (high if high is not None else 30))
        return f"ge{e.value:g}" if e.low < e.value < e.high else f"ap{e.value:g}"
    if ptype == "quantity":
        # a Range or a Quantity with a comparator ("<126 mg/dL" is the interval up to 126) is matched as an interval
        prefix = "ge" if e.low < e.value < e.high else "ap"
        return f"{prefix}{e.value:g}" + (f"|{_esc(e.system)}|{_esc(e.code)}" if e.system and e.code else "")
    if ptype == "reference":
        if e.target_id:
            return f"{e.target_type}/{e.target_id}" if e.target_type else e.target_id
        return _esc(e.url) if e.url else None
    if ptype == "uri":
        return _esc(e.uri)
    if ptype == "special":
        return f"{e.latitude}|{e.longitude}|1|km"
    if ptype == "composite":
        parts = [_entry_value(_kind(c), c) for c in e.components]
        return None if any(p is None for p in parts) else "$".join(p.replace("$", "\\$") for p in parts)  # type: ignore
    return None


def _kind(entry: Any) -> str:
    return {"TokenEntry": "token", "StringEntry": "string", "DateEntry": "date", "NumberEntry": "number",
            "QuantityEntry": "quantity", "ReferenceEntry": "reference", "UriEntry": "uri"}[type(entry).__name__]


# English stop words of five letters or more: PostgreSQL's english configuration drops them from tsvectors.
_STOP = frozenset("other about above after again against because before being below between could doing during "
                  "further having herself himself itself ourselves should their theirs there these those through "
                  "under until where which while would yourself yourselves themselves".split())


def _fulltext_word(text: str) -> str | None:
    words = [w for w in text.split() if w.isalpha() and len(w) > 4 and w.lower() not in _STOP]
    return words[len(words) // 2] if words else None


def _samples(repo: Any, rtype: str) -> list[tuple[str, ResourceIndex]]:
    """(id, index) of the stored resources of a type, indexed the way the store does (with related resources);
    for a definitional type, of the package's definitions."""
    import sqlalchemy as sa

    if rtype in DEFINITIONAL_TYPES:
        indexer = FhirPathIndexer(base_url=BASE)
        return [(r["id"], indexer.index(r)) for r in default_definitions().of_type(rtype)]

    from fhirtrial.store.schema import resource as table

    t = table.c
    with repo.engine.connect() as conn:
        rows = conn.execute(sa.select(t.resource_type, t.id).where(t.deleted.is_(False))).all()
    bodies = {(rt, rid): repo.read(rt, rid).resource() for rt, rid in rows if rt == rtype or rt in (
        "Group", "PlanDefinition")}
    indexer = FhirPathIndexer(base_url=BASE)
    out = []
    for (rt, rid), body in bodies.items():
        if rt != rtype:
            continue
        related = {}
        for ref in indexer.references_to_resolve(body):
            t2, _, i2 = ref.partition("/")
            if (t2, i2) in bodies:
                related[ref] = bodies[(t2, i2)]
        out.append((rid, indexer.index(body, related)))
    return sorted(out, key=lambda x: x[0])


# -- the walk ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rtype", SERVED_TYPES)
async def test_every_advertised_search_parameter_works(walk: tuple[httpx.AsyncClient, Any], rtype: str) -> None:
    c, repo = walk
    cap = await _capability(c)
    entry = _resource_entry(cap, rtype)
    samples = _samples(repo, rtype)
    assert samples, f"no {rtype} to search"
    registry = default_registry()
    exercised_with_data = []
    failures = []
    for sp in entry["searchParam"]:
        name = sp["name"]
        param = registry.get(rtype, name)
        assert param is not None and param.url == sp["definition"] and param.type == sp["type"], sp
        assert sp.get("documentation"), sp
        found = None
        for rid, index in samples:
            if name == "_id":
                found = (rid, rid)
            elif name in ("_text", "_content"):
                word = _fulltext_word(index.text if name == "_text" else index.content)
                found = (rid, word) if word else None
            elif name == "_lastUpdated" and rtype not in DEFINITIONAL_TYPES:  # definitions carry no meta
                found = (rid, "ge2000-01-01")
            else:
                value = _value_for(param, index)
                found = (rid, value) if value is not None else None
            if found:
                break
        if found:
            rid, value = found
            url = f"{rtype}?{quote(name)}={quote(value, safe='|$:/')}&_id={rid}"
            r = await c.get(url)
            try:
                body = _ok(r, url)
                if _ids(body) != {rid}:
                    failures.append(f"{url} did not find {rid}: {sorted(_ids(body))}")
                exercised_with_data.append(name)
            except AssertionError as exc:
                failures.append(str(exc))
        # :missing is accepted by every parameter type we serve.
        url = f"{rtype}?{quote(name)}:missing=false&_count=1"
        try:
            _ok(await c.get(url), url)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
    assert exercised_with_data  # at least _id


@pytest.mark.parametrize("rtype", SERVED_TYPES)
async def test_every_advertised_include_works(walk: tuple[httpx.AsyncClient, Any], rtype: str) -> None:
    c, _ = walk
    entry = _resource_entry(await _capability(c), rtype)
    failures = []
    for value in entry.get("searchInclude", ()):
        for name in ("_include", "_include:iterate"):
            url = f"{rtype}?{name}={quote(value, safe=':*')}&_count=3"
            try:
                body = _ok(await c.get(url), url)
                assert all(e["search"]["mode"] in ("match", "include") for e in body.get("entry", ()))
            except AssertionError as exc:
                failures.append(str(exc))
    for value in entry.get("searchRevInclude", ()):
        url = f"{rtype}?_revinclude={quote(value, safe=':*')}&_count=3"
        try:
            _ok(await c.get(url), url)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


async def test_includes_find_the_example_studies_sites(walk: tuple[httpx.AsyncClient, Any]) -> None:
    c, _ = walk
    body = _ok(await c.get("ResearchStudy?_include=ResearchStudy:site&_count=50"), "include site")
    assert any(e["search"]["mode"] == "include" and e["resource"]["resourceType"] == "Location" for e in body["entry"])
    body = _ok(await c.get("Group?_revinclude=ResearchStudy:eligibility&_count=50"), "revinclude")
    assert any(e["search"]["mode"] == "include" and e["resource"]["resourceType"] == "ResearchStudy"
               for e in body["entry"])


@pytest.mark.parametrize("rtype", STORED_TYPES)
async def test_every_advertised_interaction_works(walk: tuple[httpx.AsyncClient, Any], rtype: str) -> None:
    c, _ = walk
    entry = _resource_entry(await _capability(c), rtype)
    codes = {i["code"] for i in entry["interaction"]}
    assert codes == {"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                     "search-type"}
    body = {"resourceType": rtype, **MINIMAL[rtype]}
    r = await c.post(rtype, json=body, headers=JSON_HEADERS)
    assert r.status_code == 201, r.text  # create
    rid = r.json()["id"]
    assert (await c.get(f"{rtype}/{rid}")).status_code == 200  # read
    assert (await c.get(f"{rtype}/{rid}/_history/1")).status_code == 200  # vread
    r = await c.put(f"{rtype}/{rid}", json={**body, "id": rid, "language": "en"}, headers=JSON_HEADERS)
    assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2", r.text  # update
    r = await c.patch(f"{rtype}/{rid}", json=[{"op": "replace", "path": "/language", "value": "fr"}],
                      headers={**JSON_HEADERS, "Content-Type": "application/json-patch+json"})
    assert r.status_code == 200 and r.json()["language"] == "fr", r.text  # patch
    hist = (await c.get(f"{rtype}/{rid}/_history")).json()
    assert hist["total"] == 3  # history-instance
    assert (await c.get(f"{rtype}/_history", params={"_count": 1})).json()["type"] == "history"  # history-type
    assert _ids(_ok(await c.get(rtype, params={"_id": rid}), "search")) == {rid}  # search-type
    assert (await c.delete(f"{rtype}/{rid}", headers=JSON_HEADERS)).status_code in (200, 204)  # delete
    assert (await c.get(f"{rtype}/{rid}")).status_code == 410
    # conditionalCreate / conditionalUpdate / conditionalDelete are advertised: check _id criteria are understood.
    assert entry["conditionalCreate"] and entry["conditionalUpdate"] and entry["conditionalDelete"] == "single"


@pytest.mark.parametrize("rtype", DEFINITIONAL_TYPES)
async def test_definitional_types_are_read_only(walk: tuple[httpx.AsyncClient, Any], rtype: str) -> None:
    c, _ = walk
    entry = _resource_entry(await _capability(c), rtype)
    assert {i["code"] for i in entry["interaction"]} == {"read", "search-type"}
    first = default_definitions().of_type(rtype)[0]
    assert (await c.get(f"{rtype}/{first['id']}")).json() == first  # read
    assert first["id"] in _ids(_ok(await c.get(rtype, params={"_id": first["id"]}), "search"))  # search-type
    body = {**first, "status": "retired"}
    writes = [("POST", rtype, body), ("PUT", f"{rtype}/{first['id']}", body),
              ("PATCH", f"{rtype}/{first['id']}", [{"op": "replace", "path": "/status", "value": "retired"}]),
              ("DELETE", f"{rtype}/{first['id']}", None), ("PUT", f"{rtype}?url={first['url']}", body),
              ("DELETE", f"{rtype}?url={first['url']}", None), ("GET", f"{rtype}/{first['id']}/_history", None),
              ("GET", f"{rtype}/_history", None)]
    for method, url, payload in writes:
        headers = {**JSON_HEADERS, "Content-Type": "application/json-patch+json"} if method == "PATCH" else JSON_HEADERS
        r = await c.request(method, url, json=payload, headers=headers)
        assert r.status_code == 405, (method, url, r.text)
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome" and "read-only" in outcome["issue"][0]["diagnostics"]
    batch = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": body, "request": {"method": "PUT", "url": f"{rtype}/{first['id']}"}}]}
    r = await c.post("", json=batch, headers=JSON_HEADERS)
    assert r.status_code == 405 and "read-only" in r.text, r.text
    assert (await c.get(f"{rtype}/{first['id']}")).json() == first  # nothing changed


async def test_every_advertised_system_interaction_works(walk: tuple[httpx.AsyncClient, Any]) -> None:
    c, _ = walk
    cap = await _capability(c)
    rest = cap["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch", "history-system", "search-system"}
    for kind in ("transaction", "batch"):
        b = {"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": {"resourceType": "Organization", "name": kind}, "request": {"method": "POST",
                                                                                  "url": "Organization"}}]}
        r = await c.post("", json=b, headers=JSON_HEADERS)
        assert r.status_code == 200 and r.json()["type"] == f"{kind}-response", r.text
    assert (await c.get("_history", params={"_count": 1})).json()["type"] == "history"
    body = _ok(await c.get("", params={"_type": "ResearchStudy,Group", "_count": 5}), "system search")
    assert body["total"] == 2 * (SYNTHETIC + 1)  # each study: its ResearchStudy and its eligibility Group
    for sp in rest["searchParam"]:
        name = sp["name"]
        value = {"_id": "walk-pat", "_lastUpdated": "ge2000", "_text": "cancer", "_content": "cancer"}.get(name)
        if value is None:
            url = f"?{name}:missing=false&_count=1"
        else:
            url = f"?{name}={value}&_count=1"
        _ok(await c.get(url), url)


@pytest.mark.parametrize("rtype", SERVED_TYPES)
async def test_nothing_unadvertised_works(walk: tuple[httpx.AsyncClient, Any], rtype: str) -> None:
    c, _ = walk
    advertised = {p["name"] for p in _resource_entry(await _capability(c), rtype)["searchParam"]}
    parser = Parser(base_url=BASE)
    registry = default_registry()
    # Every parameter the parser accepts for the type is advertised.
    for p in registry.for_type(rtype):
        try:
            parser.parse_filter((rtype,), p.code, "x")
        except UnknownParameter:
            continue
        except Exception:  # noqa: BLE001 - an invalid value still means the name is known
            pass
        assert p.code in advertised, f"{rtype}?{p.code} works but is not advertised"
    # Parameters of other types are ignored (and said so), or refused in strict handling.
    others = sorted({p.code for t in SERVED_TYPES for p in registry.for_type(t)} - advertised)[:15]
    for name in others:
        r = await c.get(rtype, params={name: "x"})
        assert r.status_code == 200, r.text
        outcome = [e for e in r.json().get("entry", ()) if e["search"]["mode"] == "outcome"]
        assert outcome and name in outcome[0]["resource"]["issue"][0]["diagnostics"], (rtype, name)
        r = await c.get(rtype, params={name: "x"}, headers={"Prefer": "handling=strict"})
        assert r.status_code == 400, (rtype, name)


async def test_unlisted_types_are_not_served(walk: tuple[httpx.AsyncClient, Any]) -> None:
    c, _ = walk
    listed = {r["type"] for r in (await _capability(c))["rest"][0]["resource"]}
    assert listed == set(SERVED_TYPES)
    for rtype in ("Medication", "Encounter", "Basic"):
        assert (await c.get(rtype)).status_code == 404
        assert (await c.get(f"{rtype}/x")).status_code == 404
