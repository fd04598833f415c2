"""The entry points validate() and validate_resource(), https://hl7.org/fhir/R4/validation.html."""
from __future__ import annotations

from typing import Any

import pytest

from fhirtrial.errors import InvalidRequest, InvalidResource, Warnings
from fhirtrial.validation import validate, validate_resource

from .conftest import errors

BAD_STUDY = {"resourceType": "ResearchStudy", "status": "bogus", "period": {"start": "2021-02-01", "end": "2021-01-01"},
             "sponsor": {"reference": "Foo/1"}}


def test_mapped_examples_have_no_errors(examples: list[dict[str, Any]]) -> None:
    assert len(examples) > 100
    problems = {f"{r['resourceType']}/{r['id']}": errors(validate(r)) for r in examples}
    assert {k: v for k, v in problems.items() if v} == {}


def test_validate_returns_every_issue() -> None:
    codes = sorted(i.code for i in validate(BAD_STUDY))
    assert codes == ["code-invalid", "invariant", "value"]


def test_modes() -> None:
    resource = {"resourceType": "ResearchStudy", "status": "active"}
    assert validate(resource, mode="create") == []
    (issue,) = validate(resource, mode="update")
    assert (issue.code, issue.expression) == ("required", ("ResearchStudy.id",))
    assert validate(BAD_STUDY, mode="delete") == []
    with pytest.raises(ValueError):
        validate(resource, mode="patch")


def test_profile() -> None:
    resource = {"resourceType": "ResearchStudy", "status": "active"}
    assert validate(resource, profile="http://hl7.org/fhir/StructureDefinition/ResearchStudy") == []
    assert validate(resource, profile="http://hl7.org/fhir/StructureDefinition/ResearchStudy|4.0.1") == []
    (issue,) = validate(resource, profile="http://example.org/StructureDefinition/other")
    assert issue.code == "not-supported"


@pytest.mark.parametrize(("resource", "code"), [
    ([], "structure"), ({"status": "active"}, "required"), ({"resourceType": "Bundle"}, "not-supported"),
    ({"resourceType": "ResearchStudy", "status": "active", "id": "bad id"}, "value"),
])
def test_unusable_input_is_one_issue(resource: Any, code: str) -> None:
    (issue,) = validate(resource)
    assert issue.code == code


def test_validate_resource_raises_with_all_errors() -> None:
    with pytest.raises(InvalidResource) as caught:
        validate_resource(BAD_STUDY, resource_type="ResearchStudy", strictness="error")
    assert len(caught.value.issues) == 3
    assert caught.value.outcome()["issue"][0]["expression"] == ["ResearchStudy.status"]


def test_validate_resource_keeps_its_contract() -> None:
    good = {"resourceType": "ResearchStudy", "id": "s1", "status": "active"}
    assert validate_resource(good, resource_type="ResearchStudy", resource_id="s1", require_id=True) is good
    with pytest.raises(InvalidRequest):
        validate_resource([], resource_type="ResearchStudy")
    with pytest.raises(InvalidResource, match="does not match the URL's type"):
        validate_resource(good, resource_type="Group")
    with pytest.raises(InvalidResource, match="does not match the URL id"):
        validate_resource(good, resource_id="s2")
    with pytest.raises(InvalidResource, match="must contain id"):
        validate_resource({"resourceType": "ResearchStudy", "status": "active"}, resource_id="s1", require_id=True)
    with pytest.raises(InvalidResource, match="not supported"):
        validate_resource({"resourceType": "Bundle"})


def test_warning_strictness_stores_and_reports() -> None:
    sink = Warnings()
    assert validate_resource(BAD_STUDY, strictness="warning", warnings=sink) is BAD_STUDY
    assert [i.severity for i in sink.issues] == ["warning"] * 3
    # structure errors still reject: the store needs a parseable resource
    with pytest.raises(InvalidResource):
        validate_resource({"resourceType": "ResearchStudy", "status": "active", "title": 3}, strictness="warning")


def test_default_strictness_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from fhirtrial.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("FHIRTRIAL_VALIDATION", "warning")
    try:
        assert validate_resource(BAD_STUDY) is BAD_STUDY
    finally:
        get_settings.cache_clear()
        monkeypatch.delenv("FHIRTRIAL_VALIDATION")
    with pytest.raises(InvalidResource):
        validate_resource(BAD_STUDY)
