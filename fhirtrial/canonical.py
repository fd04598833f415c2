"""Canonical URLs of the definitions fhirtrial publishes (extensions, code systems, search parameters).

https://hl7.org/fhir/R4/references.html#canonical
"""
from __future__ import annotations

CANONICAL_BASE = "https://fhirtrial.org/fhir"
EXTENSION_BASE = f"{CANONICAL_BASE}/StructureDefinition"
CODESYSTEM_BASE = f"{CANONICAL_BASE}/CodeSystem"
SEARCHPARAMETER_BASE = f"{CANONICAL_BASE}/SearchParameter"

CTGOV_SYSTEM = "https://clinicaltrials.gov"
