"""Required bindings, https://hl7.org/fhir/R4/terminologies.html#required."""
from __future__ import annotations

from typing import Any

import pytest

from fhirtrial.validation import validate

from .conftest import errors

BAD = [
    ({"resourceType": "ResearchStudy", "status": "bogus"}, "ResearchStudy.status"),
    ({"resourceType": "Group", "type": "persons", "actual": True}, "Group.type"),
    ({"resourceType": "Location", "status": "open"}, "Location.status"),
    ({"resourceType": "Location", "mode": "many"}, "Location.mode"),
    ({"resourceType": "Organization", "identifier": [{"value": "1"}, {"use": "bad", "value": "x"}]},
     "Organization.identifier[1].use"),
    ({"resourceType": "Organization", "telecom": [{"system": "pager2", "value": "1"}]},
     "Organization.telecom[0].system"),
    ({"resourceType": "Patient", "name": [{"use": "nick", "family": "X"}]}, "Patient.name[0].use"),
    ({"resourceType": "Patient", "address": [{"use": "homey", "city": "X"}]}, "Patient.address[0].use"),
    ({"resourceType": "Patient", "gender": "m"}, "Patient.gender"),
    ({"resourceType": "Group", "type": "person", "actual": True, "characteristic": [
        {"code": {"text": "age"}, "exclude": False},
        {"code": {"text": "age"}, "valueQuantity": {"value": 1, "comparator": "<<"}, "exclude": False}]},
     "Group.characteristic[1].valueQuantity.comparator"),
    ({"resourceType": "PractitionerRole", "availableTime": [{"daysOfWeek": ["mon", "monday"]}]},
     "PractitionerRole.availableTime[0].daysOfWeek[1]"),
    ({"resourceType": "Condition", "subject": {"reference": "Patient/1"}, "clinicalStatus": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "zzz"}]}},
     "Condition.clinicalStatus"),
    ({"resourceType": "Observation", "status": "done", "code": {"text": "x"}}, "Observation.status"),
    ({"resourceType": "ResearchStudy", "status": "active", "text": {"status": "made-up",
                                                                   "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}},
     "ResearchStudy.text.status"),
]


@pytest.mark.parametrize(("resource", "expression"), BAD, ids=[e for _, e in BAD])
def test_code_outside_required_value_set_is_an_error(resource: dict[str, Any], expression: str) -> None:
    issues = [i for i in errors(validate(resource)) if i.code == "code-invalid"]
    assert [i.expression for i in issues] == [(expression,)], issues
    assert "required value set" in issues[0].diagnostics


def test_message_lists_small_value_sets() -> None:
    (issue,) = [i for i in validate({"resourceType": "Group", "type": "x", "actual": True}) if i.code == "code-invalid"]
    assert "allowed: animal, device, medication, person, practitioner, substance" in issue.diagnostics


@pytest.mark.parametrize("resource", [
    {"resourceType": "ResearchStudy", "status": "active"},
    {"resourceType": "Group", "type": "person", "actual": True},
    {"resourceType": "Location", "status": "active", "mode": "instance"},
    {"resourceType": "Condition", "subject": {"reference": "Patient/1"}, "clinicalStatus": {"coding": [
        {"system": "http://example.org/local", "code": "x"},
        {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}},
    {"resourceType": "Condition", "subject": {"reference": "Patient/1"}, "clinicalStatus": {"text": "active"}},
])
def test_codes_in_the_value_set_pass(resource: dict[str, Any]) -> None:
    assert errors(validate(resource)) == []


def test_contained_resources_are_checked() -> None:
    resource = {"resourceType": "ResearchStudy", "status": "active", "sponsor": {"reference": "#o"},
                "contained": [{"resourceType": "Location", "id": "o", "status": "shut"}]}
    issues = [i for i in validate(resource) if i.code == "code-invalid"]
    assert [i.expression for i in issues] == [("ResearchStudy.contained[0].status",)]


def test_primitive_extension_twins_are_walked() -> None:
    resource = {"resourceType": "ResearchStudy", "status": "active", "_status": {"extension": [{}]}}
    issues = errors(validate(resource))
    assert ("invariant", ("ResearchStudy._status.extension[0]",)) in [(i.code, i.expression) for i in issues]
