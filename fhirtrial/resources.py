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
    "SearchParameter",
)
RESOURCE_TYPE_SET = frozenset(RESOURCE_TYPES)

# https://hl7.org/fhir/R4/datatypes.html#id
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
