"""What the trial parameters read from the CT.gov mapping (mappings/README.md; https://hl7.org/fhir/R4/researchstudy.html).

The expressions live in definitions/trial-search-parameters.json; these constants name the same things for code
and tests, and the one rule FHIRPath cannot say: a study for all sexes matches either sex.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from fhirtrial.canonical import CODESYSTEM_BASE, EXTENSION_BASE
from fhirtrial.search.index import NumberEntry, ResourceIndex, TokenEntry

SNOMED = "http://snomed.info/sct"
AGE_CODE = "397669002"  # Group.characteristic.code for the age range (valueRange in UCUM a/mo/wk/d/h/min)
SEX_CODE = "263495000"  # ... for sex (valueCodeableConcept: administrative-gender and/or ctgov-sex)
ELIGIBILITY_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-eligibility"  # healthy-volunteer: valueBoolean true, exclude = !accepts
OVERALL_STATUS_EXTENSION = f"{EXTENSION_BASE}/overall-status"  # ResearchStudy, valueCoding ctgov-status
ELIGIBILITY_CRITERIA_EXTENSION = f"{EXTENSION_BASE}/eligibility-criteria"  # Group, the criteria free text
INTERVENTION_TYPE_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-intervention-type"  # PlanDefinition.action[.action].code
CTGOV_SEX_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-sex"
STD_AGE_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-std-age"  # age-group: CHILD, ADULT, OLDER_ADULT
# ClinicalTrials.gov's standard age groups in years: child up to 17, adult 18 to 64, older adult from 65.
STD_AGES = (("CHILD", "child", -math.inf, 18.0), ("ADULT", "adult", 18.0, 65.0),
            ("OLDER_ADULT", "older adult", 65.0, math.inf))

GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
ALL_SEXES = frozenset({"ALL", "all"})
EXPANDED_SEXES = ("female", "male")


def eligibility_groups(resource: dict[str, Any], resolve: Callable[[Any], dict[str, Any] | None]) -> list[dict[str, Any]]:
    """The eligibility Groups whose content the indexer actually has (a study's resolved enrollment, or a Group)."""
    if resource.get("resourceType") == "Group":
        return [resource] if resource.get("characteristic") else []
    if resource.get("resourceType") != "ResearchStudy":
        return []
    found = (resolve(ref) for ref in resource.get("enrollment", ()))
    return [g for g in found if g is not None and g.get("resourceType") == "Group"]


def apply_trial_rules(out: ResourceIndex, resource: dict[str, Any],
                      resolve: Callable[[Any], dict[str, Any] | None]) -> None:
    """Rules FHIRPath cannot express: "all sexes" matches either sex, and a known eligibility Group that sets no
    age or sex limit matches every age and sex (the mapping omits a characteristic whose limits are all open)."""
    if resource.get("resourceType") not in ("ResearchStudy", "Group"):
        return
    groups = eligibility_groups(resource, resolve)
    if groups and not any(n.param == "eligible-age" for n in out.numbers):
        out.numbers.append(NumberEntry("eligible-age", 0.0, -math.inf, math.inf))
    if groups and not any(t.param == "age-group" for t in out.tokens):
        derive_age_groups(out)
    sexes = [t for t in out.tokens if t.param == "eligible-sex"]
    if (groups and not sexes) or any(t.code in ALL_SEXES for t in sexes):
        expand_all_sexes(out)


def expand_all_sexes(out: ResourceIndex, param: str = "eligible-sex") -> None:
    """Index an all-sexes study under administrative-gender female and male too, so `eligible-sex=female`
    is one token match in SQL rather than an OR over "all"."""
    present = {(t.system, t.code) for t in out.tokens if t.param == param}
    out.tokens.extend(TokenEntry(param, GENDER_SYSTEM, sex, sex) for sex in EXPANDED_SEXES
                      if (GENDER_SYSTEM, sex) not in present)


def derive_age_groups(out: ResourceIndex) -> None:
    """The registry's standard age groups from the eligible-age ranges, for eligibility without stdAges: a group
    whose years overlap the accepted range (ages are indexed in years, limits inclusive)."""
    for code, text, low, high in STD_AGES:
        if any(n.low < high and n.high >= low for n in out.numbers if n.param == "eligible-age"):
            out.tokens.append(TokenEntry("age-group", STD_AGE_SYSTEM, code, text))
