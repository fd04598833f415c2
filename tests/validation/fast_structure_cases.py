"""Hand-made valid resources of every served type and mutations of resources, for the differential test of
fhirtrial.validation.fast_structure against fhir.resources (https://hl7.org/fhir/R4/json.html)."""
from __future__ import annotations

import copy
import random
from typing import Any, Iterator

_EXT = [{"url": "http://example.org/ext", "valueString": "x"}]
_CC = {"coding": [{"system": "http://loinc.org", "code": "1234-5", "display": "Thing"}], "text": "Thing"}
_REF = {"reference": "Organization/o1", "display": "Org"}
_PERIOD = {"start": "2020-01-01", "end": "2021-06-30T10:00:00+02:00"}
_ADDRESS = {"use": "work", "line": ["1 Main St"], "city": "Boston", "state": "MA", "postalCode": "02115",
            "country": "US"}

HANDMADE: list[dict[str, Any]] = [
    {"resourceType": "ResearchStudy", "id": "rs1", "meta": {"lastUpdated": "2024-01-02T03:04:05.678Z",
     "profile": ["http://hl7.org/fhir/StructureDefinition/ResearchStudy"]},
     "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Study</div>"},
     "extension": _EXT, "identifier": [{"use": "official", "system": "http://clinicaltrials.gov", "value": "NCT1"}],
     "title": "A study", "status": "active", "phase": _CC, "category": [_CC], "condition": [_CC],
     "keyword": [_CC], "description": "Some *markdown*", "period": _PERIOD, "sponsor": _REF,
     "enrollment": [{"reference": "Group/g1"}], "site": [{"reference": "Location/l1"}],
     "arm": [{"name": "A", "type": _CC, "description": "arm A"}], "objective": [{"name": "o", "type": _CC}],
     "contact": [{"name": "Jo", "telecom": [{"system": "email", "value": "jo@example.org"}]}],
     "relatedArtifact": [{"type": "citation", "citation": "Paper", "url": "http://example.org/p"}],
     "note": [{"text": "a note", "time": "2020-01-01"}], "contained": [{"resourceType": "Group", "id": "c1",
     "type": "person", "actual": False}], "_title": {"extension": _EXT}},
    {"resourceType": "PlanDefinition", "id": "pd1", "status": "draft", "title": "Plan", "type": _CC,
     "action": [{"title": "Give", "timingTiming": {"repeat": {"count": 2, "frequency": 1, "period": 1.5,
                                                               "periodUnit": "d"}},
                 "action": [{"title": "nested", "definitionCanonical": "http://example.org/ad"}]}],
     "goal": [{"description": _CC, "target": [{"measure": _CC, "detailQuantity": {"value": 3, "unit": "mg"}}]}]},
    {"resourceType": "Group", "id": "g1", "type": "person", "actual": True, "quantity": 10,
     "characteristic": [{"code": _CC, "valueRange": {"low": {"value": 18, "unit": "a"}}, "exclude": False,
                         "period": _PERIOD}], "member": [{"entity": {"reference": "Patient/p1"}}]},
    {"resourceType": "Organization", "id": "o1", "active": True, "name": "Org", "alias": ["O", "Org Inc"],
     "_alias": [None, {"extension": _EXT}], "type": [_CC], "telecom": [{"system": "phone", "value": "+1 555"}],
     "address": [_ADDRESS], "partOf": {"reference": "Organization/o2"}},
    {"resourceType": "Location", "id": "l1", "status": "active", "name": "Site", "mode": "instance",
     "address": _ADDRESS, "position": {"longitude": -71.1, "latitude": 42.3},
     "managingOrganization": _REF, "hoursOfOperation": [{"daysOfWeek": ["mon", "tue"], "openingTime": "08:00:00"}]},
    {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Doe", "given": ["Jane", "Q"],
     "prefix": ["Dr"]}], "gender": "female", "birthDate": "1970-02-28",
     "qualification": [{"code": _CC, "period": {"start": "2000"}}]},
    {"resourceType": "PractitionerRole", "id": "prr1", "practitioner": {"reference": "Practitioner/pr1"},
     "organization": _REF, "code": [_CC], "availableTime": [{"daysOfWeek": ["wed"], "allDay": True}],
     "notAvailable": [{"description": "holiday", "during": _PERIOD}]},
    {"resourceType": "Patient", "id": "p1", "active": True, "name": [{"use": "official", "text": "Jo Doe"}],
     "birthDate": "1980-01", "deceasedBoolean": False, "multipleBirthInteger": 2,
     "communication": [{"language": _CC, "preferred": True}],
     "photo": [{"contentType": "image/png", "data": "aGVsbG8=", "size": 5}],
     "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}]},
    {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}, "code": _CC,
     "clinicalStatus": _CC, "onsetAge": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org",
                                          "code": "a"}, "recordedDate": "2020-05-05T10:00:00Z",
     "note": [{"authorString": "me", "text": "txt"}]},
    {"resourceType": "Observation", "id": "ob1", "status": "final", "code": _CC, "subject": {"reference": "Patient/p1"},
     "effectiveDateTime": "2020-05-05", "valueQuantity": {"value": 1.5e-3, "unit": "mg", "comparator": "<"},
     "component": [{"code": _CC, "valueInteger": -5}, {"code": _CC, "valueBoolean": True},
                   {"code": _CC, "valueSampledData": {"origin": {"value": 0}, "period": 10, "dimensions": 1,
                                                      "data": "1 2 3"}}],
     "referenceRange": [{"low": {"value": 1}, "high": {"value": 2}, "text": "normal"}]},
    {"resourceType": "MedicationStatement", "id": "ms1", "status": "active", "subject": {"reference": "Patient/p1"},
     "medicationCodeableConcept": _CC, "effectivePeriod": _PERIOD, "dateAsserted": "2021-03-04",
     "dosage": [{"text": "1 tablet daily", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                 "doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}]},
    {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
     "subject": {"reference": "Patient/p1"}, "medicationReference": {"display": "Metformin 500 mg"},
     "authoredOn": "2021-03-04T09:00:00Z", "requester": {"reference": "Practitioner/pr1"},
     "dispenseRequest": {"numberOfRepeatsAllowed": 3, "quantity": {"value": 30, "unit": "tablet"}},
     "substitution": {"allowedBoolean": True}},
    {"resourceType": "Procedure", "id": "proc1", "status": "completed", "subject": {"reference": "Patient/p1"},
     "code": _CC, "performedDateTime": "2019-11-12", "bodySite": [_CC],
     "performer": [{"actor": {"reference": "Practitioner/pr1"}, "function": _CC}]},
    {"resourceType": "AllergyIntolerance", "id": "ai1", "patient": {"reference": "Patient/p1"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                    "code": "active"}]},
     "type": "allergy", "category": ["medication"], "criticality": "high", "code": _CC,
     "onsetDateTime": "2010-06", "reaction": [{"manifestation": [_CC], "severity": "severe"}]},
    {"resourceType": "DocumentReference", "id": "dr1", "status": "current", "type": _CC,
     "subject": {"reference": "Patient/p1"}, "date": "2022-01-01T00:00:00Z",
     "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8=", "title": "Note"}}],
     "context": {"period": _PERIOD}},
    {"resourceType": "SearchParameter", "id": "sp1", "url": "http://example.org/sp", "name": "phase",
     "status": "active", "description": "Phase", "code": "phase", "base": ["ResearchStudy"], "type": "token",
     "expression": "ResearchStudy.phase", "target": ["Group"], "modifier": ["missing"],
     "component": [{"definition": "http://example.org/sp2", "expression": "code"}]},
]

