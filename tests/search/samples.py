"""FHIR R4 resources for search tests: hand-made ones, and the real CT.gov records through the project's mapping."""
from __future__ import annotations

from typing import Any

from ..support.shared_data import ctgov_records


def ctgov_resources(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's mapping of one CT.gov record: ResearchStudy, PlanDefinition, Group, shared resources."""
    from fhirtrial.mapping import map_study

    return map_study(record).resources


def ctgov_all() -> list[dict[str, Any]]:
    """Every resource of every real record (../shared/data/ctgov; skips when absent), shared ones once."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for record in ctgov_records():
        for r in ctgov_resources(record):
            seen.setdefault((r["resourceType"], r["id"]), r)
    return list(seen.values())


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
