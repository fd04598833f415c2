"""FhirPathIndexer: entries per parameter type, on hand-made resources and the mapped CT.gov studies."""
from __future__ import annotations

import copy
import math
from datetime import datetime, timezone

import pytest

from fhirtrial.search.dates import MAX_DATETIME, MIN_DATETIME
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.index import (CompositeEntry, DateEntry, Indexer, NumberEntry, PositionEntry, QuantityEntry,
                                    ReferenceEntry, ResourceIndex, StringEntry, TokenEntry, UriEntry)
from fhirtrial.search.trial import GENDER_SYSTEM

from .samples import (CONDITION, LOCATION, OBSERVATION, PATIENT, PLAN, PRACTITIONER_ROLE, SEARCH_PARAMETER,
                      ctgov_all, related_for)

UTC = timezone.utc
INDEXER = FhirPathIndexer(base_url="https://fhir.example.org/fhir")


def rows(index: ResourceIndex, kind: str, param: str) -> list:
    return [e for e in getattr(index, kind) if e.param == param]


def test_protocol() -> None:
    indexer: Indexer = INDEXER
    assert isinstance(indexer.index(PATIENT), ResourceIndex)
    assert INDEXER.index({"resourceType": "Unknown", "id": "x"}).tokens == []


def test_patient_tokens_strings_dates_references() -> None:
    ix = INDEXER.index(PATIENT)
    assert rows(ix, "tokens", "_id") == [TokenEntry("_id", None, "p1")]
    assert rows(ix, "tokens", "gender") == [TokenEntry("gender", None, "female")]
    assert rows(ix, "tokens", "active") == [TokenEntry("active", None, "true")]
    assert rows(ix, "tokens", "deceased") == [TokenEntry("deceased", None, "false")]
    assert TokenEntry("identifier", "urn:mrn", "12345", "medical record") in ix.tokens
    assert rows(ix, "tokens", "identifier:of-type") == [
        TokenEntry("identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203", "MR|12345")]
    # ContactPoint: the system is the ContactPoint.system code.
    assert rows(ix, "tokens", "phone") == [TokenEntry("phone", "phone", "+1 555 0100")]
    assert rows(ix, "tokens", "email") == [TokenEntry("email", "email", "z@example.org")]
    assert len(rows(ix, "tokens", "telecom")) == 2
    assert rows(ix, "tokens", "language") == [TokenEntry("language", "urn:ietf:bcp:47", "fr-CA", "francais")]
    names = {(s.normalized, s.exact) for s in rows(ix, "strings", "name")}
    assert names == {("muller", "Müller"), ("zoe", "Zoë"), ("ann", "Ann"), ("dr", "Dr")}
    assert {s.normalized for s in rows(ix, "strings", "given")} == {"zoe", "ann"}
    assert {s.normalized for s in rows(ix, "strings", "address")} == {"1 rue de l'eglise", "montreal", "canada", "h2x"}
    assert rows(ix, "strings", "address-city") == [StringEntry("address-city", "montreal", "Montréal")]
    assert rows(ix, "dates", "birthdate") == [DateEntry("birthdate", datetime(1980, 5, 1, tzinfo=UTC),
                                                        datetime(1980, 5, 31, 23, 59, 59, 999999, tzinfo=UTC))]
    assert rows(ix, "references", "organization") == [ReferenceEntry("organization", "Organization", "o1")]
    # Reference.identifier feeds the :identifier modifier.
    assert rows(ix, "tokens", "organization:identifier") == [TokenEntry("organization:identifier", "urn:org", "O-1")]
    # An absolute URL on our base is local.
    assert rows(ix, "references", "general-practitioner") == [
        ReferenceEntry("general-practitioner", "Practitioner", "x9")]


def test_observation_quantities_composites_and_periods() -> None:
    ix = INDEXER.index(OBSERVATION)
    assert rows(ix, "quantities", "value-quantity") == [QuantityEntry(
        "value-quantity", 120.5, 120.45, 120.55, "http://unitsofmeasure.org", "mm[Hg]", "mmHg")]
    assert {q.value for q in rows(ix, "quantities", "component-value-quantity")} == {120.0, 80.0}
    assert rows(ix, "dates", "date") == [DateEntry("date", datetime(2021, 2, 3, 8, tzinfo=UTC), MAX_DATETIME)]
    # Observation.subject.where(resolve() is Patient): the type comes from the reference itself.
    assert rows(ix, "references", "patient") == [ReferenceEntry("patient", "Patient", "p1")]
    combos = [c for c in ix.composites if c.param == "component-code-value-quantity"]
    assert {(c.components[0].code, c.components[1].value) for c in combos} == {("8480-6", 120.0), ("8462-4", 80.0)}
    assert all(isinstance(c, CompositeEntry) and c.components[0].param == "component-code" for c in combos)
    top = [c for c in ix.composites if c.param == "code-value-quantity"]
    assert [(c.components[0].code, c.components[1].value) for c in top] == [("85354-9", 120.5)]
    assert not [c for c in ix.composites if c.param == "code-value-string"]


