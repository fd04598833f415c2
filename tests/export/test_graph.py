"""The storage-free reference walk, https://hl7.org/fhir/R4/references.html#literal."""
from __future__ import annotations

import pytest

from fhirtrial.export.graph import closure, closure_of_resources, parse_reference, references
from fhirtrial.ingest.synth import generate
from fhirtrial.mapping import map_study


@pytest.mark.parametrize("value, expected", [
    ("Organization/o1", ("Organization", "o1")),
    ("Location/l-1.2/_history/3", ("Location", "l-1.2")),
    ("https://example.org/fhir/Practitioner/p9", ("Practitioner", "p9")),
    ("#contained", None),
    ("urn:uuid:0b9d1d2c-2b7c-4bde-9d84-6fbe6d0a0e1f", None),
    ("Organization", None),
    ("NotAType/x", None),
    ("a/b/Organization/o1", None),  # relative with extra segments is not a literal reference here
    ("Organization/bad id", None),
])
def test_parse_reference(value: str, expected: tuple[str, str] | None) -> None:
    assert parse_reference(value) == expected


def test_references_anywhere_including_extensions() -> None:
    resource = {"resourceType": "ResearchStudy", "id": "s",
                "extension": [{"url": "x", "valueReference": {"reference": "Organization/collab"}},
                              {"url": "y", "extension": [{"url": "z", "valueReference": {"reference": "Location/l"}}]}],
                "sponsor": {"reference": "Organization/sponsor"},
                "site": [{"reference": "Location/l"}, {"display": "no reference"}, {"reference": "#local"}]}
    assert list(references(resource)) == [("Organization", "collab"), ("Location", "l"),
                                          ("Organization", "sponsor"), ("Location", "l")]


def test_closure_is_transitive_breadth_first_and_survives_cycles() -> None:
    pool = {
        ("A", "1"): {"ref": [{"reference": "Group/2"}, {"reference": "Organization/3"}]},
        ("Group", "2"): {"member": [{"entity": {"reference": "Location/4"}}]},
        ("Organization", "3"): {"partOf": {"reference": "ResearchStudy/1"}},  # cycle back to the root
        ("Location", "4"): {"managingOrganization": {"reference": "Organization/gone"}},
    }
    pool[("ResearchStudy", "1")] = pool.pop(("A", "1"))
    calls: list[list[tuple[str, str]]] = []

    def fetch(keys: list[tuple[str, str]]) -> dict:
        calls.append(keys)
        return {k: pool[k] for k in keys if k in pool}

    walk = closure(("ResearchStudy", "1"), fetch)
    assert walk.keys == [("ResearchStudy", "1"), ("Group", "2"), ("Organization", "3"), ("Location", "4")]
    assert walk.missing == {("Organization", "gone"): ("Location", "4")}
    assert len(calls) == 4  # one fetch per level


def test_a_mapped_study_is_closed_under_its_references() -> None:
    for record in generate(5, 3):
        mapped = map_study(record)
        study, rest = mapped.resources[0], mapped.resources[1:]
        walk = closure_of_resources(study, rest)
        assert walk.missing == {}
        assert set(walk.keys) == {(r["resourceType"], r["id"]) for r in mapped.resources}
