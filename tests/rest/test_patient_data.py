"""Patient data needs the bearer token, over a real ``fhirtrial serve``: https://hl7.org/fhir/R4/security.html.

Every resource of the Patient compartment stored here carries MARKER (in its id, or its identifier and name), and
no public resource does. The walk sends each request once with the token (it must find the marker) and then
without it (401 with ``WWW-Authenticate``, or a public answer holding no marker): read through the fast path
(warmed by the token's reads first), vread, type and system search (GET and POST, ``_summary=count``),
``_include``/``_revinclude`` (``:iterate``), chains and ``_has``, history at every level, ``$everything``,
``$validate``, batch/transaction, conditional writes, XML, and ``$export`` on a server with a token, a server
without one (public export without patient data) and one in open mode.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from ..support.server import ServerProcess

TOKEN = "walk-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FHIR_JSON = {"Content-Type": "application/fhir+json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
XML = {"Accept": "application/fhir+xml"}
ASYNC = {"Prefer": "respond-async"}
MARKER = "zq7x9"
PATIENT = f"Patient/{MARKER}-pat"
REALM = 'Bearer realm="fhirtrial"'


def _ident(rid: str) -> list[dict[str, str]]:
    return [{"system": "urn:walk", "value": rid}]


def _patient_ref() -> dict[str, str]:
    return {"reference": PATIENT}


PR = {"reference": "Practitioner/pd-pr"}
CODE = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"}
PUBLIC: list[dict[str, Any]] = [
    {"resourceType": "Organization", "id": "pd-org", "name": "Sponsor"},
    {"resourceType": "Practitioner", "id": "pd-pr", "name": [{"family": "Investigator"}]},
    {"resourceType": "Group", "id": "pd-elig", "type": "person", "actual": False, "name": "Eligibility",
     "characteristic": [{"code": {"text": "Age"}, "valueRange": {"low": {"value": 18, "unit": "a"}},
                         "exclude": False}]},
    {"resourceType": "ResearchStudy", "id": "pd-study", "status": "active", "title": "A public study",
     "sponsor": {"reference": "Organization/pd-org"}, "principalInvestigator": PR,
     "enrollment": [{"reference": "Group/pd-elig"}, {"reference": "Group/pd-roster"}]},
]
PRIVATE: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": f"{MARKER}-pat", "identifier": _ident(f"{MARKER}-pat"),
     "name": [{"family": f"{MARKER}doe", "given": ["Ann"]}], "gender": "female", "birthDate": "1970-01-01",
     "generalPractitioner": [PR]},
    {"resourceType": "Group", "id": "pd-roster", "type": "person", "actual": True, "name": f"{MARKER} roster",
     "identifier": _ident(f"{MARKER}-roster"), "member": [{"entity": _patient_ref()}]},
    {"resourceType": "Condition", "id": f"{MARKER}-cond", "identifier": _ident(f"{MARKER}-cond"),
     "subject": _patient_ref(), "code": {"text": "Type 2 diabetes"}, "asserter": PR},
    {"resourceType": "Observation", "id": f"{MARKER}-obs", "identifier": _ident(f"{MARKER}-obs"),
     "status": "final", "code": CODE, "subject": _patient_ref(), "performer": [PR],
     "focus": [{"reference": "ResearchStudy/pd-study"}],
     "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}},
    {"resourceType": "MedicationStatement", "id": f"{MARKER}-ms", "identifier": _ident(f"{MARKER}-ms"),
     "status": "active", "subject": _patient_ref(), "medicationCodeableConcept": {"text": "metformin"},
     "informationSource": PR},
    {"resourceType": "MedicationRequest", "id": f"{MARKER}-mr", "identifier": _ident(f"{MARKER}-mr"),
     "status": "active", "intent": "order", "subject": _patient_ref(),
     "medicationCodeableConcept": {"text": "metformin"}, "requester": PR},
    {"resourceType": "Procedure", "id": f"{MARKER}-proc", "identifier": _ident(f"{MARKER}-proc"),
     "status": "completed", "subject": _patient_ref(), "code": {"text": "Appendectomy"},
     "performer": [{"actor": PR}]},
    {"resourceType": "AllergyIntolerance", "id": f"{MARKER}-ai", "identifier": _ident(f"{MARKER}-ai"),
     "patient": _patient_ref(), "recorder": PR, "code": {"text": "Penicillin"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                    "code": "active"}]}},
    {"resourceType": "DocumentReference", "id": f"{MARKER}-doc", "identifier": _ident(f"{MARKER}-doc"),
     "status": "current", "subject": _patient_ref(), "author": [PR],
     "content": [{"attachment": {"contentType": "text/plain", "title": "Discharge note"}}]},
]
PATIENT_TYPES = sorted({r["resourceType"] for r in PRIVATE} - {"Group"})


def _transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}


@dataclass
class Step:
    """One request of the walk. ``public``: answered without the token too, with nothing of a patient (else 401).
    ``found``: what the token's answer must show (default: the marker); ``warns``: the public answer says that
    patient data was left out; ``per_entry``: a batch, answered 200 with each entry refused as alone (401), since
    its entries go through the same routes as single requests."""

    method: str
    url: str
    public: bool = False
    headers: dict[str, str] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    found: Callable[[httpx.Response], bool] | None = None
    warns: bool = False
    per_entry: bool = False

    def send(self, c: httpx.Client, auth: dict[str, str]) -> httpx.Response:
        return c.request(self.method, self.url, headers={**(self.headers or {}), **auth}, json=self.json,
                         data=self.data)


def _total(n: int) -> Callable[[httpx.Response], bool]:
    return lambda r: r.json().get("total") == n


def _matches(*ids: str) -> Callable[[httpx.Response], bool]:
    return lambda r: {e["resource"]["id"] for e in r.json().get("entry", ())
                      if e.get("search", {}).get("mode") == "match"} == set(ids)


def _ok(r: httpx.Response) -> bool:
    return r.status_code == 200


def _walk_steps() -> list[Step]:
    steps: list[Step] = []
    for r in PRIVATE:  # read (the fast path), then vread
        steps.append(Step("GET", f"{r['resourceType']}/{r['id']}"))
        steps.append(Step("GET", f"{r['resourceType']}/{r['id']}/_history/1"))
    steps += [
        Step("GET", "Group/pd-elig", public=True, found=_ok),
        Step("GET", f"{PATIENT}?_format=xml"),
        Step("GET", PATIENT, headers=XML),
        # type search, GET and POST, counts
        Step("GET", f"Patient?name={MARKER}"),
        Step("POST", "Patient/_search", data={"name": MARKER}, headers=FORM),
        Step("GET", f"Condition?subject={PATIENT}"),
        Step("GET", "Observation?_summary=count", found=_total(1)),
        Step("GET", "MedicationStatement?status=active"),
        Step("GET", "MedicationRequest?intent=order"),
        Step("GET", "Procedure?_count=5"),
        Step("GET", "AllergyIntolerance?_count=5"),
        Step("GET", "DocumentReference?_count=5"),
        Step("GET", "Group", public=True),
        Step("POST", "Group/_search", public=True, data={"type": "person"}, headers=FORM),
        Step("GET", "Group?_summary=count", public=True, found=_total(2)),
        Step("GET", "Group?_format=xml", public=True),
        Step("GET", f"Group?member={PATIENT}"),
        Step("GET", "Group?member:missing=false"),
        # system search
        Step("GET", "?_type=Patient"),
        Step("GET", "?_type=Group,ResearchStudy"),
        Step("GET", "?_count=100", public=True, warns=True),
        Step("GET", "?_lastUpdated=ge2000-01-01&_count=100", public=True, warns=True),
        Step("POST", "_search", public=True, data={"_count": "100"}, headers=FORM, warns=True),
        Step("GET", "?_summary=count", public=True, warns=True,  # (and the server's own SearchParameters)
             found=lambda r: r.json()["total"] >= len(PUBLIC) + len(PRIVATE)),
        # includes that would pull patient data into a public search
        Step("GET", "ResearchStudy?_include=ResearchStudy:eligibility", public=True, warns=True),
        Step("GET", "ResearchStudy?_include=ResearchStudy:eligibility&_include:iterate=Group:member", public=True,
             warns=True),
        Step("GET", "Practitioner?_revinclude=Observation:performer", public=True, warns=True),
        Step("GET", "Practitioner?_revinclude=*", public=True, warns=True),
        Step("GET", "ResearchStudy?_revinclude=Observation:focus", public=True, warns=True),
        Step("GET", "Organization?_revinclude:iterate=*&_include:iterate=*", public=True, warns=True),
        Step("GET", "ResearchStudy?_include=*&_include:iterate=*&_format=xml", public=True, warns=True),
        # chains and _has whose criteria run over patient data
        Step("GET", f"Group?member:Patient.name={MARKER}"),
        Step("GET", f"ResearchStudy?eligibility.member:Patient.name={MARKER}", found=_matches("pd-study")),
        Step("GET", "Practitioner?_has:Observation:performer:code=8867-4", found=_matches("pd-pr")),
        Step("GET", f"Practitioner?_has:Condition:asserter:_id={MARKER}-cond", found=_matches("pd-pr")),
        Step("GET", "ResearchStudy?_has:Observation:focus:code=8867-4", found=_matches("pd-study")),
        # history at every level
        Step("GET", f"{PATIENT}/_history"),
        Step("GET", "Patient/_history"),
        Step("GET", "Observation/_history"),
        Step("GET", "_history"),
        Step("GET", "_history?_format=xml"),
        Step("GET", "Group/_history"),
        Step("GET", "Group/pd-roster/_history"),
        Step("GET", "Group/pd-elig/_history", public=True, found=_ok),
        # operations
        Step("GET", "ResearchStudy/pd-study/$everything", public=True, warns=True),
        Step("GET", "ResearchStudy/pd-study/$everything?_format=xml", public=True, warns=True),
        Step("POST", f"{PATIENT}/$validate?mode=delete", found=_ok),
        # batch and transaction: GET entries and the bodies write entries return
        Step("POST", "", json={"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": PATIENT}}]}, headers=FHIR_JSON, per_entry=True),
        Step("POST", "", json=_transaction([PRIVATE[2]]), headers=FHIR_JSON),
        # conditional interactions whose criteria target patient types
        Step("PUT", f"Patient?identifier=urn:walk|{MARKER}-pat", json=PRIVATE[0], headers=FHIR_JSON),
        Step("POST", "Patient", json={k: v for k, v in PRIVATE[0].items() if k != "id"},
             headers={**FHIR_JSON, "If-None-Exist": f"identifier=urn:walk|{MARKER}-pat"}),
    ]
    return steps


@pytest.fixture
def seeded(database_url: str, repo: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as server:
        r = httpx.post(server.base, json=_transaction(PUBLIC + PRIVATE), headers={**AUTH, **FHIR_JSON}, timeout=30)
        assert r.status_code == 200, r.text
        assert all(MARKER not in str(p) for p in PUBLIC)
        yield server


def _assert_denied(r: httpx.Response, what: str, status: int = 401) -> None:
    assert r.status_code == status, f"{what}: {r.status_code} {r.text[:300]}"
    if status == 401:
        assert r.headers["www-authenticate"] == REALM, what
    assert "OperationOutcome" in r.text and MARKER not in r.text, what


def test_every_path_to_patient_data_needs_the_token(seeded: ServerProcess) -> None:
    steps = _walk_steps()
    with httpx.Client(base_url=seeded.base + "/", timeout=30) as c:
        # With the token first: every path finds the patient data (and warms the fast path's read cache).
        for step in steps:
            r = step.send(c, AUTH)
            assert r.status_code in (200, 201), f"{step.method} {step.url}: {r.status_code} {r.text[:300]}"
            assert (step.found or (lambda resp: MARKER in resp.text))(r), f"{step.url}: {r.text[:500]}"
            assert "suppressed" not in r.text, step.url
        # Without it: 401, or a public answer that holds nothing of a patient and says what it left out.
        for step in steps:
            what = f"{step.method} {step.url}"
            r = step.send(c, {})
            if step.per_entry:
                assert r.status_code == 200 and MARKER not in r.text, f"{what}: {r.status_code} {r.text[:300]}"
                statuses = [e["response"]["status"] for e in r.json()["entry"]]
                assert statuses and all(s.startswith("401") for s in statuses), f"{what}: {statuses}"
                continue
            if not step.public:
                _assert_denied(r, what)
                _assert_denied(step.send(c, {"Authorization": "Bearer not-the-token"}), what)
                continue
            assert r.status_code == 200, f"{what}: {r.status_code} {r.text[:300]}"
            assert MARKER not in r.text and "pd-roster\"" not in r.text.replace("Group/pd-roster", ""), what
            assert ("suppressed" in r.text) == step.warns, f"{what}: {r.text[:800]}"


def test_public_answers_keep_the_trial_data(seeded: ServerProcess) -> None:
    with httpx.Client(base_url=seeded.base + "/", timeout=30) as c:
        groups = c.get("Group").json()
        assert [e["resource"]["id"] for e in groups["entry"]] == ["pd-elig"] and groups["total"] == 1
        assert c.get("Group", params={"_summary": "count"}).json()["total"] == 1
        body = c.get("ResearchStudy", params={"_include": "ResearchStudy:eligibility"}).json()
        kinds = {(e["search"]["mode"], e["resource"]["resourceType"], e["resource"].get("id")) for e in body["entry"]}
        assert ("match", "ResearchStudy", "pd-study") in kinds and ("include", "Group", "pd-elig") in kinds
        issues = next(e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome")["issue"]
        assert [(i["severity"], i["code"]) for i in issues] == [("warning", "suppressed")]
        assert "Authorization: Bearer" in issues[0]["diagnostics"]
        everything = c.get("ResearchStudy/pd-study/$everything").json()
        ids = {e["resource"]["id"] for e in everything["entry"] if e["search"]["mode"] != "outcome"}
        assert ids == {"pd-study", "pd-org", "pd-pr", "pd-elig"} and everything["total"] == 4
        everything = c.get("ResearchStudy/pd-study/$everything", headers=AUTH).json()
        assert {e["resource"]["id"] for e in everything["entry"]} >= {"pd-roster", f"{MARKER}-pat"}
        system = c.get("", params={"_count": "100"}).json()
        found = {e["resource"]["resourceType"] for e in system["entry"] if e["search"]["mode"] == "match"}
        assert {"ResearchStudy", "Organization", "Practitioner"} <= found <= {
            "ResearchStudy", "Organization", "Practitioner", "SearchParameter"}
        # A public page is also a cursor of its own: its links follow the search asked for, not the narrowed one.
        assert all("member" not in link["url"] and "actual" not in link["url"] for link in groups["link"])
        denied = c.get("Group", params={"member": PATIENT})
        assert "member" in denied.json()["issue"][0]["diagnostics"]


def _export(c: httpx.Client, url: str, auth: dict[str, str]) -> tuple[httpx.Response, dict[str, str]]:
    """Kick-off, then poll until done; returns the kick-off answer and {file type: NDJSON text}."""
    kick = c.get(url, headers={**ASYNC, **auth})
    if kick.status_code != 202:
        return kick, {}
    status = kick.headers["content-location"]
    deadline = time.monotonic() + 60
    while True:
        r = c.get(status, headers=auth)
        if r.status_code == 200:
            break
        assert r.status_code == 202 and time.monotonic() < deadline, r.text
        time.sleep(0.2)
    files = {o["type"]: c.get(o["url"], headers=auth).text for o in r.json()["output"]}
    return kick, files


def test_export_needs_the_token_when_there_is_one(seeded: ServerProcess) -> None:
    with httpx.Client(base_url=seeded.base + "/", timeout=30) as c:
        for url in ("$export", "Patient/$export", "Group/$export", "ResearchStudy/$export", "$export?_type=Patient"):
            kick, _ = _export(c, url, {})
            _assert_denied(kick, url)
        _, files = _export(c, "$export", AUTH)
        assert set(PATIENT_TYPES) <= set(files) and MARKER in files["Patient"] and MARKER in files["Group"]
        _, files = _export(c, "ResearchStudy/$export", AUTH)  # walks enrollment -> roster -> its member
        assert MARKER in files["Group"] and MARKER in files["Patient"]


def test_without_a_configured_token_nobody_reads_patient_data(seeded: ServerProcess, database_url: str,
                                                              tmp_path: Path) -> None:
    with httpx.Client(base_url=seeded.base + "/", timeout=30) as c:
        kick, files = _export(c, "$export", AUTH)  # made with the token: it holds patient data
        assert MARKER in files["Patient"]
        job = kick.headers["content-location"].rsplit("/", 1)[1]
    seeded.stop()
    with ServerProcess(database_url, tmp_path / "public.log", token="") as server, \
            httpx.Client(base_url=server.base + "/", timeout=30) as c:
        # The token is gone from the settings: that job's manifest and files are not public now.
        for method, url in (("GET", f"$export-poll/{job}"), ("GET", f"$export-file/{job}/Patient.ndjson"),
                            ("DELETE", f"$export-poll/{job}")):
            _assert_denied(c.request(method, url), url, 403)
        for url in (PATIENT, f"{PATIENT}/_history/1", "Group/pd-roster", "Condition?_count=5", "_history",
                    "?_type=Observation", "Group?member:missing=false"):
            for auth in ({}, AUTH):
                _assert_denied(c.get(url, headers=auth), url, 403)
        assert c.get("Group/pd-elig").status_code == 200
        for url in ("Patient/$export", "$export?_type=Condition"):
            kick, _ = _export(c, url, {})
            _assert_denied(kick, url, 403)
        for url in ("$export", "ResearchStudy/$export", "Group/$export", "$export?_type=Group,ResearchStudy"):
            kick, files = _export(c, url, {})
            assert kick.status_code == 202 and "suppressed" in kick.text, (url, kick.text)
            assert files and all(MARKER not in text and "pd-roster" not in text.replace("Group/pd-roster", "")
                                 for text in files.values()), (url, files)
            assert not set(files) & set(PATIENT_TYPES), url
        _, files = _export(c, "$export", {})
        assert "pd-elig" in files["Group"] and "pd-study" in files["ResearchStudy"]
        kick, files = _export(c, "$export?_type=ResearchStudy", {})
        assert kick.status_code == 202 and "suppressed" not in kick.text and set(files) == {"ResearchStudy"}


def test_open_mode_serves_everyone_everything(seeded: ServerProcess, database_url: str, tmp_path: Path) -> None:
    seeded.stop()
    env = {"FHIRTRIAL_ALLOW_ANONYMOUS_WRITES": "true"}
    with ServerProcess(database_url, tmp_path / "open.log", token="", env=env) as server, \
            httpx.Client(base_url=server.base + "/", timeout=30) as c:
        for url in (PATIENT, "Group/pd-roster", "Condition?_count=5", "_history", "Group?member:missing=false"):
            r = c.get(url)
            assert r.status_code == 200 and MARKER in r.text, url
        _, files = _export(c, "$export", {})
        assert MARKER in files["Patient"]
