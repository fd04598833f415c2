"""Small FHIR R4 resources for search tests: hand-made ones, and test-only conversions of the real CT.gov records.

The conversion follows the conventions of fhirtrial/search/trial.py; it is not the project's mapping.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fhirtrial.search.trial import (ELIGIBILITY_CRITERIA_EXTENSION, ELIGIBILITY_SYSTEM, GENDER_SYSTEM,
                                    INTERVENTION_TYPE_EXTENSION, OVERALL_STATUS_EXTENSION, STUDY_DESIGN_EXTENSION)

CTGOV_DIR = Path("/work/shared/data/ctgov")
CTGOV_STATUS = {"RECRUITING": "active", "NOT_YET_RECRUITING": "approved", "ACTIVE_NOT_RECRUITING": "closed-to-accrual",
                "COMPLETED": "completed", "TERMINATED": "administratively-completed", "WITHDRAWN": "withdrawn",
                "SUSPENDED": "temporarily-closed-to-accrual", "ENROLLING_BY_INVITATION": "active"}
UNIT = {"Year": "a", "Years": "a", "Month": "mo", "Months": "mo", "Week": "wk", "Weeks": "wk", "Day": "d", "Days": "d"}


def _age(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    number, unit = text.split()
    return {"value": float(number) if "." in number else int(number), "unit": unit.lower(),
            "system": "http://unitsofmeasure.org", "code": UNIT.get(unit, "a")}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text)[:50].strip("-") or "x"


def ctgov_resources(record: dict[str, Any]) -> list[dict[str, Any]]:
    """ResearchStudy, its Group, sponsor Organization, PlanDefinition, Locations, Practitioners."""
    p = record["protocolSection"]
    nct = p["identificationModule"]["nctId"]
    status = p.get("statusModule", {})
    design = p.get("designModule", {})
    elig = p.get("eligibilityModule", {})
    arms = p.get("armsInterventionsModule", {})
    contacts = p.get("contactsLocationsModule", {})
    sponsor = p.get("sponsorCollaboratorsModule", {}).get("leadSponsor", {})
    org = {"resourceType": "Organization", "id": f"{nct}-sponsor", "active": True, "name": sponsor.get("name", "?"),
           "type": [{"coding": [{"system": "https://clinicaltrials.gov/agency-class", "code": sponsor.get("class", "OTHER")}]}]}
    chars = []
    age = {k: v for k, v in (("low", _age(elig.get("minimumAge"))), ("high", _age(elig.get("maximumAge")))) if v}
    if age:
        chars.append({"code": {"coding": [{"system": ELIGIBILITY_SYSTEM, "code": "age"}]}, "valueRange": age,
                      "exclude": False})
    if elig.get("sex"):
        chars.append({"code": {"coding": [{"system": ELIGIBILITY_SYSTEM, "code": "sex"}]}, "valueCodeableConcept": {
            "coding": [{"system": GENDER_SYSTEM, "code": elig["sex"].lower()}]}, "exclude": False})
    if "healthyVolunteers" in elig:
        chars.append({"code": {"coding": [{"system": ELIGIBILITY_SYSTEM, "code": "healthy-volunteers"}]},
                      "valueBoolean": elig["healthyVolunteers"], "exclude": False})
    group = {"resourceType": "Group", "id": f"{nct}-eligibility", "type": "person", "actual": False,
             "characteristic": chars,
             "extension": [{"url": ELIGIBILITY_CRITERIA_EXTENSION, "valueMarkdown": elig.get("eligibilityCriteria", "")}]}
    locations = []
    for i, loc in enumerate(contacts.get("locations", [])[:20]):
        location = {"resourceType": "Location", "id": f"{nct}-site-{i}", "status": "active",
                    "name": loc.get("facility", "?"),
                    "address": {k: v for k, v in (("city", loc.get("city")), ("state", loc.get("state")),
                                                  ("postalCode", loc.get("zip")), ("country", loc.get("country"))) if v}}
        if loc.get("geoPoint"):
            location["position"] = {"latitude": loc["geoPoint"]["lat"], "longitude": loc["geoPoint"]["lon"]}
        locations.append(location)
    people = [{"resourceType": "Practitioner", "id": f"{nct}-pi-{i}", "active": True,
               "name": [{"text": o["name"], "family": o["name"].split(",")[0].split()[-1]}]}
              for i, o in enumerate(contacts.get("overallOfficials", [])[:3]) if o.get("name")]
    plan = {"resourceType": "PlanDefinition", "id": f"{nct}-protocol", "status": "active", "title": p[
        "identificationModule"].get("briefTitle", ""), "type": {"text": "protocol"},
            "action": [{"title": a.get("label", ""), "description": a.get("description", "")}
                       for a in arms.get("armGroups", [])]}
    study = {
        "resourceType": "ResearchStudy", "id": nct,
        "meta": {"lastUpdated": "2024-01-02T03:04:05Z", "tag": [{"system": "https://fhirtrial.org/tags", "code": "ctgov"}]},
        "text": {"status": "generated", "div": f"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{nct}</p></div>"},
        "extension": [{"url": OVERALL_STATUS_EXTENSION, "valueCode": status.get("overallStatus", "UNKNOWN")}]
        + [{"url": STUDY_DESIGN_EXTENSION, "valueCodeableConcept": {"coding": [
            {"system": "https://clinicaltrials.gov/study-type", "code": design.get("studyType", "OTHER")}]}}]
        + [{"url": INTERVENTION_TYPE_EXTENSION, "valueCode": i["type"]} for i in arms.get("interventions", [])],
        "identifier": [{"system": "https://clinicaltrials.gov", "value": nct, "type": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "RI"}], "text": "Registry"}}],
        "title": p["identificationModule"].get("officialTitle") or p["identificationModule"].get("briefTitle", nct),
        "protocol": [{"reference": f"PlanDefinition/{plan['id']}"}],
        "status": CTGOV_STATUS.get(status.get("overallStatus", "UNKNOWN"), "active"),
        "phase": {"coding": [{"system": "https://clinicaltrials.gov/phase", "code": ph} for ph in design.get("phases", [])]},
        "condition": [{"text": c} for c in p.get("conditionsModule", {}).get("conditions", [])],
        "focus": [{"text": i["name"]} for i in arms.get("interventions", [])],
        "keyword": [{"text": k} for k in p.get("conditionsModule", {}).get("keywords", [])],
        "description": p.get("descriptionModule", {}).get("briefSummary", ""),
        "enrollment": [{"reference": f"Group/{group['id']}"}],
        "period": {k: v for k, v in (("start", status.get("startDateStruct", {}).get("date")),
                                     ("end", status.get("completionDateStruct", {}).get("date"))) if v},
        "sponsor": {"reference": f"Organization/{org['id']}", "display": org["name"]},
        "principalInvestigator": {"reference": f"Practitioner/{people[0]['id']}"} if people else None,
        "site": [{"reference": f"Location/{loc['id']}"} for loc in locations],
        "arm": [{"name": a.get("label", "?"), "type": {"text": a.get("type", "")}} for a in arms.get("armGroups", [])],
    }
    study = {k: v for k, v in study.items() if v not in (None, [], {}, "")}
    return [study, group, org, plan, *locations, *people]


def ctgov_records() -> list[dict[str, Any]]:
    return [json.loads(f.read_text()) for f in sorted(CTGOV_DIR.glob("NCT*.json"))]


def related_for(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


PATIENT = {
    "resourceType": "Patient", "id": "p1", "active": True, "gender": "female", "birthDate": "1980-05",
    "identifier": [{"system": "urn:mrn", "value": "12345", "type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}], "text": "Medical record"}}],
    "name": [{"family": "Müller", "given": ["Zoë", "Ann"], "prefix": ["Dr"]}],
    "telecom": [{"system": "phone", "value": "+1 555 0100", "use": "home"}, {"system": "email", "value": "z@example.org"}],
    "address": [{"line": ["1 Rue de l'Église"], "city": "Montréal", "country": "Canada", "postalCode": "H2X"}],
    "deceasedBoolean": False, "generalPractitioner": [{"reference": "https://fhir.example.org/fhir/Practitioner/x9"}],
    "managingOrganization": {"reference": "Organization/o1", "identifier": {"system": "urn:org", "value": "O-1"}},
    "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr-CA", "display": "Français"}]}}],
}
OBSERVATION = {
    "resourceType": "Observation", "id": "o1", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure"}]},
    "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": "2021-02-03T10:00:00+02:00"},
    "valueQuantity": {"value": 120.5, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
    "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
         "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}],
}
CONDITION = {
    "resourceType": "Condition", "id": "c1", "subject": {"reference": "Group/g1"},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes"}], "text": "T2DM"},
    "onsetAge": {"value": 42, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
    "abatementRange": {"low": {"value": 50, "code": "a"}}, "recordedDate": "2019",
    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
}
LOCATION = {
    "resourceType": "Location", "id": "l1", "status": "active", "name": "Hôpital São Paulo", "alias": ["HSP"],
    "address": {"city": "São Paulo", "country": "Brazil", "line": ["Rua Napoleão de Barros 715"]},
    "position": {"latitude": -23.5987, "longitude": -46.6452}, "managingOrganization": {"reference": "Organization/o1"},
    "telecom": [{"system": "url", "value": "https://hsp.example.br"}],
}
PRACTITIONER_ROLE = {
    "resourceType": "PractitionerRole", "id": "pr1", "active": True, "practitioner": {"reference": "Practitioner/x"},
    "organization": {"reference": "Organization/o1"}, "location": [{"reference": "Location/l1"}],
    "period": {"start": "2020", "end": "2021-06"}, "telecom": [{"system": "email", "value": "a@b.org"}],
    "code": [{"coding": [{"system": "http://snomed.info/sct", "code": "309343006"}]}],
}
SEARCH_PARAMETER = {
    "resourceType": "SearchParameter", "id": "sp1", "url": "https://fhirtrial.org/fhir/SearchParameter/x",
    "name": "x", "status": "active", "description": "d", "code": "x", "base": ["ResearchStudy"], "type": "token",
    "derivedFrom": "http://hl7.org/fhir/SearchParameter/clinical-code|4.0.1", "target": ["Group"],
}
PLAN = {
    "resourceType": "PlanDefinition", "id": "pd1", "status": "active", "url": "https://fhirtrial.org/plan/1",
    "version": "1", "title": "Arm A", "date": "2020-01-02", "effectivePeriod": {"end": "2030"},
    "library": ["http://example.org/Library/lib|2"], "useContext": [
        {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "age"},
         "valueRange": {"low": {"value": 18, "code": "a"}, "high": {"value": 65, "code": "a"}}},
        {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"},
         "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "363346000"}]}}],
    "relatedArtifact": [{"type": "depends-on", "resource": "http://example.org/Library/dep"},
                        {"type": "citation", "resource": "http://example.org/x"}],
}
HAND_MADE = [PATIENT, OBSERVATION, CONDITION, LOCATION, PRACTITIONER_ROLE, SEARCH_PARAMETER, PLAN]