# label -> how a mutation rewrites the value at a location (None: not applicable there)
def _mutations(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, str):
        yield "empty-string", ""
        yield "string-as-number", 12345
        yield "whitespace", f" {value} "
        yield "double-space", value + "  x" if " " not in value else value.replace(" ", "  ", 1)
        if value[:4].isdigit():
            yield "bad-date", "2020-13-45"
            yield "bad-day", "2021-02-30"
            yield "datetime-no-zone", "2021-02-03T10:00:00"
        if key == "id":
            yield "bad-id", "bad id!"
    elif isinstance(value, bool):
        yield "bool-as-string", "true" if value else "false"
        yield "bool-as-int", int(value)
    elif isinstance(value, int):
        yield "int-as-string", str(value)
        yield "int-as-float", float(value) + 0.5
        yield "int-too-big", 2**40
        yield "int-negative", -3
    elif isinstance(value, float):
        yield "decimal-as-string", str(value)
    if isinstance(value, list):
        yield "array-as-single", value[0]
        yield "empty-array", []
    else:
        yield "single-as-array", [value]
    if isinstance(value, dict):
        yield "empty-object", {}
    yield "null", None
    yield "delete", _DELETE


_DELETE = object()


def _locations(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "resourceType":
                yield path + (k,), v
                yield from _locations(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _locations(v, path + (i,))


def _expression(rtype: str, path: tuple[Any, ...]) -> str:
    out = rtype
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def mutants(resource: dict[str, Any], per_resource: int, rng: random.Random
            ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, expression of the mutated element, mutant): every applicable mutation at every location,
    sampled down to ``per_resource``, plus an unknown element in every object."""
    candidates: list[tuple[str, tuple[Any, ...], Any]] = []
    for path, value in _locations(resource):
        for label, new in _mutations(value, path[-1] if isinstance(path[-1], str) else ""):
            candidates.append((label, path, new))
    objects = [()] + [p for p, v in _locations(resource) if isinstance(v, dict)]
    for path in objects:
        candidates.append(("unknown-element", path + ("fooBar",), "x"))
    if len(candidates) > per_resource:
        candidates = rng.sample(candidates, per_resource)
    for label, path, new in candidates:
        mutant = copy.deepcopy(resource)
        parent = mutant
        for p in path[:-1]:
            parent = parent[p]
        if new is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
        yield label, _expression(resource["resourceType"], path), mutant
