"""Semantics of each filter kind (fhirtrial.search.matching), on hand-made resources and mapped real studies."""
from __future__ import annotations

import pytest

from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.matching import compare_ranges, matches
from fhirtrial.search.parser import parse_search

from .samples import LOCATION, OBSERVATION, PATIENT, PLAN, ctgov_all, related_for

INDEXER = FhirPathIndexer()


def ok(rtype: str, index: ResourceIndex, name: str, value: str) -> bool:
    req = parse_search(rtype, [(name, value)], strict=True)
    return all(matches(f, index) for f in req.filters)


@pytest.fixture(scope="module")
def study() -> ResourceIndex:
    resources = ctgov_all()  # skips when ../shared/data/ctgov is absent; a mapping error fails
    by_id = {r["id"]: r for r in resources}
    return INDEXER.index(by_id["NCT03418623"], related_for(resources))


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("eligible-age", "30", True), ("eligible-age", "21", True), ("eligible-age", "40", True),
    ("eligible-age", "20", False), ("eligible-age", "41", False),
    ("eligible-sex", "female", True), ("eligible-sex", "male", True),
    ("eligible-sex", "http://hl7.org/fhir/administrative-gender|female", True),
    ("healthy-volunteers", "false", True), ("healthy-volunteers", "true", False),
    ("recruitment", "COMPLETED", True), ("recruitment", "completed", True), ("recruitment", "RECRUITING", False),
    ("recruitment", "RECRUITING,COMPLETED", True), ("recruitment:not", "RECRUITING", True),
    ("recruitment:not", "completed", False),
    ("phase", "phase-2", True), ("phase", "http://terminology.hl7.org/CodeSystem/research-study-phase|phase-2", True),
    ("phase", "|phase-2", False), ("phase", "PHASE2", True), ("phase", "phase-3", False),
    ("intervention-type", "DRUG", True), ("intervention-type", "DEVICE", False),
    ("intervention:text", "get73", True), ("intervention:text", "placebo", True), ("intervention:text", "et73", False),
    ("identifier", "https://clinicaltrials.gov|NCT03418623", True), ("identifier", "NCT00000000", False),
    ("title", "effect of get73", True), ("title", "EFFECT", True), ("title", "get73", False),
    ("title:contains", "get73", True), ("title:exact", "effect of get73", False),
    ("date", "2019", False), ("date", "ge2019", True), ("date", "gt2021", False), ("date", "sa2017", True),
    ("date", "eb2021", True), ("date", "eb2019", False), ("date", "lt2018-03-09", True), ("date", "le2018-03-07", False),
    ("date", "ne2019", True), ("date", "ap2019", True),
    ("site:missing", "false", True), ("site:missing", "true", False), ("eligible-age:missing", "false", True),
    ("partof:missing", "true", True),
    ("eligibility", "Group/NCT03418623-eligibility", True), ("eligibility", "NCT03418623-eligibility", True),
    ("eligibility:Group", "NCT03418623-eligibility", True), ("eligibility", "Group/other", False),
])
def test_mapped_study(study: ResourceIndex, name: str, value: str, expected: bool) -> None:
    assert ok("ResearchStudy", study, name, value) is expected


def test_title_exact_uses_the_value_as_written(study: ResourceIndex) -> None:
    title = next(s.exact for s in study.strings if s.param == "title")
    assert ok("ResearchStudy", study, "title:exact", title)
    assert not ok("ResearchStudy", study, "title:exact", title.upper())


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("name", "mul", True), ("name", "MÜL", True), ("name", "zo", True), ("name", "ller", False),
    ("name:contains", "ller", True), ("name:exact", "Müller", True), ("name:exact", "Muller", False),
    ("address", "montr", True), ("address-city", "eglise", False), ("address:contains", "eglise", True),
    ("birthdate", "1980", True), ("birthdate", "1981", False), ("birthdate", "1980-05", True), ("birthdate", "1980-05-12", False),
    ("birthdate", "ge1980-05-12", True), ("birthdate", "lt1980-05-12", True),
    ("gender", "female", True), ("gender:not", "male", True), ("gender:missing", "false", True),
    ("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345", True),
    ("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|999", False),
    ("identifier:text", "medical", True), ("telecom", "phone|+1 555 0100", True), ("email", "z@example.org", True),
    ("organization:identifier", "urn:org|O-1", True), ("organization:identifier", "urn:org|O-2", False),
    ("organization", "Organization/o1", True), ("organization:Organization", "o1", True),
    ("language:text", "fran", True), ("deceased", "false", True), ("active", "true", True),
])
def test_patient(name: str, value: str, expected: bool) -> None:
    assert ok("Patient", INDEXER.index(PATIENT), name, value) is expected


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("value-quantity", "120.5", True), ("value-quantity", "120", False), ("value-quantity", "gt120", True),
    ("value-quantity", "lt120", False), ("value-quantity", "ap110", True), ("value-quantity", "ap100", False),
    ("value-quantity", "120.5|http://unitsofmeasure.org|mm[Hg]", True), ("value-quantity", "120.5||mmHg", True),
    ("value-quantity", "120.5|http://unitsofmeasure.org|kg", False),
    ("code-value-quantity", "http://loinc.org|85354-9$gt100", True),
    ("code-value-quantity", "http://loinc.org|85354-9$lt100", False),
    ("component-code-value-quantity", "8480-6$120", True), ("component-code-value-quantity", "8480-6$80", False),
    ("component-code-value-quantity", "8462-4$80", True),
    ("patient", "Patient/p1", True), ("subject:Patient", "p1", True), ("subject:Group", "p1", False),
    ("date", "2021-02-03", False), ("date", "ge2021-02-03", True),
])
def test_observation(name: str, value: str, expected: bool) -> None:
    assert ok("Observation", INDEXER.index(OBSERVATION), name, value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("-23.5987|-46.6452|1|km", True), ("-23.55|-46.63|10", True), ("-22.9068|-43.1729|300|km", False),
    ("-22.9068|-43.1729|400|km", True), ("-22.9068|-43.1729|200|mi", False), ("-22.9068|-43.1729|250|mi", True),
])
def test_near(value: str, expected: bool) -> None:
    assert ok("Location", INDEXER.index(LOCATION), "near", value) is expected


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("url", "https://fhirtrial.org/plan/1", True), ("url", "https://fhirtrial.org/plan", False),
    ("url:below", "https://fhirtrial.org/plan", True), ("url:above", "https://fhirtrial.org/plan/1/v2", True),
    ("url:above", "https://fhirtrial.org/other", False), ("depends-on", "http://example.org/Library/lib", True),
    ("depends-on:below", "http://example.org/Library", True), ("context-quantity", "30", False),
    ("context-quantity", "gt30", True), ("context-quantity", "lt10", False), ("context-quantity", "sa10", True), ("context-type-value", "focus$http://snomed.info/sct|363346000", True),
    ("context-type-value", "age$363346000", False),
])
def test_plan_definition(name: str, value: str, expected: bool) -> None:
    assert ok("PlanDefinition", INDEXER.index(PLAN), name, value) is expected


def test_compare_ranges_matches_the_spec_table() -> None:
    # target [10, 20] against search [12, 14]
    assert [p for p in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
            if compare_ranges(p, 10, 20, 12, 14, 0)] == ["ne", "gt", "lt", "ge", "le"]
    assert compare_ranges("eq", 12, 13, 12, 14, 0) and compare_ranges("sa", 15, 20, 12, 14, 0)
    assert compare_ranges("eb", 1, 11, 12, 14, 0) and compare_ranges("ap", 15, 16, 12, 14, 1.5)
