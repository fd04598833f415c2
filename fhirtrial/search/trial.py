"""Conventions the trial parameters assume of the CT.gov mapping (https://hl7.org/fhir/R4/researchstudy.html).

The mapping (fhirtrial/mapping, not yet written) is expected to produce exactly these; the expressions in
definitions/trial-search-parameters.json read them.
"""
from __future__ import annotations

from fhirtrial.canonical import CODESYSTEM_BASE, EXTENSION_BASE
from fhirtrial.search.index import ResourceIndex, TokenEntry

# Group.characteristic.code for the eligibility criteria the trial parameters search.
ELIGIBILITY_SYSTEM = f"{CODESYSTEM_BASE}/eligibility"  # codes: age, sex, healthy-volunteers
# ResearchStudy extensions (value[x] in parentheses).
OVERALL_STATUS_EXTENSION = f"{EXTENSION_BASE}/overall-status"  # CT.gov overallStatus (valueCode or valueCoding)
STUDY_DESIGN_EXTENSION = f"{EXTENSION_BASE}/study-design"  # (valueCodeableConcept), repeated per classifier
INTERVENTION_EXTENSION = f"{EXTENSION_BASE}/intervention"  # (valueCodeableConcept), besides ResearchStudy.focus
INTERVENTION_TYPE_EXTENSION = f"{EXTENSION_BASE}/intervention-type"  # CT.gov InterventionType (valueCode/Coding)
ELIGIBILITY_CRITERIA_EXTENSION = f"{EXTENSION_BASE}/eligibility-criteria"  # on Group (valueMarkdown/valueString)

GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
# A study open to all sexes must match `eligible-sex=female` and `=male`: index it under both.
ALL_SEXES = frozenset({"all", "ALL"})
EXPANDED_SEXES = ("female", "male")


def expand_all_sexes(out: ResourceIndex, param: str = "eligible-sex") -> None:
    extra = [TokenEntry(param, t.system or GENDER_SYSTEM, sex, t.text)
             for t in out.tokens if t.param == param and t.code in ALL_SEXES for sex in EXPANDED_SEXES]
    out.tokens.extend(e for e in extra if e not in out.tokens)
