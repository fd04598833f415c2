"""The definitional resources served from the package: generated and shipped ones, validated at load and by
both independent npm validators (https://hl7.org/fhir/R4/conformance-module.html)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirtrial.canonical import CANONICAL_BASE
from fhirtrial.conformance import DEFINITIONAL_TYPES, DefinitionError, default_definitions, load_definitions
from fhirtrial.mapping import get_tables
from fhirtrial.rest.capability import OPERATION_DEFINITIONS

from ..support.validators import node_available, validate_with_node


def test_every_definition_passes_both_npm_validators() -> None:
    if not node_available():
        pytest.fail("the npm validators are needed: run npm ci")
    resources = [r for t in DEFINITIONAL_TYPES for r in default_definitions().of_type(t)]
    verdicts = validate_with_node(resources)
    bad = [(r["resourceType"], r["id"], v.medplum[:2], v.fhir[:2]) for r, v in zip(resources, verdicts) if not v.ok]
    assert not bad, bad


def test_generated_from_the_tables() -> None:
    definitions = default_definitions()
    tables = get_tables()
    extensions = {spec.url for specs in tables.extensions.values() for spec in specs}
    served = {sd["url"] for sd in definitions.of_type("StructureDefinition") if sd["type"] == "Extension"}
    assert extensions <= served
    systems = {enum.system for enum in tables.enums.values()}
    assert systems <= {cs["url"] for cs in definitions.of_type("CodeSystem")}
    status = definitions.by_url(f"{CANONICAL_BASE}/CodeSystem/ctgov-status")
    assert status is not None and status["content"] == "complete"
    assert {c["code"] for c in status["concept"]} == {v for e in tables.enums.values()
                                                      if e.system == status["url"] for v in e.labels}
    overall = definitions.by_url(f"{CANONICAL_BASE}/StructureDefinition/overall-status")
    assert overall is not None
    value = [e for e in overall["differential"]["element"] if e["path"] == "Extension.value[x]"]
    assert value[0]["type"] == [{"code": "Coding"}]
    assert f"{CANONICAL_BASE}/CodeSystem/ctgov-eligibility" in {c["url"] for c in definitions.of_type("CodeSystem")}


def test_our_operations_are_defined() -> None:
    ours = [url for url in OPERATION_DEFINITIONS.values() if url.startswith(CANONICAL_BASE)]
    assert ours and all(default_definitions().by_url(url) is not None for url in ours)


@pytest.mark.parametrize(("resource", "message"), [
    ({"resourceType": "Patient", "id": "x"}, "only CodeSystem"),
    ({"resourceType": "CodeSystem", "id": "x", "url": "https://example.org/CodeSystem/x", "name": "X",
      "status": "active", "content": "complete"}, "url must be"),
    ({"resourceType": "CodeSystem", "id": "x", "url": f"{CANONICAL_BASE}/CodeSystem/x", "name": "X",
      "status": "active", "content": "complete", "concept": "a"}, "not a valid CodeSystem"),
    ({"resourceType": "CodeSystem", "id": "x", "url": f"{CANONICAL_BASE}/CodeSystem/x", "name": "no good",
      "status": "active", "content": "complete"}, "identifier"),
])
def test_a_bad_definition_file_stops_the_load(tmp_path: Path, resource: dict, message: str) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(resource))
    with pytest.raises(DefinitionError, match=message):
        load_definitions(tmp_path, generators=[])


def test_a_dropped_file_is_served(tmp_path: Path) -> None:
    cs = {"resourceType": "CodeSystem", "id": "x", "url": f"{CANONICAL_BASE}/CodeSystem/x", "name": "X",
          "status": "draft", "content": "complete", "concept": [{"code": "a"}]}
    (tmp_path / "x.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                                 "entry": [{"resource": cs}]}))
    assert load_definitions(tmp_path, generators=[]).read("CodeSystem", "x") == cs
    (tmp_path / "y.json").write_text(json.dumps(cs))
    with pytest.raises(DefinitionError, match="twice"):
        load_definitions(tmp_path, generators=[])