def test_condition_age_ranges_and_group_subject() -> None:
    ix = INDEXER.index(CONDITION)
    onset = rows(ix, "quantities", "onset-age")
    assert onset == [QuantityEntry("onset-age", 42.0, 41.5, 42.5, "http://unitsofmeasure.org", "a", "a")]
    abatement = rows(ix, "quantities", "abatement-age")
    assert abatement[0].low == 50 and abatement[0].high == math.inf
    assert rows(ix, "references", "patient") == []  # subject is a Group
    assert rows(ix, "references", "subject") == [ReferenceEntry("subject", "Group", "g1")]
    assert TokenEntry("code", None, None, "t2dm") in ix.tokens
    assert TokenEntry("code", "http://snomed.info/sct", "44054006", "diabetes") in ix.tokens
    year = rows(ix, "dates", "recorded-date")[0]
    assert (year.low.year, year.high.month, year.high.day) == (2019, 12, 31)


def test_location_position_and_strings() -> None:
    ix = INDEXER.index(LOCATION)
    assert ix.positions == [PositionEntry("near", -23.5987, -46.6452)]
    assert {s.normalized for s in rows(ix, "strings", "name")} == {"hopital sao paulo", "hsp"}
    assert rows(ix, "strings", "address-country") == [StringEntry("address-country", "brazil", "Brazil")]
    assert rows(ix, "references", "organization") == [ReferenceEntry("organization", "Organization", "o1")]


def test_practitioner_role_period_and_plan_definition_canonicals() -> None:
    ix = INDEXER.index(PRACTITIONER_ROLE)
    assert rows(ix, "dates", "date") == [DateEntry("date", datetime(2020, 1, 1, tzinfo=UTC),
                                                   datetime(2021, 6, 30, 23, 59, 59, 999999, tzinfo=UTC))]
    plan = INDEXER.index(PLAN)
    assert rows(plan, "uris", "url") == [UriEntry("url", "https://fhirtrial.org/plan/1")]
    assert rows(plan, "dates", "effective") == [DateEntry("effective", MIN_DATETIME, datetime(
        2030, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))]
    # Canonicals keep their URL; the |version is not part of the match.
    assert {r.url for r in rows(plan, "references", "depends-on")} == {
        "http://example.org/Library/dep", "http://example.org/Library/lib"}
    ctx = rows(plan, "quantities", "context-quantity")
    assert [(q.low, q.high) for q in ctx] == [(18.0, 65.0)]
    assert {c.components[0].code for c in plan.composites if c.param == "context-type-value"} == {"focus"}
    sp = INDEXER.index(SEARCH_PARAMETER)
    assert rows(sp, "references", "derived-from")[0].url == "http://hl7.org/fhir/SearchParameter/clinical-code"
    assert rows(sp, "tokens", "base") == [TokenEntry("base", None, "ResearchStudy")]


def test_common_parameters_and_full_text() -> None:
    resource = copy.deepcopy(PATIENT)
    resource["meta"] = {"lastUpdated": "2024-05-06T07:08:09.123Z", "profile": ["http://x/StructureDefinition/p"],
                        "tag": [{"system": "urn:t", "code": "demo", "display": "Demo"}], "source": "urn:src",
                        "security": [{"system": "urn:s", "code": "R"}]}
    resource["text"] = {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><b>Zoë</b> &amp;"
                                                      " <i>friends</i></div>"}
    ix = INDEXER.index(resource)
    last = rows(ix, "dates", "_lastUpdated")[0]
    assert last.low == datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    assert rows(ix, "uris", "_profile") == [UriEntry("_profile", "http://x/StructureDefinition/p")]
    assert rows(ix, "uris", "_source") == [UriEntry("_source", "urn:src")]
    assert rows(ix, "tokens", "_tag") == [TokenEntry("_tag", "urn:t", "demo", "demo")]
    assert rows(ix, "tokens", "_security") == [TokenEntry("_security", "urn:s", "R")]
    assert ix.text == "Zoë & friends"
    assert "Montréal" in ix.content and "Müller" in ix.content and "Zoë & friends" in ix.content
    assert "<div" not in ix.content and "urn:mrn" not in ix.content


def test_contained_resources_resolve() -> None:
    study = {"resourceType": "ResearchStudy", "id": "s", "status": "active",
             "contained": [{"resourceType": "Group", "id": "g", "type": "person", "actual": False, "characteristic": [
                 {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "397669002"}]},
                  "valueRange": {"low": {"value": 6, "code": "mo"}, "high": {"value": 17, "code": "a"}},
                  "exclude": False}]}],
             "enrollment": [{"reference": "#g"}]}
    ix = INDEXER.index(study)
    assert ix.numbers == [NumberEntry("eligible-age", 0.5, 0.5, 17.0)]
    assert rows(ix, "references", "eligibility") == []  # contained references are not searchable


