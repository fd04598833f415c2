"""``ResearchStudy/$match`` over HTTP on a real uvicorn (SQLite and PostgreSQL): ranking, the match report read
back, distances, the patient never stored, the token for a stored subject, bad input, fhirpy and fhirclient."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from ..support.server import ServerProcess
from ..support.validators import node_available, validate_with_node

TOKEN = "match-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEED = "NCT01297972"
REPORT = "https://fhirtrial.org/fhir/StructureDefinition/match-report"
CONDITION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"


@pytest.fixture
def server(database_url: str, repo: Any, tmp_path: Path) -> Iterator[ServerProcess]:
    from fhirtrial.loading import load_examples

    load_examples(repo, synthetic=12)
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        yield proc


def patient_bundle(pid: str = "pt1", birth: str = "1980-05-01", gender: str = "female",
                   conditions: tuple[str, ...] = ("Acquired aplastic anemia",)) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{pid}", "resource": {
        "resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}}]
    for i, text in enumerate(conditions):
        entries.append({"resource": {
            "resourceType": "Condition", "id": f"{pid}-c{i}", "subject": {"reference": f"Patient/{pid}"},
            "clinicalStatus": {"coding": [{"system": CONDITION_STATUS, "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "306058006"}], "text": text}}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def params(bundle: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    out: list[dict[str, Any]] = [{"name": "patient", "resource": bundle or patient_bundle()}]
    for name, value in values.items():
        key = {bool: "valueBoolean", int: "valueInteger", float: "valueDecimal"}.get(type(value), "valueString")
        out.append({"name": name, key: value})
    return {"resourceType": "Parameters", "parameter": out}


def report_of(entry: dict[str, Any]) -> dict[str, Any]:
    [ext] = [e for e in entry["search"]["extension"] if e["url"] == REPORT]
    out: dict[str, Any] = {"criteria": []}
    for sub in ext["extension"]:
        if sub["url"] == "criterion":
            item: dict[str, Any] = {"evidence": [], "value": []}
            for part in sub["extension"]:
                value = next(v for k, v in part.items() if k.startswith("value"))
                if part["url"] in ("evidence", "value"):
                    item[part["url"]].append(value)
                else:
                    item[part["url"]] = value
            out["criteria"].append(item)
        else:
            out[sub["url"]] = next(v for k, v in sub.items() if k.startswith("value"))
    return out


def post(base: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return httpx.post(f"{base}/ResearchStudy/$match", json=body, timeout=120,
                      headers={"Content-Type": "application/fhir+json", **kw.pop("headers", {})}, **kw)


def test_ranked_studies_with_their_reports(server: ServerProcess) -> None:
    r = post(server.base, params(includeIneligible=True, count=100, date="2026-01-01"))
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 13
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    scores = [e["search"]["score"] for e in matches]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    seed = next(e for e in matches if e["resource"]["id"] == SEED)
    report = report_of(seed)
    assert report["verdict"] == "possibly-eligible" and report["record-complete"] is False
    by_text = {c.get("text"): c for c in report["criteria"]}
    diagnosis = by_text["Diagnosis of Acquired Aplastic Anemia"]
    assert diagnosis["verdict"] == "met" and diagnosis["evidence"] == [{"reference": "Condition/pt1-c0"}]
    assert by_text["Age"]["verdict"] == "met" and "45" in by_text["Age"]["reason"]
    assert by_text["Previous or current malignancy"]["verdict"] == "unknown"  # not declared complete
    assert by_text["Relapse/refractory to at least 1 immunosuppressive first line treatment"]["verdict"] == \
        "not-computable"
    # The report points into the study's eligibility Group: each criterion's index names its characteristic.
    group = httpx.get(f"{server.base}/{report['eligibility']['reference']}").json()
    for item in report["criteria"]:
        if "characteristic" in item:
            assert group["characteristic"][item["characteristic"]]["code"]["text"] == item["text"]
    # Ranked first among the examples: the one study of her condition.
    assert matches[0]["resource"]["id"] == SEED
    # Declared complete, the exclusions the record does not mention are not met.
    complete = post(server.base, params(includeIneligible=True, study=SEED, recordComplete=True)).json()
    [entry] = [e for e in complete["entry"] if e["search"]["mode"] == "match"]
    by_text = {c.get("text"): c for c in report_of(entry)["criteria"]}
    assert by_text["Previous or current malignancy"]["verdict"] == "not-met"
    alone = post(server.base, params(includeIneligible=True, study=SEED)).json()  # same candidates, incomplete
    assert entry["search"]["score"] > alone["entry"][0]["search"]["score"]
    if node_available():
        [verdict] = validate_with_node([bundle])
        assert verdict.ok, verdict


def test_the_first_studies_are_the_same_however_many_are_asked(server: ServerProcess) -> None:
    """$match judges candidates by their score's bound and may stop early: the first ones must not change."""
    every = post(server.base, params(includeIneligible=True, count=100)).json()
    ranked = [(e["resource"]["id"], e["search"]["score"]) for e in every["entry"] if e["search"]["mode"] == "match"]
    for count in (1, 3, 5):
        first = post(server.base, params(includeIneligible=True, count=count)).json()
        assert [(e["resource"]["id"], e["search"]["score"]) for e in first["entry"]
                if e["search"]["mode"] == "match"] == ranked[:count]
        assert first.get("total", every["total"]) == every["total"]


