"""What the trial parameters read from the CT.gov mapping (mappings/README.md; https://hl7.org/fhir/R4/researchstudy.html).

The expressions live in definitions/trial-search-parameters.json; these constants name the same things for code
and tests, and the one rule FHIRPath cannot say: a study for all sexes matches either sex.
"""
from __future__ import annotations

from fhirtrial.canonical import CODESYSTEM_BASE, EXTENSION_BASE
from fhirtrial.search.index import ResourceIndex, TokenEntry

SNOMED = "http://snomed.info/sct"
AGE_CODE = "397669002"  # Group.characteristic.code for the age range (valueRange in UCUM a/mo/wk/d/h/min)
SEX_CODE = "263495000"  # ... for sex (valueCodeableConcept: administrative-gender and/or ctgov-sex)
ELIGIBILITY_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-eligibility"  # healthy-volunteer: valueBoolean true, exclude = !accepts
OVERALL_STATUS_EXTENSION = f"{EXTENSION_BASE}/overall-status"  # ResearchStudy, valueCoding ctgov-status
ELIGIBILITY_CRITERIA_EXTENSION = f"{EXTENSION_BASE}/eligibility-criteria"  # Group, the criteria free text
INTERVENTION_TYPE_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-intervention-type"  # PlanDefinition.action[.action].code
CTGOV_SEX_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-sex"

GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
ALL_SEXES = frozenset({"ALL", "all"})
EXPANDED_SEXES = ("female", "male")


def expand_all_sexes(out: ResourceIndex, param: str = "eligible-sex") -> None:
    """Index an all-sexes study under administrative-gender female and male too, so `eligible-sex=female`
    is one token match in SQL rather than an OR over "all"."""
    if not any(t.param == param and t.code in ALL_SEXES for t in out.tokens):
        return
    for sex in EXPANDED_SEXES:
        entry = TokenEntry(param, GENDER_SYSTEM, sex, sex)
        if entry not in out.tokens:
            out.tokens.append(entry)