def test_invalid_stored_values_are_skipped_not_fatal() -> None:
    ix = INDEXER.index({"resourceType": "Patient", "id": "x", "birthDate": "not-a-date",
                        "name": [{"given": [None, "A"]}], "telecom": [{"system": "phone"}]})
    assert rows(ix, "dates", "birthdate") == []
    assert rows(ix, "strings", "given") == [StringEntry("given", "a", "A")]


@pytest.fixture(scope="module")
def mapped() -> tuple[list[dict], dict]:
    resources = ctgov_all()  # skips when ../shared/data/ctgov is absent; a mapping error fails
    return resources, related_for(resources)


def by_id(resources: list[dict], rid: str) -> dict:
    return next(r for r in resources if r["id"] == rid)


def test_mapped_study_trial_parameters(mapped: tuple[list[dict], dict]) -> None:
    resources, related = mapped
    study = by_id(resources, "NCT03418623")
    assert INDEXER.references_to_resolve(study) == ["Group/NCT03418623-eligibility",
                                                    "PlanDefinition/NCT03418623-protocol"]
    ix = INDEXER.index(study, related)
    codes = lambda p: {(t.system, t.code) for t in rows(ix, "tokens", p)}  # noqa: E731
    assert (None, "completed") in codes("recruitment")
    assert ("https://fhirtrial.org/fhir/CodeSystem/ctgov-status", "COMPLETED") in codes("recruitment")
    assert ("http://terminology.hl7.org/CodeSystem/research-study-phase", "phase-2") in codes("phase")
    assert ("https://fhirtrial.org/fhir/CodeSystem/ctgov-study-type", "INTERVENTIONAL") in codes("study-design")
    assert {c for _, c in codes("intervention-type") if c} == {"DRUG", "OTHER"}  # GET73 and the placebo
    assert ix.numbers == [NumberEntry("eligible-age", 21.0, 21.0, 40.0)]
    assert {(GENDER_SYSTEM, "female"), (GENDER_SYSTEM, "male")} <= codes("eligible-sex")
    assert codes("healthy-volunteers") == {(None, "false")}
    assert any(t.text == "get73" for t in rows(ix, "tokens", "intervention"))
    assert rows(ix, "references", "eligibility") == [ReferenceEntry("eligibility", "Group", "NCT03418623-eligibility")]
    assert len(rows(ix, "references", "site")) == 1
    # Without the related resources the cross-resource parameters are simply absent.
    alone = INDEXER.index(study)
    assert alone.numbers == [] and not rows(alone, "tokens", "eligible-sex")


def test_mapped_groups_and_locations(mapped: tuple[list[dict], dict]) -> None:
    resources, related = mapped
    group = INDEXER.index(by_id(resources, "NCT03418623-eligibility"))
    assert group.numbers == [NumberEntry("eligible-age", 21.0, 21.0, 40.0)]
    assert len(rows(group, "strings", "characteristic-text")) > 3
    for r in resources:
        ix = INDEXER.index(r, related)
        assert rows(ix, "tokens", "_id") == [TokenEntry("_id", None, r["id"])]
        if r["resourceType"] == "Location" and "position" in r:
            assert len(ix.positions) == 1


def test_eligible_sex_single_sex_study_is_not_expanded() -> None:
    group = {"resourceType": "Group", "id": "g", "type": "person", "actual": False, "characteristic": [
        {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "263495000"}]}, "valueCodeableConcept": {
            "coding": [{"system": GENDER_SYSTEM, "code": "female"}]}, "exclude": False}]}
    ix = INDEXER.index(group)
    assert {t.code for t in rows(ix, "tokens", "eligible-sex")} == {"female"}


def test_known_group_without_limits_matches_every_age_and_sex() -> None:
    study = {"resourceType": "ResearchStudy", "id": "s", "status": "active", "enrollment": [{"reference": "Group/g"}]}
    group = {"resourceType": "Group", "id": "g", "type": "person", "actual": False, "characteristic": [
        {"code": {"text": "Adults with asthma"}, "valueBoolean": True, "exclude": False}]}
    ix = INDEXER.index(study, {"Group/g": group})
    assert ix.numbers == [NumberEntry("eligible-age", 0.0, -math.inf, math.inf)]
    assert {t.code for t in rows(ix, "tokens", "eligible-sex")} == {"female", "male"}
    # Unknown group content: nothing is claimed.
    bare = INDEXER.index(study)
    assert bare.numbers == [] and rows(bare, "tokens", "eligible-sex") == []
    assert INDEXER.index(group).numbers == [NumberEntry("eligible-age", 0.0, -math.inf, math.inf)]


def test_open_ended_age_range(mapped: tuple[list[dict], dict]) -> None:
    resources, related = mapped
    ix = INDEXER.index(by_id(resources, "NCT02513394"), related)
    assert [(n.low, n.high) for n in ix.numbers] == [(18.0, math.inf)]