def test_ineligible_studies_only_when_asked(server: ServerProcess) -> None:
    man = patient_bundle(gender="male", birth="1930-01-01")  # 96: outside the seed's 18-65
    body = post(server.base, params(man, study=SEED)).json()
    assert body["total"] == 0 and not [e for e in body.get("entry", []) if e["search"]["mode"] == "match"]
    body = post(server.base, params(man, study=SEED, includeIneligible=True)).json()
    [entry] = [e for e in body["entry"] if e["search"]["mode"] == "match"]
    assert report_of(entry)["verdict"] == "ineligible" and entry["search"]["score"] < 0.5


def test_distance_to_the_nearest_site(server: ServerProcess) -> None:
    studies = httpx.get(f"{server.base}/ResearchStudy", params={"_include": "ResearchStudy:site", "_count": 50}).json()
    locations = {f"Location/{e['resource']['id']}": e["resource"] for e in studies["entry"]
                 if e["resource"]["resourceType"] == "Location" and e["resource"].get("position")}
    study, ref = next((e["resource"]["id"], s["reference"]) for e in studies["entry"]
                      if e["resource"]["resourceType"] == "ResearchStudy"
                      for s in e["resource"].get("site", []) if s["reference"] in locations)
    pos = locations[ref]["position"]
    near = f"{pos['latitude']}|{pos['longitude']}|5|km"
    body = post(server.base, params(near=near, includeIneligible=True, count=100)).json()
    found = {e["resource"]["id"]: e for e in body["entry"] if e["search"]["mode"] == "match"}
    assert study in found
    report = report_of(found[study])
    assert report["distance"]["code"] == "[mi_i]" and report["distance"]["value"] <= 5 / 1.609344
    assert report["nearest-site"]["reference"] in locations
    distance = [e for e in found[study]["search"]["extension"] if e["url"].endswith("location-distance")]
    assert distance[0]["valueDistance"]["value"] <= 5
    far = post(server.base, params(near="-85|0|5|km", includeIneligible=True)).json()
    assert far["total"] == 0
    # A ZIP code: its centre is the place distances are measured from (Bethesda, far from every site here?).
    zipped = post(server.base, params(zipCode="20892", travelRadius="1", includeIneligible=True)).json()
    assert all(report_of(e)["distance"]["value"] <= 1 for e in zipped.get("entry", [])
               if e["search"]["mode"] == "match")


def test_posted_patient_is_not_stored_and_needs_no_token(server: ServerProcess) -> None:
    assert post(server.base, params(study=SEED)).status_code == 200  # no Authorization header
    found = httpx.get(f"{server.base}/Patient", params={"_id": "pt1"}, headers=AUTH).json()
    assert found["total"] == 0
    found = httpx.get(f"{server.base}/Condition", headers=AUTH).json()
    assert found["total"] == 0


