"""The resource types this server serves, https://hl7.org/fhir/R4/resourcelist.html."""
from __future__ import annotations

import re

TRIAL_TYPES: tuple[str, ...] = ("ResearchStudy", "PlanDefinition", "Group", "Organization", "Location")
RESOURCE_TYPES: tuple[str, ...] = TRIAL_TYPES + (
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "Condition",
    "Observation",
    # Clinical types a patient's record brings to trial matching (criteria/, $match).
    "MedicationStatement",
    "MedicationRequest",
    "Procedure",
    "AllergyIntolerance",
    "DocumentReference",
    "SearchParameter",
)
RESOURCE_TYPE_SET = frozenset(RESOURCE_TYPES)
# Definitional (conformance) resources: read-only, served from the package (fhirtrial/conformance/), never stored.
DEFINITIONAL_TYPES: tuple[str, ...] = ("CodeSystem", "OperationDefinition", "SearchParameter", "StructureDefinition")
# Every type the REST API answers for: the stored ones, then the definitional ones.
SERVED_TYPES: tuple[str, ...] = tuple(t for t in RESOURCE_TYPES if t not in DEFINITIONAL_TYPES) + DEFINITIONAL_TYPES

# https://hl7.org/fhir/R4/datatypes.html#id
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
