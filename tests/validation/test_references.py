"""Literal reference format, https://hl7.org/fhir/R4/references.html#literal."""
from __future__ import annotations

import pytest

from fhirtrial.validation import validate
from fhirtrial.validation.references import reference_problem
from fhirtrial.validation.tables import load_tables

GOOD = ["Organization/abc", "Organization/a.b-1/_history/2", "https://example.org/fhir/Organization/1",
        "http://example.org/anything?x=1", "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7", "urn:oid:1.2.3.4",
        "#", "Patient/" + "a" * 64]
BAD = ["Foo/1", "Organization/", "Organization", "organization/1", "Organization/a b", "Organization/1/_history/",
       "urn:uuid:nope", "urn:isbn:1234", "Patient/" + "a" * 65, "/Organization/1", "Organization/1/extra"]


@pytest.mark.parametrize("reference", GOOD)
def test_valid_reference_formats(reference: str) -> None:
    assert reference_problem(load_tables(), reference) is None


@pytest.mark.parametrize("reference", BAD)
def test_invalid_reference_formats(reference: str) -> None:
    assert reference_problem(load_tables(), reference) is not None


def test_bad_reference_is_reported_with_its_expression() -> None:
    resource = {"resourceType": "ResearchStudy", "status": "active", "site": [
        {"reference": "Location/1"}, {"reference": "Foo/2"}]}
    issues = [i for i in validate(resource) if i.severity == "error"]
    assert [(i.code, i.expression) for i in issues] == [("value", ("ResearchStudy.site[1].reference",))]
    assert "'Foo' is not a FHIR R4 resource type" in issues[0].diagnostics