def test_subject_reads_the_store_with_the_token(server: ServerProcess) -> None:
    bundle = patient_bundle("stored")
    for entry in bundle["entry"]:
        res = entry["resource"]
        r = httpx.put(f"{server.base}/{res['resourceType']}/{res['id']}", json=res,
                      headers={**AUTH, "Content-Type": "application/fhir+json"})
        assert r.status_code in (200, 201), r.text
    url = f"{server.base}/ResearchStudy/$match"
    query = {"subject": "Patient/stored", "study": SEED}
    assert httpx.get(url, params=query).status_code == 401
    r = httpx.get(url, params=query, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    [entry] = [e for e in r.json()["entry"] if e["search"]["mode"] == "match"]
    met = [c for c in report_of(entry)["criteria"] if c.get("text") == "Diagnosis of Acquired Aplastic Anemia"]
    assert met[0]["verdict"] == "met" and met[0]["evidence"] == [{"reference": "Condition/stored-c0"}]


def _bad(base: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None) -> httpx.Response:
    if body is not None:
        return post(base, body)
    return httpx.get(f"{base}/ResearchStudy/$match", params=query, headers=AUTH, timeout=60)


def test_bad_input_names_the_parameter(server: ServerProcess) -> None:
    two = patient_bundle()
    two["entry"].append({"resource": {"resourceType": "Patient", "id": "other"}})
    invalid = patient_bundle()
    invalid["entry"].append({"resource": {"resourceType": "Observation", "id": "o1", "status": "final"}})  # no code
    bad_gender = patient_bundle(gender="woman")
    cases = [
        (params(patient_bundle(pid="x")["entry"][1:] and {"resourceType": "Bundle", "type": "collection",
                                                          "entry": []}), None, 422, "patient", "exactly one"),
        (params(two), None, 422, "patient", "exactly one Patient, not 2"),
        (params(invalid), None, 422, "Bundle.entry[2].resource", "Observation/o1"),
        (params(bad_gender), None, 422, "Bundle.entry[0].resource", "Patient/pt1"),
        (params(zipCode="00000"), None, 400, "zipCode", "00000"),
        (params(zipCode="20892", travelRadius="-5"), None, 400, "travelRadius", "-5"),
        (params(zipCode="20892", travelRadius="far"), None, 400, "travelRadius", "far"),
        (params(patient_bundle(birth="2030-01-01"), date="2026-01-01"), None, 422, "Patient.birthDate", "2030"),
        (None, {"subject": "Patient/nobody"}, 400, "subject", "nobody"),
        (params(date="yesterday"), None, 400, "date", "yesterday"),
        (params(count="-1"), None, 400, "count", "-1"),
        (params(near="91|0|5|km"), None, 400, "near", "range"),
        ({"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 3}]}, None, 400, "patient",
         "patient"),
        ({"resourceType": "Patient"}, None, 400, None, "Parameters"),
    ]
    for body, query, status, expression, words in cases:
        r = _bad(server.base, body, query)
        assert r.status_code == status, (expression, r.text)
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        issue = outcome["issue"][0]
        assert words in issue["diagnostics"], (expression, issue)
        if expression is not None:
            assert expression in [e for i in outcome["issue"] for e in i.get("expression", [])], (expression, outcome)


def test_an_unconvertible_unit_is_unknown_not_an_error(server: ServerProcess) -> None:
    bundle = patient_bundle()
    bundle["entry"].append({"resource": {
        "resourceType": "Observation", "id": "hb", "status": "final", "subject": {"reference": "Patient/pt1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, "effectiveDateTime": "2025-12-01",
        "valueQuantity": {"value": 9, "unit": "furlongs", "system": "http://unitsofmeasure.org", "code": "[fur_us]"}}})
    r = post(server.base, params(bundle, includeIneligible=True, count=100))
    assert r.status_code == 200, r.text


def test_definitions_served_and_listed(server: ServerProcess) -> None:
    od = httpx.get(f"{server.base}/OperationDefinition/ResearchStudy-match").json()
    assert od["code"] == "match" and {p["name"] for p in od["parameter"]} >= {
        "patient", "subject", "zipCode", "travelRadius", "phase", "recruitmentStatus", "near", "condition", "date",
        "count", "includeIneligible", "recordComplete", "assumeConsent"}
    assert "record-completeness|complete" in od["comment"]
    meta = httpx.get(f"{server.base}/metadata").json()
    [rs] = [r for r in meta["rest"][0]["resource"] if r["type"] == "ResearchStudy"]
    assert {"name": "match", "definition": od["url"]} in rs["operation"]
    assert httpx.get(f"{server.base}/StructureDefinition/match-report").json()["context"][0]["expression"] == \
        "Bundle.entry.search"
    codes = httpx.get(f"{server.base}/CodeSystem/record-completeness").json()
    assert "complete" in [c["code"] for c in codes["concept"]]
    if node_available():
        assert all(v.ok for v in validate_with_node([od])), "OperationDefinition"


def test_fhirpy_and_fhirclient_call_the_operation(server: ServerProcess) -> None:
    fhirpy = pytest.importorskip("fhirpy")
    from fhirclient import client as smart_client

    client = fhirpy.SyncFHIRClient(server.base)
    body = client.execute("ResearchStudy/$match", method="post", data=params(study=SEED))
    assert body["resourceType"] == "Bundle" and body["entry"][0]["resource"]["id"] == SEED
    smart = smart_client.FHIRClient(settings={"app_id": "fhirtrial-tests", "api_base": server.base + "/"})
    response = smart.server.post_json("ResearchStudy/$match", params(study=SEED))
    from fhirclient.models.bundle import Bundle

    parsed = Bundle(response.json())
    assert parsed.entry[0].resource.id == SEED
    ext = parsed.entry[0].search.extension[0]
    assert ext.url == REPORT and ext.extension[0].url == "verdict"


CONSENT_STUDY = {"protocolSection": {
    "identificationModule": {"nctId": "NCT09000014", "briefTitle": "Consent and text-only criteria"},
    "statusModule": {"overallStatus": "RECRUITING"},
    "conditionsModule": {"conditions": ["Acquired aplastic anemia"]},
    "eligibilityModule": {"eligibilityCriteria": (
        "Inclusion Criteria:\n\n* Male and female\n* Able to provide written, informed consent\n\n"
        "Exclusion Criteria:\n\n* Refusal to give written informed consent.\n* Prior colon surgery\n")}}}


def test_assume_consent_settles_consent_criteria_as_stated_by_the_caller(database_url: str, repo: Any,
                                                                          tmp_path: Path) -> None:
    from fhirtrial.loading import store_study

    store_study(repo, CONSENT_STUDY)
    with ServerProcess(database_url, tmp_path / "server.log", token=TOKEN) as proc:
        def report(**values: Any) -> dict[str, str]:
            r = post(proc.base, params(includeIneligible=True, study="NCT09000014", **values))
            assert r.status_code == 200, r.text
            [entry] = [e for e in r.json()["entry"] if e["search"]["mode"] == "match"]
            return {c["text"]: (c["verdict"], c["reason"]) for c in report_of(entry)["criteria"]}

        plain = report()
        assert plain["Male and female"][0] == "met"
        assert plain["Able to provide written, informed consent"][0] == "not-computable"
        assert plain["Prior colon surgery"][0] == "not-computable"  # not declared complete: no lexical screen
        stated = report(assumeConsent=True, recordComplete=True)
        assert stated["Able to provide written, informed consent"][0] == "met"
        verdict, reason = stated["Refusal to give written informed consent."]
        assert verdict == "not-met" and "as stated by the caller" in reason
        verdict, reason = stated["Prior colon surgery"]
        assert verdict == "not-met" and "lexical screen" in reason
        # GET carries it too; a value that is not a boolean is a 400 naming the parameter
        got = httpx.get(f"{proc.base}/ResearchStudy/$match", headers=AUTH, timeout=60,
                        params={"subject": "Patient/nobody", "assumeConsent": "perhaps"})
        posted = post(proc.base, params(assumeConsent="perhaps"))
        for r in (got, posted):
            assert r.status_code == 400, r.text
            outcome = r.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert "assumeConsent" in outcome["issue"][0]["diagnostics"]
            assert "assumeConsent" in outcome["issue"][0]["expression"]
        od = httpx.get(f"{proc.base}/OperationDefinition/ResearchStudy-match").json()
        [param] = [p for p in od["parameter"] if p["name"] == "assumeConsent"]
        assert param["type"] == "boolean" and param["use"] == "in"
        if node_available():
            assert all(v.ok for v in validate_with_node([od])), "OperationDefinition"
