"""Known disagreements between our required-binding checks and npm `fhir` 4.12 (FHIR.js) ``validate``.

https://hl7.org/fhir/R4/terminologies.html#required ; key: (resourceType, FHIRPath expression) -> reason.
"""
from __future__ import annotations

# Only reported by npm `fhir`, which checks every coding of a required-bound CodeableConcept; we require one
# coding from the value set and let others (other systems, translations) be, as the binding rules allow.
ONLY_FHIR_JS: dict[tuple[str, str], str] = {}

# Only reported by us.
ONLY_OURS: dict[tuple[str, str], str] = {}
